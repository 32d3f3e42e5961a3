//! The warehouse's tests.

mod sql;
mod stack;
