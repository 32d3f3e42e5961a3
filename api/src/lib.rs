//! The `orgata` binary's library: command line, configuration and logging. The REST API, web UI
//! and MCP server will live here too, all calling the same engine and reports functions.

pub mod cli;
pub mod config;
pub mod http;
pub mod keys;
pub mod logging;
pub mod report_cli;
pub mod streaming;
pub mod warehouse_cli;
