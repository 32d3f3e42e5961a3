//! The reports by name: what the CLI (`orgata report NAME`), REST
//! (`/v1/teams/{team}/analytics/NAME`), the UI and MCP offer, computed by one function and
//! rendered as JSON (serde) or as text for people.

use crate::text::{duration, percent, table};
use crate::{
    BottleneckReport, CaseStatistics, DirectlyFollowsGraph, Filter, Period, ReportError, ServiceTime, TimeScope,
    Timeline, Variants, bottlenecks, case_arrival_average, case_statistics, directly_follows, rework_per_activity,
    service_time_per_activity, timeline, variants,
};
use chrono::{DateTime, Utc};
use orgata_warehouse::{TeamScope, Warehouse};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The reports there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Case counts, case durations and the arrival rate.
    Cases,
    /// The distinct activity sequences.
    Variants,
    /// The directly-follows graph with start and end activities.
    Dfg,
    /// Per activity: events, rework and service time.
    Activities,
    /// Cases started, completed and open per day or week.
    Timeline,
    /// Where cycle time goes: activities and transitions by share, waiting against working,
    /// queue trends, findings in sentences.
    Bottlenecks,
}

impl ReportKind {
    /// Every report, in the order they are listed.
    pub const ALL: [ReportKind; 6] = [
        ReportKind::Cases,
        ReportKind::Variants,
        ReportKind::Dfg,
        ReportKind::Activities,
        ReportKind::Timeline,
        ReportKind::Bottlenecks,
    ];

    /// The report's name, as URLs and the CLI write it.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Cases => "cases",
            ReportKind::Variants => "variants",
            ReportKind::Dfg => "dfg",
            ReportKind::Activities => "activities",
            ReportKind::Timeline => "timeline",
            ReportKind::Bottlenecks => "bottlenecks",
        }
    }
}

impl std::str::FromStr for ReportKind {
    type Err = ReportError;

    fn from_str(name: &str) -> Result<Self, ReportError> {
        ReportKind::ALL.into_iter().find(|kind| kind.as_str() == name).ok_or_else(|| {
            let names: Vec<&str> = ReportKind::ALL.iter().map(|k| k.as_str()).collect();
            ReportError::InvalidFilter(format!("no report `{name}`; there are {}", names.join(", ")))
        })
    }
}

/// A computed report, tagged with its name (`"report": "cases"`, …) in JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "report", rename_all = "snake_case")]
pub enum Report {
    Cases(CaseReport),
    Variants(Variants),
    Dfg(DirectlyFollowsGraph),
    Activities(ActivityReport),
    Timeline(Timeline),
    Bottlenecks(BottleneckReport),
}

/// The cases report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseReport {
    pub statistics: CaseStatistics,
    /// Mean time between consecutive case starts, in seconds (`None` below two cases).
    pub arrival_average_s: Option<f64>,
}

/// The activities report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityReport {
    /// One row per activity, by name.
    pub activities: Vec<ActivityFigures>,
}

/// What the activities report says of one activity.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityFigures {
    pub activity: String,
    /// Events counted (completions where lifecycles are mixed).
    pub events: u64,
    /// Cases in which the activity happens more than once.
    pub rework_cases: u64,
    /// Completion minus start, in seconds.
    pub service_time: ServiceTime,
}

/// The filter interfaces build from what a caller gave (text fields, all optional): the source
/// (default: the processes run in Orgata), a playbook, a version, and a time range `[from, to)`
/// over events or, with `cases_started`, over the cases' first events.
pub fn filter_of(
    source: Option<&str>,
    playbook_id: Option<&str>,
    version_id: Option<&str>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    cases_started: bool,
) -> Result<Filter, ReportError> {
    let mut filter = match source {
        Some(source) => Filter::source(source)?,
        None => Filter::engine(),
    };
    if let Some(playbook_id) = playbook_id {
        filter = filter.playbook(playbook_id)?;
    }
    if let Some(version_id) = version_id {
        filter = filter.version(version_id)?;
    }
    if from.is_some() || to.is_some() {
        let scope = if cases_started { TimeScope::CasesStarted } else { TimeScope::Events };
        filter = filter.between(from, to, scope)?;
    }
    Ok(filter)
}

