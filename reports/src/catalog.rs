//! The reports by name: what the CLI (`orgata report NAME`), REST
//! (`/v1/teams/{team}/analytics/NAME`), the UI and MCP offer, computed by one function and
//! rendered as JSON (serde) or as text for people.

use crate::selection::{Selection, selection};
use crate::text::{duration, gap, percent, plural, table};
use crate::{
    ActivityReport, AnomalyReport, BottleneckReport, CaseReport, CaseStatistics, Comparison, DEFAULT_ZETA,
    DirectlyFollowsGraph, Events, Filter, Period, ReportError, ResourceReport, Side, SlaReport, TimeScope, Timeline,
    Variants, activity_report, anomalies, bottlenecks, case_report, compare, directly_follows, resources, sla,
    timeline, variants,
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
    /// The case and activity figures against another team, period, playbook, version or source.
    Compare,
    /// Steps that miss their SLA and cases longer than a target.
    Sla,
    /// Workload per person and role, utilisation over time, handovers between people.
    Resources,
    /// Cases and steps unlike their history: the temporal profile's deviations, unusual
    /// durations, rework and paths, steps slower than before.
    Anomalies,
}

impl ReportKind {
    /// Every report, in the order they are listed.
    pub const ALL: [ReportKind; 10] = [
        ReportKind::Cases,
        ReportKind::Variants,
        ReportKind::Dfg,
        ReportKind::Activities,
        ReportKind::Timeline,
        ReportKind::Bottlenecks,
        ReportKind::Compare,
        ReportKind::Sla,
        ReportKind::Resources,
        ReportKind::Anomalies,
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
            ReportKind::Compare => "compare",
            ReportKind::Sla => "sla",
            ReportKind::Resources => "resources",
            ReportKind::Anomalies => "anomalies",
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
    Compare(Comparison),
    Sla(SlaReport),
    Resources(ResourceReport),
    Anomalies(AnomalyReport),
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

/// What some reports take besides the events they cover.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOptions {
    /// The timeline's periods.
    pub period: Period,
    /// The timeline's periods end at this instant, counted back from it, instead of on calendar
    /// boundaries (with `now`: the last 7 days, the 7 days before, …, none of them partial).
    pub periods_end: Option<DateTime<Utc>>,
    /// What the compare report measures against (empty for the other reports).
    pub versus: Versus,
    /// The sla report's case duration target, in seconds.
    pub case_target_s: Option<f64>,
    /// When open work is judged (the sla report), and after which the timeline's periods are
    /// partial.
    pub now: DateTime<Utc>,
    /// The working hours per week utilisation is measured against (the resources report).
    pub hours_per_week: f64,
    /// Standard deviations from its mean beyond which a time between two activities is unusual
    /// (the anomalies report).
    pub zeta: f64,
}

/// The working hours per week utilisation is measured against unless told otherwise.
pub const DEFAULT_HOURS_PER_WEEK: f64 = 40.0;

impl Default for ReportOptions {
    /// Weekly timelines; nothing to compare with; no case target; now; 40-hour weeks; ζ 3.
    fn default() -> Self {
        ReportOptions {
            period: Period::Week,
            periods_end: None,
            versus: Versus::default(),
            case_target_s: None,
            now: Utc::now(),
            hours_per_week: DEFAULT_HOURS_PER_WEEK,
            zeta: DEFAULT_ZETA,
        }
    }
}

/// The other side of a comparison, as changes to the main side: a different team, source,
/// playbook, version or time range (`from`/`to`: either given replaces the main range, a missing
/// end is open). What is not given is the main side's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Versus {
    pub team: Option<String>,
    pub source: Option<String>,
    pub playbook_id: Option<String>,
    pub version_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl Versus {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Versus::default()
    }

