//! End-to-end tests across crates.

mod replay;
