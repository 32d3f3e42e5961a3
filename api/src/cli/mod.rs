//! The `orgata` command line: its commands and flags, and the commands that work on the data
//! folder directly (demo, migrate, audit, ingest, warehouse, sql, import, report, model, changes).
//! Serving — REST, the web UI and MCP — is `crate::server` and `crate::mcp`, dispatched by
//! [`crate::run`].

mod model;
mod report;
mod warehouse;

use crate::config::{Config, Overrides};
use anyhow::{Context, Result, bail};
use chrono::{Duration, Utc};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use orgata_engine::demo::{self, DemoApiKey, DemoOptions, DemoReport, DemoUser};
use orgata_engine::{Engine, LogPosition, SimClock};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The version and the commit it was built from (see `build.rs`).
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("ORGATA_COMMIT"), ")");

/// Orgata: teams run their processes on it, and learn from what they do.
#[derive(Debug, Parser)]
#[command(name = "orgata", version = VERSION, about)]
pub struct Cli {
    #[command(flatten)]
    pub overrides: Overrides,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: the REST API under /v1 and health endpoints, until SIGINT or SIGTERM.
    Serve {
        /// First create the demo organisation (once) with its default history.
        #[arg(long)]
        demo: bool,
    },
    /// Create the demo organisation "Acme Corp" with months of simulated history (once: a second
    /// run changes nothing), and print how to sign in.
    Demo {
        /// Days of history to simulate, ending now.
        #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
        /// Average new process instances per day, across all playbooks.
        #[arg(long, default_value_t = 30.0)]
        per_day: f64,
        /// Seed of the simulation: the same seed gives the same history.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Serve MCP (Model Context Protocol) over stdin/stdout for an AI agent, as the API key in
    /// ORGATA_API_KEY (its team and permissions), until the client disconnects.
    Mcp,
    /// Apply database migrations, then exit.
    Migrate,
    /// Print change-log events as JSON lines, in commit order (oldest first; page with --after).
    Changes {
        /// Start after this position, written XID:SEQ (as printed in each event's `position`).
        #[arg(long, value_parser = |s: &str| s.parse::<LogPosition>())]
        after: Option<LogPosition>,
        /// How many events at most.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=100_000))]
        limit: i64,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Stream the change log into the warehouse (what `serve` does in the background): once, or
    /// following it until interrupted.
    Ingest {
        /// Keep following the change log until Ctrl-C.
        #[arg(long)]
        follow: bool,
        /// Change events per batch (one Delta commit per table per batch).
        #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(i64).range(1..=1_000_000))]
        batch: i64,
        /// Seconds the streamer lease holds without renewal (another streamer takes over after a
        /// crash once it runs out).
        #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
        lease_ttl: u64,
    },
    /// Maintain the warehouse: rebuild it from the change archive, optimize it, show its state.
    Warehouse {
        #[command(subcommand)]
        command: warehouse::WarehouseCommand,
    },
    /// Run read-only SQL over the warehouse (DataFusion): one query, or interactively.
    Sql(warehouse::SqlArgs),
    /// Import an event log (XES, plain or .gz; or CSV) into the warehouse's `events` under a team
    /// and a source name; importing the same source again replaces it.
    Import(warehouse::ImportArgs),
    /// Process analytics — cases, variants, dfg, activities, timeline — over the warehouse or
    /// directly over a log file (--log), as tables or JSON.
    Report(report::ReportArgs),
    /// Prediction models: evaluate them on the warehouse's history or a log file.
    Model {
        #[command(subcommand)]
        command: model::ModelCommand,
    },
}

/// What to do with the audit trail.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk an organisation's hash chain and report the first broken link (exit status 1).
    Verify {
        /// The organisation's slug.
        #[arg(long)]
        org: String,
    },
}

/// Runs one of the commands that work on the data folder directly (every command but `serve`
/// and `mcp`).
pub async fn run(config: &Config, command: Command) -> Result<()> {
    match command {
        Command::Serve { .. } | Command::Mcp => bail!("`serve` and `mcp` are run by orgata_api::run"),
        Command::Demo { days, per_day, seed } => {
            if !per_day.is_finite() || per_day < 0.0 {
                bail!("--per-day must be a number of at least 0");
            }
            run_demo(config, DemoOptions { seed, days, instances_per_day: per_day }).await
        }
        Command::Migrate => {
            let store = orgata_engine::connect(&config.database_url).await?;
            store.close().await;
            println!("database {} is up to date", crate::config::redact(&config.database_url));
            Ok(())
        }
        Command::Audit { command: AuditCommand::Verify { org } } => {
            let store = orgata_engine::connect(&config.database_url).await?;
            let engine = Engine::new(store.clone(), Arc::new(orgata_engine::SystemClock));
            let result = verify_audit(&engine, &org).await;
            store.close().await;
            result
        }
        Command::Ingest { follow, batch, lease_ttl } => {
            warehouse::ingest(config, follow, batch, std::time::Duration::from_secs(lease_ttl)).await
        }
        Command::Warehouse { command } => warehouse::warehouse(config, command).await,
        Command::Sql(args) => warehouse::sql(config, args).await,
        Command::Import(args) => warehouse::import(config, args).await,
        Command::Report(args) => report::report(config, args).await,
        Command::Model { command } => model::run(config, command).await,
        Command::Changes { after, limit } => {
            let store = orgata_engine::connect(&config.database_url).await?;
            let events = store.read_changes(after.unwrap_or_default(), limit).await?;
            let mut out = std::io::stdout().lock();
            for e in &events {
                writeln!(out, "{}", serde_json::to_string(e)?)?;
            }
            // Which page this was, on stderr so that the JSON lines stay clean.
            let from = if after.is_some() { "after the position given" } else { "from the start of the log" };
            match events.last() {
                Some(last) if events.len() as i64 == limit => eprintln!(
                    "{} events {from}, oldest first; the next ones: orgata changes --after {}",
                    events.len(),
                    last.position
                ),
                _ => eprintln!("{} events {from}, oldest first, to the end of the log", events.len()),
            }
            Ok(())
        }
    }
}

async fn verify_audit(engine: &Engine, slug: &str) -> Result<()> {
    let Some(org) = engine.organisation_by_slug(slug).await? else {
        bail!("no organisation `{slug}`");
    };
    let report = engine.verify_audit_chain(&org.id).await?;
    match report.broken {
        None => {
            println!("audit trail of `{}`: {} entries, every link intact", org.slug, report.verified);
            Ok(())
        }
        Some(broken) => bail!("audit trail of `{}` is broken: {broken}", org.slug),
    }
}

/// What the demo saves in the data folder: how to sign in, and an API key for agents.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct DemoCredentials {
    pub users: Vec<DemoUser>,
    pub api_key: Option<DemoApiKey>,
}

