//! Comparisons: the same figures over two sets of events — team against team, period against
//! period, playbook version against version — and which of them moved, by how much.
//!
//! Each side is a [`Side`]: the teams it may read and a [`Filter`]. Both are measured as the
//! other reports measure them (`case_report`, `activity_times`), so a comparison's figures are
//! exactly those reports' figures for each side — for imported logs, whose work items are the
//! counted events, both from the one query of the items' case log:
//!
//! - per case: case count, events per case, duration mean/median/p90/p95/max, the mean time
//!   between case arrivals, waiting, processing and elapsed time per case (the work items' time
//!   over the cases with a completed item, see `times`), and repetitions per case (occurrences
//!   beyond the first of an activity in a case);
//! - per activity: occurrences per case, mean time per occurrence (waiting + processing +
//!   elapsed) and share of cycle time.
//!
//! A change is `other − base`; the relative change is that over `base` (none when `base` is 0 or
//! either side has no value). Findings name the case-level figures that moved by at least
//! [`NOTABLE_CHANGE`], largest relative change first, then the activities whose mean time moved
//! by as much, those that changed the time per case most first, in sentences.

use crate::caselog::CaseLog;
use crate::text::{duration, percent, table};
use crate::times::{CaseFigures, ItemGroup, cases_and_items, cases_from_items, times, work_items};
use crate::{ActivityTimes, CaseReport, Events, Filter, ReportError, activity_times, case_report};
use orgata_warehouse::TeamScope;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt::Write;

/// The smallest relative change a finding mentions (5 %).
pub const NOTABLE_CHANGE: f64 = 0.05;

/// Metric findings at most; activity findings at most.
const METRIC_FINDINGS: usize = 5;
const ACTIVITY_FINDINGS: usize = 3;

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    /// How the side is named in the report ("version 3", "team ops", "2026-03").
    pub label: String,
    /// The teams whose events it covers.
    pub scope: TeamScope,
    /// Which of their events.
    pub filter: Filter,
}

/// Two sides' figures and their changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Comparison {
    /// The base side's label.
    pub base: String,
    /// The other side's label.
    pub other: String,
    /// Case-level figures, in a fixed order.
    pub metrics: Vec<MetricChange>,
    /// Every activity of either side, by name.
    pub activities: Vec<ActivityChange>,
    /// The notable changes as sentences, largest first.
    pub findings: Vec<String>,
}

/// What a figure measures, for reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A count or a count per case.
    Number,
    /// Seconds.
    Seconds,
    /// A share, 0 to 1.
    Share,
}

/// A figure on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    pub base: Option<f64>,
    pub other: Option<f64>,
    /// `other − base`.
    pub change: Option<f64>,
    /// `change / base`; `None` when `base` is 0 or a side has no value.
    pub relative: Option<f64>,
}

impl Change {
    fn of(base: Option<f64>, other: Option<f64>) -> Change {
        let change = base.zip(other).map(|(b, o)| o - b);
        let relative = base.zip(change).and_then(|(b, c)| (b != 0.0).then(|| c / b.abs()));
        Change { base, other, change, relative }
    }
}

/// A case-level figure on both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricChange {
    /// Its key (`case_duration_median_s`, …).
    pub metric: String,
    /// Its name in sentences ("median case duration").
    pub name: String,
    pub unit: Unit,
    #[serde(flatten)]
    pub values: Change,
}

/// An activity's figures on both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityChange {
    pub activity: String,
    /// Completed occurrences per case with a completed item.
    pub per_case: Change,
    /// Mean time per occurrence (waiting + processing + elapsed), in seconds.
    pub mean_time_s: Change,
    /// Its share of the cases' total cycle time.
    pub share: Change,
}

