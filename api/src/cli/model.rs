//! `orgata model`: the prediction models of `orgata_reports` — `train` learns a team's models
//! from the warehouse and stores them in its registry, `list` and `show` read the registry,
//! `evaluate` learns from the earlier cases (of the warehouse or of a log file, `--log`) and
//! scores the forecasts of the later ones against the baselines, storing nothing.

use super::report::{EventArgs, EventSource, parse_duration};
use crate::config::Config;
use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use orgata_reports::{Events, ModelCard, Subject, TrainingOptions};
use std::time::Duration;

/// What to do with the prediction models.
#[derive(Debug, clap::Subcommand)]
pub enum ModelCommand {
    /// Learn from the first 80% of the finished cases (by start) and score the forecasts of every
    /// prefix of the others against the baselines: remaining time (mean by last activity, by
    /// prefix length), next activity (the most frequent after the last), risk (the base rate).
    Evaluate(EvaluateArgs),
    /// Learn a team's models from every finished case of a source (or one playbook's processes)
    /// and store them, with their evaluation, as the next version in the warehouse's registry.
    Train(TrainArgs),
    /// The team's models in the registry: each subject's versions, the newest first.
    List {
        /// The team (its id).
        #[arg(long)]
        team: String,
        /// Output: table (for people) or json.
        #[arg(long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
    },
    /// The forecasts of the team's running processes (each by its playbook's newest model where it
    /// has one, else by the team's): expected end with its interval, next step, risk and why.
    Predict {
        /// The team (its id).
        #[arg(long)]
        team: String,
        /// Only the processes likely (50% or more) to exceed their model's case target.
        #[arg(long)]
        at_risk: bool,
        /// Output: table (for people) or json.
        #[arg(long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
    },
    /// One model's card: what it learnt from, its features and its evaluation.
    Show {
        #[command(flatten)]
        subject: SubjectArgs,
        /// The version [default: the newest].
        #[arg(long)]
        version: Option<u32>,
        /// Output: table (for people) or json.
        #[arg(long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
    },
}

/// Whose models: a team's, of a source and optionally one playbook's processes.
#[derive(Debug, clap::Args)]
pub struct SubjectArgs {
    /// The team (its id).
    #[arg(long)]
    pub team: String,
    /// The events' source: `orgata` (the processes run here, the default) or an imported log's.
    #[arg(long, default_value = orgata_warehouse::tables::ENGINE_SOURCE)]
    pub source: String,
    /// Only this playbook's processes.
    #[arg(long)]
    pub playbook: Option<String>,
}

impl SubjectArgs {
    fn subject(&self) -> Subject<'_> {
        Subject { team: &self.team, source: &self.source, playbook_id: self.playbook.as_deref() }
    }
}

/// What `orgata model train` learns from, and how.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub subject: SubjectArgs,
    /// The case duration target the risk model foresees, like `5d` or `1d 12h`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub case_target: Option<f64>,
    /// Without --case-target: the target is this quantile of the finished cases' durations (0.8:
    /// longer than 80% of cases took).
    #[arg(long, value_name = "SHARE", conflicts_with = "case_target", value_parser = parse_share)]
    pub case_target_quantile: Option<f64>,
    /// Makes training repeatable: the same seed, the same models.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// A share between 0 and 1, exclusive.
