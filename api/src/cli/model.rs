//! `orgata model`: the prediction models of `orgata_reports` over the warehouse or directly over
//! a log file (`--log`) — `evaluate` learns from the earlier cases and scores the forecasts of
//! the later ones against the baselines.

use super::report::{EventArgs, EventSource, parse_duration};
use crate::config::Config;
use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use orgata_reports::{Events, TrainingOptions};
use std::time::Duration;

/// What to do with the prediction models.
#[derive(Debug, clap::Subcommand)]
pub enum ModelCommand {
    /// Learn from the first 80% of the finished cases (by start) and score the forecasts of every
    /// prefix of the others against the baselines: remaining time (mean by last activity, by
    /// prefix length), next activity (the most frequent after the last), risk (the base rate).
    Evaluate(EvaluateArgs),
}

/// Which events a model learns from, and how.
#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub events: EventArgs,
    /// Only this playbook's processes.
    #[arg(long)]
    pub playbook: Option<String>,
    /// The case duration target the risk model foresees, like `5d` or `1d 12h`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub case_target: Option<f64>,
    /// Makes training repeatable: the same seed, the same models.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output: table (for people) or json.
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
}

/// `orgata model …`.
pub async fn run(config: &Config, command: ModelCommand) -> Result<()> {
    match command {
        ModelCommand::Evaluate(args) => evaluate(config, args).await,
    }
}

async fn evaluate(config: &Config, args: EvaluateArgs) -> Result<()> {
    let progress = ProgressBar::new_spinner().with_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}")?);
    progress.enable_steady_tick(Duration::from_millis(120));
    progress.set_message(if args.events.log_file.is_some() { "reading the log" } else { "opening the warehouse" });
    let source = EventSource::open(config, &args.events).await?;
    let filter =
        orgata_reports::filter_of(source.source.as_deref(), args.playbook.as_deref(), None, None, None, false)?;
    progress.set_message("learning and scoring");
    let events = Events::select(&source.warehouse, &source.scope, &filter).await?;
    let options = TrainingOptions { seed: args.seed, case_target_s: args.case_target };
    let evaluation = orgata_reports::evaluate(&events, options).await;
    progress.finish_and_clear();
    let evaluation = evaluation?;
    match args.format.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&evaluation)?),
        "table" => print!("{}", evaluation.to_text()),
        other => bail!("unknown format `{other}`: use table or json"),
    }
    Ok(())
}