/// Compares `other` with the base side — its events, outlined, and its label (SQL: that of the
/// cases and activities reports, per side). Periods read from the earlier to the later: where
/// `other`'s time range lies before the base's, it is the comparison's base.
pub async fn compare(base: &Events<'_>, base_label: &str, other: &Side) -> Result<Comparison, ReportError> {
    let (base_figures, other_figures) = match (base.filter().case_starts(), other.filter.case_starts()) {
        (Some(base_starts), Some(other_starts))
            if other.scope == *base.scope()
                && base.filter().differs_only_in_case_starts(&other.filter)
                && base.items_are_counted_events()
                && cases_from_items(base) =>
        {
            // Two ranges of case starts in the same events, whose work items are the counted
            // events and give the cases' figures: one load of every case's items, then each
            // side's cases.
            let all_time = base.filter().all_time();
            let items = work_items(&base.with_filter(&all_time), "").await?;
            let side = |starts| {
                let items = items.cases_started(starts);
                (items.rows(), Figures::of_log(&CaseFigures::of_items(&items), &items))
            };
            let (counted, base_figures) = side(base_starts);
            base.note_counted(counted);
            (base_figures, side(other_starts).1)
        }
        _ => {
            let other_events = Events::select(base.warehouse(), &other.scope, &other.filter).await?;
            (Figures::load(base).await?, Figures::load(&other_events).await?)
        }
    };
    // Periods read from the earlier to the later one, whichever side was asked for first.
    let (base_label, other_label, base_figures, other_figures) =
        if period_key(&other.filter) < period_key(base.filter()) {
            (other.label.as_str(), base_label, other_figures, base_figures)
        } else {
            (base_label, other.label.as_str(), base_figures, other_figures)
        };
    let metrics = base_figures
        .metrics
        .iter()
        .zip(&other_figures.metrics)
        .map(|(b, o)| MetricChange {
            metric: b.key.to_string(),
            name: b.name.to_string(),
            unit: b.unit,
            values: Change::of(b.value, o.value),
        })
        .collect();
    let names: BTreeSet<&str> = base_figures
        .times
        .activities
        .iter()
        .chain(&other_figures.times.activities)
        .map(|a| a.activity.as_str())
        .collect();
    let activities = names
        .into_iter()
        .map(|name| {
            let (b, o) = (activity_figures(&base_figures.times, name), activity_figures(&other_figures.times, name));
            ActivityChange {
                activity: name.to_string(),
                per_case: Change::of(b.per_case, o.per_case),
                mean_time_s: Change::of(b.mean_time_s, o.mean_time_s),
                share: Change::of(b.share, o.share),
            }
        })
        .collect();
    let mut comparison = Comparison {
        base: base_label.to_string(),
        other: other_label.to_string(),
        metrics,
        activities,
        findings: Vec::new(),
    };
    comparison.findings = findings(&comparison);
    Ok(comparison)
}

/// Where a side's time range lies, to order periods: by its start, then its end (open ends
/// first and last).
fn period_key(filter: &Filter) -> (i64, i64) {
    let (from, to, _) = filter.time_range();
    (from.map_or(i64::MIN, |t| t.timestamp_micros()), to.map_or(i64::MAX, |t| t.timestamp_micros()))
}

/// A case-level figure of one side.
struct Metric {
    key: &'static str,
    name: &'static str,
    unit: Unit,
    value: Option<f64>,
}

/// One side's figures.
struct Figures {
    metrics: Vec<Metric>,
    times: ActivityTimes,
}

impl Figures {
    /// A side's figures: for imported logs, whose work items are the counted events, from the
    /// items' case log; otherwise from the cases and activities reports.
    async fn load(events: &Events<'_>) -> Result<Figures, ReportError> {
        if events.items_are_counted_events() {
            let (cases, items) = cases_and_items(events).await?;
            Ok(Figures::of_log(&cases, &items))
        } else {
            Ok(Figures::new(case_report(events).await?, activity_times(events).await?))
        }
    }

    /// The figures of work items that are the counted events, with their cases' figures.
    fn of_log(cases: &CaseFigures, items: &CaseLog) -> Figures {
        Figures::new(CaseReport::of_log(items), times(cases, &ItemGroup::of(items, None)))
    }

