//! `orgata report NAME`: the process analytics of `orgata_reports`, over the warehouse (the
//! processes run in Orgata, or an imported log's source) or directly over a log file (`--log`),
//! as text tables or JSON — the same reports, by the same functions, as
//! `GET /v1/teams/{team}/analytics/{report}`.

use crate::config::Config;
use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use orgata_reports::{Period, ReportKind, ReportOptions, Versus};
use orgata_warehouse::{TeamScope, Warehouse};
use std::collections::HashMap;
use std::path::PathBuf;

/// Where a command's events are: a log file on its own, or the warehouse's teams and source.
#[derive(Debug, clap::Args)]
pub struct EventArgs {
    /// Analyse this log file (.xes, .xes.gz, .csv, .csv.gz) on its own instead of the warehouse.
    #[arg(long = "log", value_name = "FILE", conflicts_with_all = ["team", "source"])]
    pub log_file: Option<PathBuf>,
    /// With --log: xes or csv [default: from the file name].
    #[arg(long, requires = "log_file")]
    pub log_format: Option<String>,
    /// Only these teams' events (team ids; repeat or comma-separate) [default: every team's].
    #[arg(long, value_delimiter = ',')]
    pub team: Vec<String>,
    /// The events' source: `orgata` (the processes run here) or an imported log's source name.
    #[arg(long)]
    pub source: Option<String>,
}

/// How `orgata report` is asked.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The report: cases, variants, dfg, activities, timeline, bottlenecks, compare, sla, resources or
    /// anomalies.
    #[arg(value_parser = |s: &str| s.parse::<ReportKind>().map_err(|e| e.to_string()))]
    pub report: ReportKind,
    #[command(flatten)]
    pub events: EventArgs,
    /// Only this playbook's processes.
    #[arg(long)]
    pub playbook: Option<String>,
    /// Only this playbook version's processes.
    #[arg(long)]
    pub version: Option<String>,
    /// From this time on (RFC 3339, or a date: midnight UTC).
    #[arg(long, value_parser = parse_time)]
    pub from: Option<DateTime<Utc>>,
    /// Before this time (RFC 3339, or a date: midnight UTC).
    #[arg(long, value_parser = parse_time)]
    pub to: Option<DateTime<Utc>>,
    /// Apply --from/--to to the cases' first events (whole cases) instead of to each event.
    #[arg(long)]
    pub cases_started: bool,
    /// The timeline's periods: day or week.
    #[arg(long, default_value = "week", value_parser = |s: &str| s.parse::<Period>().map_err(|e| e.to_string()))]
    pub period: Period,
    /// timeline: periods counted back from this time (the last one ends there; `now` for the
    /// last 7 days, the 7 before, …) instead of calendar days or weeks.
    #[arg(long, value_name = "TIME", value_parser = parse_time_or_now)]
    pub periods_end: Option<DateTime<Utc>>,
    /// compare: the other side's team (default: the same teams).
    #[arg(long, value_name = "TEAM")]
    pub versus_team: Option<String>,
    /// compare: the other side's source.
    #[arg(long, value_name = "SOURCE")]
    pub versus_source: Option<String>,
    /// compare: the other side's playbook.
    #[arg(long, value_name = "PLAYBOOK")]
    pub versus_playbook: Option<String>,
    /// compare: the other side's playbook version.
    #[arg(long, value_name = "VERSION")]
    pub versus_version: Option<String>,
    /// compare: the other side's time range starts here (RFC 3339 or a date).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub versus_from: Option<DateTime<Utc>>,
    /// compare: the other side's time range ends before this (RFC 3339 or a date).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub versus_to: Option<DateTime<Utc>>,
    /// sla: the case duration target, like `5d` or `1d 12h` (units d, h, m, s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub case_target: Option<f64>,
    /// resources: the working hours per week utilisation is measured against.
    #[arg(long, value_name = "HOURS", default_value_t = orgata_reports::DEFAULT_HOURS_PER_WEEK)]
    pub hours_per_week: f64,
    /// anomalies: standard deviations from its mean beyond which a time between two activities
    /// is unusual (default 3).
    #[arg(long, value_name = "SIGMAS")]
    pub zeta: Option<f64>,
    /// Output: table (for people) or json.
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
}