fn parse_share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(share) if share > 0.0 && share < 1.0 => Ok(share),
        _ => Err(format!("`{text}` is not a share between 0 and 1, like 0.8")),
    }
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
        ModelCommand::Train(args) => {
            let progress = spinner("learning from the warehouse's history")?;
            let options = TrainingOptions {
                seed: args.seed,
                case_target_s: args.case_target,
                target_quantile: args.case_target_quantile,
            };
            let card = orgata_reports::train(&config.warehouse()?, &args.subject.subject(), options).await;
            progress.finish_and_clear();
            let card = card?;
            println!("{}", card_line(&card));
            Ok(())
        }
        ModelCommand::List { team, format } => {
            let cards = orgata_reports::models(&config.warehouse()?, &team).await?;
            match format.as_str() {
                "json" => println!("{}", serde_json::to_string_pretty(&cards)?),
                _ if cards.is_empty() => {
                    println!("No models for team {team} yet: `orgata model train --team {team}` learns some.")
                }
                _ => cards.iter().for_each(|card| println!("{}", card_line(card))),
            }
            Ok(())
        }
        ModelCommand::Predict { team, at_risk, format } => {
            let progress = spinner("forecasting the running processes")?;
            let found =
                orgata_reports::team_predictions(&config.warehouse()?, &team, at_risk, chrono::Utc::now()).await;
            progress.finish_and_clear();
            let Some(predictions) = found? else {
                bail!("team {team} has no prediction model yet: `orgata model train --team {team}` learns one");
            };
            match format.as_str() {
                "json" => println!("{}", serde_json::to_string_pretty(&predictions)?),
                _ => print!("{}", predictions_table(&predictions)),
            }
            Ok(())
        }
        ModelCommand::Show { subject, version, format } => {
            let warehouse = config.warehouse()?;
            let card = orgata_reports::model_card(&warehouse, &subject.subject(), version).await?;
            let Some(card) = card else {
                bail!("no such model: `orgata model list --team {}` lists them", subject.team);
            };
            match format.as_str() {
                "json" => println!("{}", serde_json::to_string_pretty(&card)?),
                _ => {
                    println!("{}", card_line(&card));
                    println!("features: {}\n", card.features.join(", "));
                    print!("{}", card.evaluation.to_text());
                }
            }
            Ok(())
        }
    }
}

/// A card in one line: subject, version, what it learnt from, its headline figures.
fn card_line(card: &ModelCard) -> String {
    let e = &card.evaluation;
    format!(
        "{}/{}{} version {}: {} cases ({} – {}), trained {}; remaining time {} smaller error than the baselines, next activity {} (baseline {})",
        card.team,
        card.source,
        card.playbook_id.as_ref().map(|p| format!(" playbook {p}")).unwrap_or_default(),
        card.version,
        card.cases,
        card.window_from.format("%Y-%m-%d"),
        card.window_to.format("%Y-%m-%d"),
        card.trained_at.format("%Y-%m-%d %H:%M"),
        orgata_reports::text::percent(e.remaining_time.improvement),
        orgata_reports::text::percent(e.next_activity.accuracy),
        orgata_reports::text::percent(e.next_activity.baseline_accuracy),
    )
}

/// Forecasts as a table: one line per process, the most urgent first.
fn predictions_table(predictions: &orgata_reports::Predictions) -> String {
    use orgata_reports::text::{duration, whole_percent};
    let rows: Vec<Vec<String>> = predictions
        .cases
        .iter()
        .map(|c| {
            vec![
                c.case_id.clone(),
                c.expected_end.format("%Y-%m-%d %H:%M").to_string(),
                format!("{} – {}", duration(c.remaining_low_s), duration(c.remaining_high_s)),
                c.next
                    .first()
                    .map(|n| format!("{} ({})", n.activity, whole_percent(n.probability)))
                    .unwrap_or_default(),
                c.risk.map(whole_percent).unwrap_or_else(|| "—".into()),
                c.reason.clone(),
            ]
        })
        .collect();
    let header = ["process", "expected end (UTC)", "remaining", "next", "risk", "why"];
    format!("{} running processes\n{}", predictions.cases.len(), orgata_reports::text::table(&header, &rows))
}

/// A spinner saying what runs.
fn spinner(message: &'static str) -> Result<ProgressBar> {
    let progress = ProgressBar::new_spinner().with_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}")?);
    progress.enable_steady_tick(Duration::from_millis(120));
    progress.set_message(message);
    Ok(progress)
}

async fn evaluate(config: &Config, args: EvaluateArgs) -> Result<()> {
    let progress = spinner(if args.events.log_file.is_some() { "reading the log" } else { "opening the warehouse" })?;
    let source = EventSource::open(config, &args.events).await?;
    let filter =
        orgata_reports::filter_of(source.source.as_deref(), args.playbook.as_deref(), None, None, None, false)?;
    progress.set_message("learning and scoring");
    let events = Events::select(&source.warehouse, &source.scope, &filter).await?;
    let options = TrainingOptions { seed: args.seed, case_target_s: args.case_target, target_quantile: None };
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