    /// The case-level figures of a side's cases report and activity times.
    fn new(cases: CaseReport, times: ActivityTimes) -> Figures {
        let CaseReport { statistics, arrival_average_s: arrival } = cases;
        let cases = statistics.cases as f64;
        let per_case = |total: f64| (cases > 0.0).then(|| total / cases);
        let timed_cases = times.cases as f64;
        let per_timed_case = |total: f64| (timed_cases > 0.0).then(|| total / timed_cases);
        let (mut waiting, mut processing, mut elapsed) = (None::<f64>, None::<f64>, None::<f64>);
        let mut repetitions = 0u64;
        for activity in &times.activities {
            let add = |sum: &mut Option<f64>, part: Option<f64>| {
                if let Some(part) = part {
                    *sum = Some(sum.unwrap_or(0.0) + part);
                }
            };
            add(&mut waiting, activity.waiting.map(|w| w.total_s));
            add(&mut processing, activity.processing.map(|p| p.total_s));
            add(&mut elapsed, activity.elapsed.map(|e| e.total_s));
            repetitions += activity.occurrences.saturating_sub(activity.cases);
        }
        let duration = statistics.duration_s;
        let metric = |key, name, unit, value| Metric { key, name, unit, value };
        let metrics = vec![
            metric("cases", "cases", Unit::Number, Some(cases)),
            metric("events_per_case", "events per case", Unit::Number, per_case(statistics.events as f64)),
            metric("case_duration_mean_s", "mean case duration", Unit::Seconds, duration.map(|d| d.mean)),
            metric("case_duration_median_s", "median case duration", Unit::Seconds, duration.map(|d| d.median)),
            metric("case_duration_p90_s", "90th percentile of case duration", Unit::Seconds, duration.map(|d| d.p90)),
            metric("case_duration_p95_s", "95th percentile of case duration", Unit::Seconds, duration.map(|d| d.p95)),
            metric("case_duration_max_s", "longest case duration", Unit::Seconds, duration.map(|d| d.max)),
            metric("arrival_interval_mean_s", "mean time between case arrivals", Unit::Seconds, arrival),
            metric("waiting_per_case_s", "waiting time per case", Unit::Seconds, waiting.and_then(per_timed_case)),
            metric(
                "processing_per_case_s",
                "processing time per case",
                Unit::Seconds,
                processing.and_then(per_timed_case),
            ),
            metric("elapsed_per_case_s", "unsplit time per case", Unit::Seconds, elapsed.and_then(per_timed_case)),
            metric(
                "repetitions_per_case",
                "repetitions per case",
                Unit::Number,
                if times.activities.is_empty() { None } else { per_timed_case(repetitions as f64) },
            ),
        ];
        Figures { metrics, times }
    }
}

/// An activity's figures on one side (all `None` where it does not occur).
struct ActivityFigures {
    per_case: Option<f64>,
    mean_time_s: Option<f64>,
    share: Option<f64>,
}

fn activity_figures(times: &ActivityTimes, name: &str) -> ActivityFigures {
    let found = times.activities.iter().find(|a| a.activity == name);
    let cases = times.cases as f64;
    ActivityFigures {
        per_case: Some(found.map_or(0.0, |a| a.occurrences as f64) / cases).filter(|_| cases > 0.0),
        mean_time_s: found.filter(|a| a.occurrences > 0).map(|a| a.total_s / a.occurrences as f64),
        share: found
            .filter(|_| times.cycle_time_total_s > 0.0)
            .map(|a| a.total_s / times.cycle_time_total_s)
            .or_else(|| (times.cycle_time_total_s > 0.0).then_some(0.0)),
    }
}

/// A value in its unit, as people read it.
fn show(unit: Unit, value: Option<f64>) -> String {
    match (unit, value) {
        (_, None) => "—".into(),
        (Unit::Seconds, Some(v)) => duration(v),
        (Unit::Share, Some(v)) => percent(v),
        (Unit::Number, Some(v)) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
        (Unit::Number, Some(v)) => format!("{v:.2}"),
    }
}

/// A relative change with its sign, `+12.5%`; `—` without one.
fn signed_percent(relative: Option<f64>) -> String {
    match relative {
        Some(r) if r >= 0.0 => format!("+{}", percent(r)),
        Some(r) => percent(r),
        None => "—".into(),
    }
}