    /// The two sides of a comparison: the main one (`scope`, `filter`) and the one with these
    /// changes, each labelled by what differs ("version 2" against "version 3").
    pub fn sides(&self, scope: &TeamScope, filter: &Filter) -> Result<(Side, Side), ReportError> {
        if self.is_empty() {
            return Err(ReportError::InvalidFilter(
                "compare needs a second side: a versus team, source, playbook, version or time range".into(),
            ));
        }
        let (from, to, time_scope) = filter.time_range();
        let (other_from, other_to) =
            if self.from.is_some() || self.to.is_some() { (self.from, self.to) } else { (from, to) };
        let other_scope = match &self.team {
            Some(team) => {
                Filter::check_team(team)?;
                TeamScope::Teams(vec![team.clone()])
            }
            None => scope.clone(),
        };
        let other_filter = filter_of(
            Some(self.source.as_deref().unwrap_or(filter.source_name())),
            self.playbook_id.as_deref().or(filter.playbook_id()),
            self.version_id.as_deref().or(filter.version_id()),
            other_from,
            other_to,
            time_scope == TimeScope::CasesStarted,
        )?;
        let mut base_label = Vec::new();
        let mut other_label = Vec::new();
        let mut differ = |what: &str, base: Option<&str>, other: Option<&str>, all: &str| {
            let named = |value: &str| if what.is_empty() { value.to_string() } else { format!("{what} {value}") };
            if base != other {
                base_label.push(base.map_or_else(|| all.to_string(), named));
                other_label.push(other.map_or_else(|| all.to_string(), named));
            }
        };
        differ("team", teams_label(scope).as_deref(), teams_label(&other_scope).as_deref(), "all teams");
        differ("source", Some(filter.source_name()), Some(other_filter.source_name()), "");
        differ("playbook", filter.playbook_id(), other_filter.playbook_id(), "all playbooks");
        differ("version", filter.version_id(), other_filter.version_id(), "all versions");
        differ("", Some(&range_label(from, to)), Some(&range_label(other_from, other_to)), "");
        let label = |parts: Vec<String>| {
            let text = parts.join(", ").trim().to_string();
            if text.is_empty() { "the same events".to_string() } else { text }
        };
        Ok((
            Side { label: label(base_label), scope: scope.clone(), filter: filter.clone() },
            Side { label: label(other_label), scope: other_scope, filter: other_filter },
        ))
    }
}

/// A scope's team for labels: its one team, else `None` (several or all).
fn teams_label(scope: &TeamScope) -> Option<String> {
    match scope {
        TeamScope::Teams(teams) if teams.len() == 1 => Some(teams[0].clone()),
        TeamScope::Teams(teams) => Some(teams.join("+")),
        TeamScope::All => None,
    }
}

/// A time range for labels: `2026-03-01 – 2026-04-01`, open ends as `…`, whole days as dates.
pub(crate) fn range_label(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> String {
    let time = |t: Option<DateTime<Utc>>| match t {
        None => "…".to_string(),
        Some(t) if t.time() == chrono::NaiveTime::MIN => t.format("%Y-%m-%d").to_string(),
        Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
    };
    if from.is_none() && to.is_none() { "all time".to_string() } else { format!("{} – {}", time(from), time(to)) }
}

/// A report and what it counted: `{"report": "cases", …, "selection": {…}}` in JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportOutput {
    #[serde(flatten)]
    pub report: Report,
    /// Which events the report counted and why, and which filter left nothing if none.
    pub selection: Selection,
}

/// Computes a report over the events `filter` selects within `scope`, with what it counted: the
/// events outlined once ([`Events::select`]), the report, then the selection's remaining queries
/// (only where a time range or an empty selection needs them, and in the cases started in a
/// range not where the report has loaded the counted events already).
pub async fn run(
    kind: ReportKind,
    warehouse: &Warehouse,
    scope: &TeamScope,
    filter: &Filter,
    options: &ReportOptions,
) -> Result<ReportOutput, ReportError> {
    let events = Events::select(warehouse, scope, filter).await?;
    let report = report(kind, &events, options).await?;
    Ok(ReportOutput { report, selection: selection(&events).await? })
}