/// Computes a report over the events `filter` selects within `scope`; `period` is the timeline's.
pub async fn run(
    kind: ReportKind,
    warehouse: &Warehouse,
    scope: &TeamScope,
    filter: &Filter,
    period: Period,
) -> Result<Report, ReportError> {
    Ok(match kind {
        ReportKind::Cases => Report::Cases(CaseReport {
            statistics: case_statistics(warehouse, scope, filter).await?,
            arrival_average_s: case_arrival_average(warehouse, scope, filter).await?,
        }),
        ReportKind::Variants => Report::Variants(variants(warehouse, scope, filter).await?),
        ReportKind::Dfg => Report::Dfg(directly_follows(warehouse, scope, filter).await?),
        ReportKind::Activities => {
            let mut rework = rework_per_activity(warehouse, scope, filter).await?;
            let activities = service_time_per_activity(warehouse, scope, filter)
                .await?
                .into_iter()
                .map(|(activity, service_time)| ActivityFigures {
                    rework_cases: rework.remove(&activity).unwrap_or(0),
                    events: service_time.events,
                    activity,
                    service_time,
                })
                .collect();
            Report::Activities(ActivityReport { activities })
        }
        ReportKind::Timeline => Report::Timeline(timeline(warehouse, scope, filter, period).await?),
        ReportKind::Bottlenecks => Report::Bottlenecks(bottlenecks(warehouse, scope, filter).await?),
    })
}

/// Rows of the variants table shown as text; the rest are counted.
const VARIANTS_SHOWN: usize = 25;

impl Report {
    /// The report as text: a summary and aligned tables.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        match self {
            Report::Bottlenecks(report) => out.push_str(&report.to_text()),
            Report::Cases(report) => cases_text(&mut out, &report.statistics, report.arrival_average_s),
            Report::Variants(v) => {
                let _ = writeln!(out, "{} cases follow {} variants\n", v.cases, v.variants.len());
                let rows: Vec<Vec<String>> = v
                    .variants
                    .iter()
                    .take(VARIANTS_SHOWN)
                    .enumerate()
                    .map(|(i, variant)| {
                        vec![
                            (i + 1).to_string(),
                            variant.frequency.to_string(),
                            percent(variant.share),
                            duration(variant.mean_duration_s),
                            duration(variant.median_duration_s),
                            variant.activities.join(" → "),
                        ]
                    })
                    .collect();
                out.push_str(&table(&["#", "cases", "share", "mean", "median", "activities"], &rows));
                if v.variants.len() > VARIANTS_SHOWN {
                    let _ = writeln!(out, "… and {} more variants", v.variants.len() - VARIANTS_SHOWN);
                }
            }
            Report::Dfg(graph) => {
                let rows: Vec<Vec<String>> = graph
                    .edges
                    .iter()
                    .map(|e| {
                        vec![
                            e.from.clone(),
                            e.to.clone(),
                            e.frequency.to_string(),
                            duration(e.mean_s),
                            duration(e.median_s),
                            duration(e.max_s),
                        ]
                    })
                    .collect();
                out.push_str(&table(&["from", "to", "frequency", "mean", "median", "max"], &rows));
                let counts = |map: &BTreeMap<String, u64>| {
                    let mut pairs: Vec<_> = map.iter().collect();
                    pairs.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
                    pairs.iter().map(|(activity, n)| format!("{activity} ({n})")).collect::<Vec<_>>().join(", ")
                };
                let _ = writeln!(out, "\nstart activities: {}", counts(&graph.start_activities));
                let _ = writeln!(out, "end activities: {}", counts(&graph.end_activities));
            }
            Report::Activities(ActivityReport { activities }) => {
                let rows: Vec<Vec<String>> = activities
                    .iter()
                    .map(|a| {
                        let timed = a.service_time.timed_events > 0;
                        vec![
                            a.activity.clone(),
                            a.events.to_string(),
                            a.rework_cases.to_string(),
                            if timed { duration(a.service_time.mean_s) } else { "—".into() },
                        ]
                    })
                    .collect();
                out.push_str(&table(&["activity", "events", "rework cases", "service time (mean)"], &rows));
                if activities.iter().all(|a| a.service_time.timed_events == 0) {
                    out.push_str("\nThe log has no start times, so service times are unknown.\n");
                }
            }
            Report::Timeline(t) => {
                let format = match t.period {
                    Period::Day => "%Y-%m-%d",
                    Period::Week => "week of %Y-%m-%d",
                };
                let rows: Vec<Vec<String>> = t
                    .periods
                    .iter()
                    .map(|p| {
                        vec![
                            p.start.format(format).to_string(),
                            p.started.to_string(),
                            p.completed.to_string(),
                            p.open_at_end.to_string(),
                        ]
                    })
                    .collect();
                out.push_str(&table(&["period", "started", "completed", "open at end"], &rows));
            }
        }
        out
    }
}

fn cases_text(out: &mut String, statistics: &CaseStatistics, arrival_average_s: Option<f64>) {
    let _ = write!(out, "{} cases, {} events", statistics.cases, statistics.events);
    if let Some(arrival) = arrival_average_s {
        let _ = write!(out, "; a new case every {} on average", duration(arrival));
    }
    out.push('\n');
    if let Some(d) = &statistics.duration_s {
        let _ = writeln!(
            out,
            "case duration: mean {}, median {}, p90 {}, p95 {}, min {}, max {}",
            duration(d.mean),
            duration(d.median),
            duration(d.p90),
            duration(d.p95),
            duration(d.min),
            duration(d.max)
        );
    }
}
