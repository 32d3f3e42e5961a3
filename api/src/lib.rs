//! The `orgata` binary's library: command line, configuration, logging, the REST API and the MCP
//! server (the web UI will live here too), all calling the same engine and reports functions.

pub mod cli;
pub mod config;
pub mod http;
pub mod keys;
pub mod logging;
pub mod mcp;
pub mod report_cli;
pub mod streaming;
pub mod warehouse_cli;
pub mod web;
