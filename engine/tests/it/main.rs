//! The engine's integration tests: one conformance suite, run unchanged against SQLite and
//! PostgreSQL (see `support.rs`).

mod support;

mod access;
mod audit;
mod changelog;
mod concurrency;
mod directory;
mod endings;
mod identity;
mod isolation;
mod lifecycle;
mod playbooks;