/// The notable changes, as sentences: case-level figures by relative change, then the activities
/// whose mean time moved notably, by how much they moved the time per case.
fn findings(comparison: &Comparison) -> Vec<String> {
    let notable = |c: &Change| c.relative.filter(|r| r.abs() >= NOTABLE_CHANGE);
    let by_size = |a: &f64, b: &f64| b.abs().total_cmp(&a.abs());
    let (base, other) = (&comparison.base, &comparison.other);
    let mut metrics: Vec<(&MetricChange, f64)> =
        comparison.metrics.iter().filter_map(|m| notable(&m.values).map(|r| (m, r))).collect();
    metrics.sort_by(|a, b| by_size(&a.1, &b.1));
    let mut sentences: Vec<String> = metrics
        .iter()
        .take(METRIC_FINDINGS)
        .map(|(m, r)| {
            let verb = if *r > 0.0 { "rose" } else { "fell" };
            let name = capitalised(&m.name);
            format!(
                "{name} {verb} {} from {} ({base}) to {} ({other}).",
                percent(r.abs()),
                show(m.unit, m.values.base),
                show(m.unit, m.values.other)
            )
        })
        .collect();
    // Activities whose mean time moved notably, those that moved the time per case most first.
    let per_case_time = |a: &ActivityChange, side: fn(&Change) -> Option<f64>| {
        side(&a.per_case).unwrap_or(0.0) * side(&a.mean_time_s).unwrap_or(0.0)
    };
    let mut activities: Vec<(&ActivityChange, f64)> =
        comparison.activities.iter().filter_map(|a| notable(&a.mean_time_s).map(|r| (a, r))).collect();
    activities.sort_by(|(a, _), (b, _)| {
        let moved = |x: &ActivityChange| (per_case_time(x, |c| c.other) - per_case_time(x, |c| c.base)).abs();
        moved(b).total_cmp(&moved(a))
    });
    sentences.extend(activities.iter().take(ACTIVITY_FINDINGS).map(|(a, r)| {
        let verb = if *r > 0.0 { "longer" } else { "shorter" };
        format!(
            "{}: {} per occurrence against {} ({} {verb}), {} against {} occurrences per case.",
            a.activity,
            show(Unit::Seconds, a.mean_time_s.other),
            show(Unit::Seconds, a.mean_time_s.base),
            percent(r.abs()),
            show(Unit::Number, a.per_case.other),
            show(Unit::Number, a.per_case.base),
        )
    }));
    let appeared: Vec<&str> = comparison
        .activities
        .iter()
        .filter(|a| a.per_case.base == Some(0.0) && a.per_case.other.is_some_and(|v| v > 0.0))
        .map(|a| a.activity.as_str())
        .collect();
    if !appeared.is_empty() {
        sentences.push(format!("Only in {other}: {}.", appeared.join(", ")));
    }
    let gone: Vec<&str> = comparison
        .activities
        .iter()
        .filter(|a| a.per_case.other == Some(0.0) && a.per_case.base.is_some_and(|v| v > 0.0))
        .map(|a| a.activity.as_str())
        .collect();
    if !gone.is_empty() {
        sentences.push(format!("Only in {base}: {}.", gone.join(", ")));
    }
    if sentences.is_empty() {
        sentences.push(format!("No figure moved by {} or more.", percent(NOTABLE_CHANGE)));
    }
    sentences
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

impl Comparison {
    /// The comparison as text: the findings, then tables of the figures.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{} against {}\n", self.other, self.base);
        for finding in &self.findings {
            let _ = writeln!(out, "- {finding}");
        }
        out.push('\n');
        let rows: Vec<Vec<String>> = self
            .metrics
            .iter()
            .map(|m| {
                vec![
                    m.name.clone(),
                    show(m.unit, m.values.base),
                    show(m.unit, m.values.other),
                    signed_percent(m.values.relative),
                ]
            })
            .collect();
        out.push_str(&table(&["figure", &self.base, &self.other, "change"], &rows));
        out.push('\n');
        let rows: Vec<Vec<String>> = self
            .activities
            .iter()
            .map(|a| {
                vec![
                    a.activity.clone(),
                    show(Unit::Number, a.per_case.base),
                    show(Unit::Number, a.per_case.other),
                    show(Unit::Seconds, a.mean_time_s.base),
                    show(Unit::Seconds, a.mean_time_s.other),
                    signed_percent(a.mean_time_s.relative),
                ]
            })
            .collect();
        let _ = writeln!(out, "per activity (A: {}, B: {}):", self.base, self.other);
        out.push_str(&table(&["activity", "per case A", "per case B", "mean time A", "mean time B", "change"], &rows));
        out
    }
}