/// Computes a report over outlined events.
async fn report(kind: ReportKind, events: &Events<'_>, options: &ReportOptions) -> Result<Report, ReportError> {
    Ok(match kind {
        ReportKind::Cases => Report::Cases(case_report(events).await?),
        ReportKind::Variants => Report::Variants(variants(events).await?),
        ReportKind::Dfg => Report::Dfg(directly_follows(events).await?),
        ReportKind::Activities => Report::Activities(activity_report(events).await?),
        ReportKind::Timeline => {
            Report::Timeline(timeline(events, options.period, options.periods_end, options.now).await?)
        }
        ReportKind::Bottlenecks => Report::Bottlenecks(bottlenecks(events).await?),
        ReportKind::Compare => {
            let (base, other) = options.versus.sides(events.scope(), events.filter())?;
            Report::Compare(compare(events, &base.label, &other).await?)
        }
        ReportKind::Sla => Report::Sla(sla(events, options.case_target_s, options.now).await?),
        ReportKind::Resources => Report::Resources(resources(events, None, options.hours_per_week).await?),
        ReportKind::Anomalies => Report::Anomalies(anomalies(events, options.zeta, options.now).await?),
    })
}

/// Rows of the variants table shown as text; the rest are counted.
const VARIANTS_SHOWN: usize = 25;

impl ReportOutput {
    /// Whether the report has nothing to show: no event was counted, and it is not one whose
    /// other side (a comparison) or open work (the SLA report) may still hold something.
    pub fn is_empty(&self) -> bool {
        self.selection.emptied_by.is_some() && !matches!(self.report, Report::Compare(_) | Report::Sla(_))
    }

    /// The report as text. When nothing was counted, only why (the comparison and the SLA report,
    /// whose other side or open work may still hold something, follow it); when none of the events
    /// was `complete`, that first.
    pub fn to_text(&self) -> String {
        if self.is_empty() {
            return format!("{}\n", self.selection.summary);
        }
        if self.selection.is_notable() {
            format!("{}\n\n{}", self.selection.summary, self.report.to_text())
        } else {
            self.report.to_text()
        }
    }
}

impl Report {
    /// The report as text: a summary and aligned tables.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        match self {
            Report::Bottlenecks(report) => out.push_str(&report.to_text()),
            Report::Compare(comparison) => out.push_str(&comparison.to_text()),
            Report::Sla(report) => out.push_str(&report.to_text()),
            Report::Resources(report) => out.push_str(&report.to_text()),
            Report::Anomalies(report) => out.push_str(&report.to_text()),
            Report::Cases(report) => cases_text(&mut out, &report.statistics, report.arrival_average_s),
            Report::Variants(v) => {
                let running = match v.running_cases {
                    0 => String::new(),
                    n => format!(" ({} left out)", plural(n, "running process", "running processes")),
                };
                let _ = writeln!(
                    out,
                    "{} follow {}{running}\n",
                    plural(v.cases, "case", "cases"),
                    plural(v.variants.len() as u64, "variant", "variants")
                );
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
                            gap(e.mean_s),
                            gap(e.median_s),
                            gap(e.max_s),
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
                // Periods counted back from an instant start at its time of day.
                let at_midnight = t.periods.iter().all(|p| p.start.time() == chrono::NaiveTime::MIN);
                let format = match (t.period, at_midnight) {
                    (Period::Day, true) => "%Y-%m-%d",
                    (Period::Day, false) => "%Y-%m-%d %H:%M",
                    (Period::Week, true) => "week of %Y-%m-%d",
                    (Period::Week, false) => "week of %Y-%m-%d %H:%M",
                };
                let rows: Vec<Vec<String>> = t
                    .periods
                    .iter()
                    .map(|p| {
                        let partial = if p.partial { " (partial)" } else { "" };
                        vec![
                            format!("{}{partial}", p.start.format(format)),
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
    let _ =
        write!(out, "{}, {}", plural(statistics.cases, "case", "cases"), plural(statistics.events, "event", "events"));
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
