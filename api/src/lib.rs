//! The `orgata` binary's library. One application layer (`app`) under four interfaces that are
//! siblings and never import each other: REST (`http`), the web UI (`web`), MCP for AI agents
//! (`mcp`) and the command line (`cli`). `server` composes the HTTP ones into `orgata serve`;
//! [`run`] dispatches a command line.

pub mod app;
pub mod cli;
pub mod config;
pub mod http;
pub mod keys;
pub mod logging;
pub mod mcp;
pub mod server;
pub mod streaming;
pub mod training;
pub mod web;

use anyhow::Result;
use cli::{Cli, Command};

/// Runs a parsed command line: `serve` (after the demo data with `--demo`), `mcp` over stdio, or
/// one of the CLI's own commands.
pub async fn run(cli: Cli) -> Result<()> {
    let config = config::Config::load(&cli.overrides)?;
    logging::init(&config, matches!(cli.command, Command::Serve { .. } | Command::Mcp))?;
    match cli.command {
        Command::Serve { demo } => {
            if demo {
                cli::run_demo(&config, Default::default()).await?;
            }
            server::serve(&config).await
        }
        Command::Mcp => mcp::serve_stdio(&config).await,
        command => cli::run(&config, command).await,
    }
}

#[cfg(test)]
mod layering {
    use std::path::Path;

    /// The interfaces: each may use `app` (and `config`, `keys`, `logging`), never another.
    const INTERFACES: [&str; 4] = ["http", "web", "mcp", "cli"];

    /// Every Rust file under `src/<module>` (or `src/<module>.rs`), with its text.
    fn sources(module: &str) -> Vec<(String, String)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        let mut pending = vec![root.join(module), root.join(format!("{module}.rs"))];
        while let Some(path) = pending.pop() {
            if path.is_dir() {
                pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            } else if path.is_file() && path.extension().is_some_and(|e| e == "rs") {
                files.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
            }
        }
        assert!(!files.is_empty(), "no sources of `{module}`");
        files
    }

    /// The places in `module` that name `crate::<other>`.
    fn mentions(module: &str, others: &[&str]) -> Vec<String> {
        let mut found = Vec::new();
        for (path, text) in sources(module) {
            for (n, line) in text.lines().enumerate() {
                for other in others {
                    if line.contains(&format!("crate::{other}::")) || line.contains(&format!("crate::{other};")) {
                        found.push(format!("{path}:{}: {}", n + 1, line.trim()));
                    }
                }
            }
        }
        found
    }

    #[test]
    fn no_interface_imports_another() {
        for interface in INTERFACES {
            let others: Vec<&str> = INTERFACES.iter().copied().filter(|o| *o != interface).collect();
            let found = mentions(interface, &others);
            assert!(found.is_empty(), "`{interface}` reaches into a sibling interface:\n{}", found.join("\n"));
        }
    }

    #[test]
    fn the_application_layer_knows_no_interface() {
        let found = mentions("app", &["http", "web", "mcp", "cli", "server"]);
        assert!(found.is_empty(), "`app` reaches into an interface:\n{}", found.join("\n"));
    }

    #[test]
    fn only_the_application_layer_makes_team_scopes() {
        for module in ["http", "web", "mcp", "server"] {
            for (path, text) in sources(module) {
                assert!(!text.contains("TeamScope"), "{path} makes a TeamScope; ask `app` instead");
            }
        }
    }
}
