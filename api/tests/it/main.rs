//! End-to-end tests of the `orgata` binary: real processes, real databases.

mod cli;
mod crash;
mod fuzz;
mod http;
mod mcp;
mod parity;
mod predictions;
mod sandbox;
mod support;
mod ui;
mod warehouse;
mod web;
