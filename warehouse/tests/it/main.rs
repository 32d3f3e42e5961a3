//! The warehouse's tests.

mod interop;
mod sql;
mod stack;