/// The file the demo's sign-in credentials are saved in.
pub fn credentials_path(data_dir: &Path) -> PathBuf {
    data_dir.join("demo-credentials.json")
}

/// Creates the demo organisation and its history (once: a second run reports what is there).
pub async fn run_demo(config: &Config, options: DemoOptions) -> Result<()> {
    let store = orgata_engine::connect(&config.database_url).await?;
    // The demo drives the real engine on a simulated clock; `demo::run` moves it to the start of
    // the history, so it starts well before that.
    let clock = Arc::new(SimClock::new(Utc::now() - Duration::days(i64::from(options.days) + 1)));
    let engine = Engine::new(store.clone(), clock.clone()).with_signing_keys(crate::keys::signing_keys(config)?);
    let bar = ProgressBar::new(u64::from(options.days));
    bar.set_style(
        ProgressStyle::with_template("simulating {bar:40} {pos}/{len} days  {elapsed_precise}")
            .context("progress bar template")?,
    );
    let report = demo::run(&engine, &clock, &options, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await?;
    bar.finish_and_clear();
    let path = credentials_path(&config.data_dir);
    let credentials = if report.created {
        let credentials = DemoCredentials { users: report.users.clone(), api_key: report.api_key.clone() };
        save_credentials(&path, &credentials)?;
        credentials
    } else {
        load_credentials(&path).unwrap_or_else(|| DemoCredentials { users: report.users.clone(), api_key: None })
    };
    print_report(&report, &credentials, &path);
    store.close().await;
    println!();
    // The history becomes queryable at once (`orgata sql`), unless a running server streams it.
    match warehouse::ingest(config, false, 5_000, crate::streaming::LEASE_TTL).await {
        Err(e) if matches!(e.downcast_ref(), Some(orgata_ingest::IngestError::LeaseHeld)) => {
            println!("A running Orgata server streams the history into the warehouse.");
            Ok(())
        }
        other => other,
    }
}

fn save_credentials(path: &Path, credentials: &DemoCredentials) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let json = serde_json::to_string_pretty(credentials)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(json.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn load_credentials(path: &Path) -> Option<DemoCredentials> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn print_report(report: &DemoReport, credentials: &DemoCredentials, path: &Path) {
    let users = &credentials.users;
    if report.created {
        println!("Created the demo organisation `{}`:", report.org_slug);
    } else {
        println!("The demo organisation `{}` already exists; nothing was changed:", report.org_slug);
    }
    println!(
        "  {} teams, {} users, {} playbooks, {} process instances ({} finished), {} tasks",
        report.teams,
        users.len(),
        report.playbooks,
        report.instances,
        report.completed_instances,
        report.tasks
    );
    println!();
    println!("Sign in as (saved in {}):", path.display());
    let width = users.iter().map(|u| u.email.len()).max().unwrap_or(0);
    for u in users {
        let teams: Vec<String> = u.teams.iter().map(|(t, r)| format!("{t} ({r})")).collect();
        let password = if u.password.is_empty() { "(see the file above)" } else { u.password.as_str() };
        println!("  {:width$}  {:18}  {}", u.email, password, teams.join(", "));
    }
    if let Some(key) = &credentials.api_key {
        println!();
        println!("API key for agents (team {}; saved there too):", key.team);
        println!("  {}", key.secret);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_parse() {
        assert_eq!("12:34".parse::<LogPosition>(), Ok(LogPosition { xid: 12, seq: 34 }));
        assert!("12".parse::<LogPosition>().is_err());
        assert!("a:1".parse::<LogPosition>().is_err());
        assert_eq!(LogPosition { xid: 12, seq: 34 }.to_string(), "12:34");
    }
}
