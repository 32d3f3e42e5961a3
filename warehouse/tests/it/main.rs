//! The warehouse's integration tests (one test binary, modules inside).

mod stack;