/// An RFC 3339 time, or a date meaning its midnight UTC.
pub(super) fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        .map_err(|_| format!("`{text}` is not a time: use RFC 3339 (2026-03-01T09:00:00Z) or a date (2026-03-01)"))
}

/// `now`, or a time as [`parse_time`] reads it.
fn parse_time_or_now(text: &str) -> Result<DateTime<Utc>, String> {
    if text == "now" { Ok(Utc::now()) } else { parse_time(text) }
}

/// A duration like `5d` or `1d 12h`, in seconds.
pub(super) fn parse_duration(text: &str) -> Result<f64, String> {
    orgata_engine::definition::Sla::parse(text).map(|d| d.seconds as f64)
}

/// The team and source a log analysed with `--log` is imported under, in a temporary warehouse.
const LOG_TEAM: &str = "log";
const LOG_SOURCE: &str = "log";

/// Where a command's events are: the warehouse, or a log file imported on its own into a
/// temporary one for the run (`--log`), with the teams and the source to read.
pub(super) struct EventSource {
    /// Holds the temporary warehouse's folder while the command runs.
    _scratch: Option<tempfile::TempDir>,
    pub warehouse: Warehouse,
    pub scope: TeamScope,
    pub source: Option<String>,
}

impl EventSource {
    /// The log file of `args` imported into a temporary warehouse, or `config`'s warehouse with
    /// the teams (none: every team) and source of `args`.
    pub async fn open(config: &Config, args: &EventArgs) -> Result<EventSource> {
        match &args.log_file {
            Some(file) => {
                let scratch = tempfile::tempdir().context("a temporary folder for the log")?;
                let location = scratch.path().to_str().context("a temporary folder with a UTF-8 path")?;
                let warehouse = Warehouse::open(location, HashMap::new())?;
                let format = super::warehouse::log_format(file, args.log_format.as_deref(), Default::default())?;
                super::warehouse::import_file(&warehouse, file, &format, LOG_TEAM, LOG_SOURCE).await?;
                Ok(EventSource {
                    _scratch: Some(scratch),
                    warehouse,
                    scope: TeamScope::All,
                    source: Some(LOG_SOURCE.to_string()),
                })
            }
            None => {
                let teams = &args.team;
                let scope = if teams.is_empty() { TeamScope::All } else { TeamScope::Teams(teams.clone()) };
                Ok(EventSource { _scratch: None, warehouse: config.warehouse()?, scope, source: args.source.clone() })
            }
        }
    }
}

/// `orgata report`.
pub async fn report(config: &Config, args: ReportArgs) -> Result<()> {
    let events = EventSource::open(config, &args.events).await?;
    let (warehouse, scope, source) = (&events.warehouse, &events.scope, &events.source);
    let filter = orgata_reports::filter_of(
        source.as_deref(),
        args.playbook.as_deref(),
        args.version.as_deref(),
        args.from,
        args.to,
        args.cases_started,
    )?;
    let versus = Versus {
        team: args.versus_team,
        source: args.versus_source,
        playbook_id: args.versus_playbook,
        version_id: args.versus_version,
        from: args.versus_from,
        to: args.versus_to,
    };
    if !versus.is_empty() && args.report != ReportKind::Compare {
        bail!("the --versus-… options are for `orgata report compare`");
    }
    if args.case_target.is_some() && args.report != ReportKind::Sla {
        bail!("--case-target is for `orgata report sla`");
    }
    if args.periods_end.is_some() && args.report != ReportKind::Timeline {
        bail!("--periods-end is for `orgata report timeline`");
    }
    if args.zeta.is_some() && args.report != ReportKind::Anomalies {
        bail!("--zeta is for `orgata report anomalies`");
    }
    let options = ReportOptions {
        period: args.period,
        periods_end: args.periods_end,
        versus,
        case_target_s: args.case_target,
        now: Utc::now(),
        hours_per_week: args.hours_per_week,
        zeta: args.zeta.unwrap_or(orgata_reports::DEFAULT_ZETA),
    };
    let report = orgata_reports::run(args.report, warehouse, scope, &filter, &options).await?;
    match args.format.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&report)?),
        "table" => print!("{}", report.to_text()),
        other => bail!("unknown format `{other}`: use table or json"),
    }
    Ok(())
}
