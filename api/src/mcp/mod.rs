//! The MCP server (Model Context Protocol) for AI agents, on rmcp: the operations of the
//! application layer (`crate::app`) every interface calls, offered as resources, tools and prompts.
//!
//! - `server.rs`: the handler ([`OrgataMcp`]) — the caller's scope, capabilities, failures.
//! - `tools.rs`: tools with JSON Schemas for their arguments and JSON results.
//! - `resources.rs`: the team's context (`team://current`, …) and single records by template.
//! - `prompts.rs`: `process_help`, `task_guidance`, `analyze_bottlenecks`.
//! - `http.rs`: streamable HTTP at `/mcp` on `orgata serve`, a bearer API key on every request.
//!
//! Over stdio (`orgata mcp`) the API key comes from `ORGATA_API_KEY`.

pub mod http;
mod prompts;
mod resources;
mod server;
mod tools;

pub use server::OrgataMcp;

use crate::app::App;
use crate::config::Config;
use anyhow::{Context, Result, bail};
use rmcp::ServiceExt;

/// `orgata mcp`: serves MCP over stdin and stdout for the API key in `ORGATA_API_KEY`, until the
/// client closes the connection.
pub async fn serve_stdio(config: &Config) -> Result<()> {
    let key = std::env::var("ORGATA_API_KEY").unwrap_or_default();
    if key.trim().is_empty() {
        bail!("set ORGATA_API_KEY to an Orgata API key (create one with POST /v1/teams/{{team}}/api-keys)");
    }
    let (app, store) = App::connect(config).await?;
    let scope = match app.engine.authenticate_api_key(key.trim()).await {
        Ok(scope) => scope,
        Err(e) => bail!("ORGATA_API_KEY is not a valid API key: {e}"),
    };
    let server = OrgataMcp::new(app, Some(scope));
    let running = server.serve(rmcp::transport::stdio()).await.context("the MCP client did not initialize")?;
    let ended = running.waiting().await;
    store.close().await;
    ended.context("the MCP session failed")?;
    Ok(())
}
