//! The warehouse's tests.

mod interop;
mod sandbox;
mod sql;
mod stack;
