//! The engine's integration tests: one conformance suite, run unchanged against SQLite and
//! PostgreSQL (see `support.rs`).

mod support;

mod changelog;
mod concurrency;
mod directory;
mod isolation;
mod lifecycle;
mod playbooks;
