//! The bottleneck report: which activities and transitions the cycle time goes to, how much of
//! an activity's time is waiting rather than work, whether its queue is growing, and each finding
//! as a sentence built from the numbers.
//!
//! # Definitions
//!
//! - **Share of cycle time**: an activity's waiting, processing and elapsed time over all its
//!   completed items (see `times` for what those are for each kind of data), divided by the sum
//!   of the cases' cycle times; a transition's share is its total gap (the directly-follows
//!   edge's gaps summed) over the same sum. Where a case's items do not overlap, the activities'
//!   shares add up to 1; parallel work counts for each item, so they can add up to more.
//!   With a cycle time of 0 in all (single-event cases) every share is 0.
//! - **Of which waiting**: the activity's waiting time over its total time.
//! - **Queue**: an activity's items that have become ready and not yet completed (waiting or in
//!   progress). Per period, `arrived` counts the items that became ready in it, `completed` those
//!   that completed in it (for the engine's tasks, cancellations count too: the task left the
//!   queue), and `open_at_end` those that arrived before the period's end and did not complete
//!   before it — the running sum of arrivals minus completions. The queue is empty before the
//!   first period (the selection's first arrival).
//! - **Periods**: days, weeks (Monday to Monday), calendar months, quarters or years (UTC), the
//!   shortest of them that covers the cases' time range (their first event to their last
//!   completion) in at most 31 days, 26 weeks, 36 months or 36 quarters (years otherwise); a
//!   queue's periods run from that of the first arrival to that of the last arrival, of any
//!   activity. Completions after that are left out: there queues only drain (a log of finished
//!   cases ends with every queue empty), which would hide what they did while work arrived.
//! - **Trend**: over the most recent quarter of the periods (rounded up, at least one), the queue
//!   is *growing* when more items arrived than completed — its open count at the end of the last
//!   period is above that at the start of the window —, *shrinking* when fewer arrived than
//!   completed, and *steady* when as many.
//! - **Ranking**: activities by share (descending), then name; transitions likewise, then source
//!   and target.
//! - **Follow-up work**: activities done after the case has its outcome — the engine's steps
//!   that their playbook marks `follow_up` (a post-mortem, a survey) — are labelled so in their
//!   sentences, and they and the transitions to or from them are never among the top findings
//!   nor the headline: they take cycle time but do not delay the outcome.
//! - **Findings**, in order: how long cases took on average (with waiting's share of the
//!   activities' time — waiting, processing and elapsed —, where the data has start times, and
//!   follow-up work's share of the cycle time); the sentences of the [`TOP_ACTIVITIES`]
//!   activities with the largest shares (above 0) that are not follow-up work; that of the
//!   transition with the largest such share; then those of the other activities whose queue is
//!   growing, the largest growth (arrivals minus completions) first, then by name, at most
//!   [`MORE_GROWING_QUEUES`]. The **headline** is the first activity's sentence (else the
//!   transition's).
//!
//! Percentages in sentences are whole (half away from zero; below 0.5% but above 0, `<1%`);
//! durations are written as [`crate::text::duration`] writes them.

use crate::filter::quote;
use crate::text::{duration, gap, percent, plural, table, whole_percent};
use crate::times::{ActivityTime, CaseFigures, ItemGroup, TransitionTime, cases_and_items, times};
use crate::{Events, ReportError};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// How many of the activities with the largest shares the findings describe.
pub const TOP_ACTIVITIES: usize = 3;
/// How many more activities with a growing queue the findings name, beyond the top ones.
pub const MORE_GROWING_QUEUES: usize = 2;
/// Rows of the transitions table shown as text; the rest are counted.
const TRANSITIONS_SHOWN: usize = 10;

/// Where a filter's cycle time goes, ranked.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BottleneckReport {
    /// Cases with at least one completed item.
    pub cases: u64,
    /// The sum of the cases' cycle times, in seconds (the denominator of the shares).
    pub cycle_time_total_s: f64,
    /// The mean cycle time, in seconds; `None` without cases.
    pub cycle_time_mean_s: Option<f64>,
    /// Whether some of the time splits into waiting and processing (the data has start times).
    pub split: bool,
    /// The length of the queues' periods.
    pub period: QueuePeriod,
    /// Every activity, by share (descending), then name.
    pub activities: Vec<ActivityBottleneck>,
    /// Every transition, by share (descending), then source and target.
    pub transitions: Vec<TransitionBottleneck>,
    /// The main findings as sentences (see the module docs).
    pub findings: Vec<String>,
    /// The one finding to lead with: the sentence of the activity with the largest share that
    /// delays the outcome (not follow-up work), else that of the largest such transition.
    pub headline: Option<String>,
}

/// One activity in the bottleneck report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityBottleneck {
    #[serde(flatten)]
    pub times: ActivityTime,
    /// `total_s` over the cycle time of all cases.
    pub share: f64,
    /// Waiting time over `total_s`; `None` when no occurrence has a start time (or none completed).
    pub waiting_share: Option<f64>,
    /// Its queue per period and its trend.
    pub queue: Queue,
    /// Whether it is follow-up work, done after the case has its outcome (a step the playbook
    /// marks `follow_up`): it does not delay the outcome and is no headline.
    pub follow_up: bool,
    /// The finding, as a sentence.
    pub sentence: String,
}

/// One transition in the bottleneck report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransitionBottleneck {
    #[serde(flatten)]
    pub times: TransitionTime,
    /// `total_s` over the cycle time of all cases.
    pub share: f64,
    /// Whether it leads to or from follow-up work (see [`ActivityBottleneck::follow_up`]).
    pub follow_up: bool,
    /// The finding, as a sentence.
    pub sentence: String,
}

/// The length of a queue's periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum QueuePeriod {
    /// UTC days.
    Day,
    /// Weeks from Monday 00:00 UTC.
    Week,
    /// Calendar months, UTC.
    Month,
    /// Calendar quarters (January, April, July, October), UTC.
    Quarter,
    /// Calendar years, UTC.
    Year,
}

/// An activity's queue: items ready and not completed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Queue {
    /// Every period of the report's range, in time order (the same for every activity).
    pub periods: Vec<QueueCounts>,
    /// Open at the end of the range (the last period's end).
    pub open_at_end: u64,
    /// The most open at the end of any period.
    pub peak: u64,
    /// The start of the first period at whose end the queue peaked; `None` without periods.
    pub peak_period: Option<DateTime<Utc>>,
    /// Arrivals against completions over the most recent periods; `None` without periods.
    pub trend: Option<QueueTrend>,
}

/// A queue in one period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueCounts {
    /// When the period starts.
    pub start: DateTime<Utc>,
    /// Items that became ready in the period.
    pub arrived: u64,
    /// Items that completed (or were cancelled) in the period.
    pub completed: u64,
    /// Items open at the period's end.
    pub open_at_end: u64,
}

/// Where a queue went over the most recent periods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueTrend {
    pub direction: QueueDirection,
    /// The start of the window's first period.
    pub from: DateTime<Utc>,
    /// How many periods the window has.
    pub periods: usize,
    /// Open at the window's start (the end of the period before it; 0 at the range's start).
    pub open_before: u64,
    /// Open at the window's end (the range's end).
    pub open_after: u64,
    /// Items that arrived in the window.
    pub arrived: u64,
    /// Items that completed in the window.
    pub completed: u64,
}

/// Whether a queue grew.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum QueueDirection {
    /// More items arrived than completed.
    Growing,
    /// As many arrived as completed.
    Steady,
    /// Fewer items arrived than completed.
    Shrinking,
}

const DAY_MICROS: i64 = 86_400_000_000;
const WEEK_MICROS: i64 = 7 * DAY_MICROS;
/// Monday 1970-01-05, a week boundary, in microseconds.
const WEEK_ORIGIN: i64 = 4 * DAY_MICROS;

impl QueuePeriod {
    /// Every period, shortest first.
    pub const ALL: [QueuePeriod; 5] =
        [QueuePeriod::Day, QueuePeriod::Week, QueuePeriod::Month, QueuePeriod::Quarter, QueuePeriod::Year];

    /// The name, as the CLI and URLs write it.
    pub fn as_str(self) -> &'static str {
        match self {
            QueuePeriod::Day => "day",
            QueuePeriod::Week => "week",
            QueuePeriod::Month => "month",
            QueuePeriod::Quarter => "quarter",
            QueuePeriod::Year => "year",
        }
    }

    /// The period for a time range in microseconds: the shortest that covers it in at most 31
    /// days, 26 weeks, 36 months or 36 quarters; years otherwise.
    pub fn for_range(first_micros: i64, last_micros: i64) -> QueuePeriod {
        let fits = |period: QueuePeriod, most: i64| period.bin(last_micros) - period.bin(first_micros) < most;
        [(QueuePeriod::Day, 31), (QueuePeriod::Week, 26), (QueuePeriod::Month, 36), (QueuePeriod::Quarter, 36)]
            .into_iter()
            .find(|&(period, most)| fits(period, most))
            .map_or(QueuePeriod::Year, |(period, _)| period)
    }

    /// [`Self::for_range`] of a range that may be empty (days when nothing lies in it).
    pub(crate) fn covering(range: Option<(i64, i64)>) -> QueuePeriod {
        range.map_or(QueuePeriod::Day, |(first, last)| QueuePeriod::for_range(first, last))
    }

    /// The months a calendar period spans; `None` for days and weeks.
    fn months(self) -> Option<i64> {
        match self {
            QueuePeriod::Day | QueuePeriod::Week => None,
            QueuePeriod::Month => Some(1),
            QueuePeriod::Quarter => Some(3),
            QueuePeriod::Year => Some(12),
        }
    }

    /// The number of the period of an instant, in microseconds: periods since the one starting at
    /// the epoch (days, months, quarters, years) or at Monday 1970-01-05 (weeks).
    pub(crate) fn bin(self, micros: i64) -> i64 {
        match self.months() {
            None if self == QueuePeriod::Day => micros.div_euclid(DAY_MICROS),
            None => (micros - WEEK_ORIGIN).div_euclid(WEEK_MICROS),
            Some(months) => {
                let t = DateTime::from_timestamp_micros(micros).unwrap_or_default();
                (i64::from(t.year() - 1970) * 12 + i64::from(t.month0())).div_euclid(months)
            }
        }
    }

    /// When period number `bin` starts.
    pub(crate) fn start(self, bin: i64) -> Option<DateTime<Utc>> {
        match self.months() {
            None if self == QueuePeriod::Day => bin.checked_mul(DAY_MICROS).and_then(DateTime::from_timestamp_micros),
            None => bin
                .checked_mul(WEEK_MICROS)
                .and_then(|m| m.checked_add(WEEK_ORIGIN))
                .and_then(DateTime::from_timestamp_micros),
            Some(months) => {
                let index = bin.checked_mul(months)?;
                let year = i32::try_from(index.div_euclid(12) + 1970).ok()?;
                let month = u32::try_from(index.rem_euclid(12) + 1).ok()?;
                Some(NaiveDate::from_ymd_opt(year, month, 1)?.and_hms_opt(0, 0, 0)?.and_utc())
            }
        }
    }

    /// A calendar period's name: `March 2026`, `Q1 2026`, `2026`; without the year with `short`.
    fn name(self, start: DateTime<Utc>, short: bool) -> String {
        let year = if short { String::new() } else { format!(" {}", start.year()) };
        match self {
            QueuePeriod::Quarter => format!("Q{}{year}", start.month0() / 3 + 1),
            QueuePeriod::Year => start.year().to_string(),
            _ => format!("{}{year}", start.format("%B")),
        }
    }

    /// The `periods` periods from `from`, as a sentence says when something happened: `on
    /// 2 March 2026`, `in the 3 days from 2 March 2026`, `in the week of 2 March 2026`, `in the 3
    /// weeks from 2 March 2026`, `in March 2026`, `from January to March 2026`, `in Q1 2026`,
    /// `from Q4 2025 to Q1 2026`, `in 2026`, `from 2024 to 2026`.
    fn during(self, from: DateTime<Utc>, periods: usize) -> String {
        let day = from.format("%-d %B %Y");
        match (self, periods) {
            (QueuePeriod::Day, 1) => format!("on {day}"),
            (QueuePeriod::Day, n) => format!("in the {n} days from {day}"),
            (QueuePeriod::Week, 1) => format!("in the week of {day}"),
            (QueuePeriod::Week, n) => format!("in the {n} weeks from {day}"),
            (_, 1) => format!("in {}", self.name(from, false)),
            (_, n) => {
                let last = i64::try_from(n - 1).ok().and_then(|n| self.start(self.bin(from.timestamp_micros()) + n));
                let Some(last) = last else {
                    return format!("in the {n} {}s from {}", self.as_str(), self.name(from, false));
                };
                let short = self != QueuePeriod::Year && last.year() == from.year();
                format!("from {} to {}", self.name(from, short), self.name(last, false))
            }
        }
    }
}

impl std::str::FromStr for QueuePeriod {
    type Err = ReportError;

    /// `day`, `week`, `month`, `quarter` or `year`.
    fn from_str(name: &str) -> Result<QueuePeriod, ReportError> {
        QueuePeriod::ALL.into_iter().find(|p| p.as_str() == name).ok_or_else(|| {
            ReportError::InvalidFilter(format!("no period `{name}`: use day, week, month, quarter or year"))
        })
    }
}

/// The bottleneck report, with queues per day, week, month, quarter or year as the selected
/// cases' time range suggests (see the module docs).
///
/// Queries: those of [`crate::activity_times`] — the outline, the cases (their cycle times and
/// time range, from which the period is chosen) and the work items. Shares, queues, rankings and
/// sentences are derived from the items' groups in Rust.
pub async fn bottlenecks(events: &Events<'_>) -> Result<BottleneckReport, ReportError> {
    let follow_up = follow_up_activities(events).await?;
    let (cases, items) = cases_and_items(events).await?;
    let period = QueuePeriod::covering(cases.first_t.zip(cases.last_t));
    report(&cases, &ItemGroup::of(&items, Some(period)), period, &follow_up)
}

/// The bottleneck report with queues per `period` (queries as [`bottlenecks`]).
pub async fn bottlenecks_per(events: &Events<'_>, period: QueuePeriod) -> Result<BottleneckReport, ReportError> {
    let follow_up = follow_up_activities(events).await?;
    let (cases, items) = cases_and_items(events).await?;
    report(&cases, &ItemGroup::of(&items, Some(period)), period, &follow_up)
}

/// The activities that are follow-up work: for the engine's events, the names of the steps that
/// the definitions of the filter's playbook versions in scope mark `follow_up`; none for imported
/// logs (they have no steps to mark).
async fn follow_up_activities(events: &Events<'_>) -> Result<BTreeSet<String>, ReportError> {
    let filter = events.filter();
    if !filter.is_engine() {
        return Ok(BTreeSet::new());
    }
    let mut predicate = vec![r#"definition LIKE '%"follow_up"%'"#.to_string()];
    predicate.extend(filter.playbook_id().map(|id| format!("playbook_id = {}", quote(id))));
    predicate.extend(filter.version_id().map(|id| format!("id = {}", quote(id))));
    let sql = format!("SELECT definition FROM playbook_versions WHERE {}", predicate.join(" AND "));
    let mut names = BTreeSet::new();
    for text in events.run(&sql).await?.strings("definition")? {
        let Ok(definition) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
        for step in definition["steps"].as_array().into_iter().flatten() {
            if step["follow_up"] == true
                && let Some(name) = step["name"].as_str()
            {
                names.insert(name.to_string());
            }
        }
    }
    Ok(names)
}

/// Every activity's queue, on the periods from the first arrival to the last arrival of any
/// activity.
fn queues(groups: &[ItemGroup], period: QueuePeriod) -> Result<BTreeMap<String, Queue>, ReportError> {
    // Per activity and period: arrivals, completions.
    let mut moves: BTreeMap<&str, BTreeMap<i64, (u64, u64)>> = BTreeMap::new();
    for group in groups {
        let activity = moves.entry(&group.activity).or_default();
        if let Some(bin) = group.ready_bin {
            activity.entry(bin).or_default().0 += group.items;
        }
        // Open items have no completion period.
        if let Some(bin) = group.gone_bin {
            activity.entry(bin).or_default().1 += group.items;
        }
    }
    let arrivals: Vec<i64> =
        moves.values().flat_map(|m| m.iter().filter(|(_, (arrived, _))| *arrived > 0).map(|(bin, _)| *bin)).collect();
    let (Some(&first), Some(&last)) = (arrivals.iter().min(), arrivals.iter().max()) else {
        return Ok(BTreeMap::new());
    };
    let starts = (first..=last)
        .map(|bin| period.start(bin).ok_or_else(|| ReportError::Shape(format!("period {bin} is out of range"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(moves
        .into_iter()
        .map(|(activity, moves)| {
            let mut open = 0u64;
            let periods: Vec<QueueCounts> = (first..=last)
                .zip(&starts)
                .map(|(bin, &start)| {
                    let (arrived, completed) = moves.get(&bin).copied().unwrap_or_default();
                    open = (open + arrived).saturating_sub(completed);
                    QueueCounts { start, arrived, completed, open_at_end: open }
                })
                .collect();
            (activity.to_string(), summarise_queue(periods))
        })
        .collect())
}

/// A queue's summary and trend from its periods.
fn summarise_queue(periods: Vec<QueueCounts>) -> Queue {
    let n = periods.len();
    let open_at_end = periods.last().map_or(0, |p| p.open_at_end);
    let peak = periods.iter().map(|p| p.open_at_end).max().unwrap_or(0);
    let peak_period = periods.iter().find(|p| p.open_at_end == peak).map(|p| p.start);
    let trend = (n > 0).then(|| {
        let window = n.div_ceil(4);
        let recent = &periods[n - window..];
        let (arrived, completed) = recent.iter().fold((0, 0), |(a, c), p| (a + p.arrived, c + p.completed));
        let direction = match arrived.cmp(&completed) {
            std::cmp::Ordering::Greater => QueueDirection::Growing,
            std::cmp::Ordering::Equal => QueueDirection::Steady,
            std::cmp::Ordering::Less => QueueDirection::Shrinking,
        };
        QueueTrend {
            direction,
            from: recent[0].start,
            periods: window,
            open_before: if n > window { periods[n - window - 1].open_at_end } else { 0 },
            open_after: open_at_end,
            arrived,
            completed,
        }
    });
    Queue { periods, open_at_end, peak, peak_period, trend }
}

/// The report from the cases' and the items' figures.
fn report(
    cases: &CaseFigures,
    groups: &[ItemGroup],
    period: QueuePeriod,
    follow_up: &BTreeSet<String>,
) -> Result<BottleneckReport, ReportError> {
    Ok(assemble(times(cases, groups), queues(groups, period)?, period, follow_up))
}

/// The report from the activities' times and queues.
fn assemble(
    times: crate::ActivityTimes,
    mut queues: BTreeMap<String, Queue>,
    period: QueuePeriod,
    follow_up: &BTreeSet<String>,
) -> BottleneckReport {
    let total = times.cycle_time_total_s;
    let share = |seconds: f64| if total > 0.0 { seconds / total } else { 0.0 };
    let axis: Vec<QueueCounts> = queues
        .values()
        .next()
        .map(|q| {
            q.periods.iter().map(|p| QueueCounts { arrived: 0, completed: 0, open_at_end: 0, ..p.clone() }).collect()
        })
        .unwrap_or_default();
    // Activities with open items only (the engine's) have a queue but no times yet.
    let mut all_times = times.activities;
    let known: BTreeSet<String> = all_times.iter().map(|a| a.activity.clone()).collect();
    for activity in queues.keys().filter(|a| !known.contains(*a)) {
        all_times.push(ActivityTime {
            activity: activity.clone(),
            occurrences: 0,
            cases: 0,
            rework_cases: 0,
            self_loops: 0,
            split_occurrences: 0,
            waiting: None,
            processing: None,
            elapsed: None,
            total_s: 0.0,
        });
    }
    let mut activities: Vec<ActivityBottleneck> = all_times
        .into_iter()
        .map(|times| {
            let queue = queues.remove(&times.activity).unwrap_or_else(|| summarise_queue(axis.clone()));
            let waiting_share = times.waiting.filter(|_| times.total_s > 0.0).map(|w| w.total_s / times.total_s);
            let mut activity = ActivityBottleneck {
                share: share(times.total_s),
                waiting_share,
                follow_up: follow_up.contains(&times.activity),
                times,
                queue,
                sentence: String::new(),
            };
            activity.sentence = activity_sentence(&activity, period);
            activity
        })
        .collect();
    activities.sort_by(|a, b| b.share.total_cmp(&a.share).then_with(|| a.times.activity.cmp(&b.times.activity)));
    let mut transitions: Vec<TransitionBottleneck> = times
        .transitions
        .into_iter()
        .map(|times| {
            let share = share(times.total_s);
            let follow_up = follow_up.contains(&times.from) || follow_up.contains(&times.to);
            TransitionBottleneck { sentence: transition_sentence(&times, share), times, share, follow_up }
        })
        .collect();
    transitions.sort_by(|a, b| {
        b.share.total_cmp(&a.share).then_with(|| (&a.times.from, &a.times.to).cmp(&(&b.times.from, &b.times.to)))
    });
    let waiting_s: f64 = activities.iter().filter_map(|a| a.times.waiting.map(|w| w.total_s)).sum();
    let split = activities.iter().any(|a| a.times.split_occurrences > 0);
    let cycle_time_mean_s = (times.cases > 0).then(|| total / times.cases as f64);
    let mut findings = Vec::new();
    if let Some(mean) = cycle_time_mean_s {
        let cases = plural(times.cases, "case", "cases");
        let mut headline = format!("{cases} took {} on average", duration(mean));
        let activities_s: f64 = activities.iter().map(|a| a.times.total_s).sum();
        if split && activities_s > 0.0 {
            let _ =
                write!(headline, "; waiting was {} of the activities' time", whole_percent(waiting_s / activities_s));
        }
        let after: Vec<&ActivityBottleneck> = activities.iter().filter(|a| a.follow_up && a.share > 0.0).collect();
        if !after.is_empty() {
            let names: Vec<&str> = after.iter().map(|a| a.times.activity.as_str()).collect();
            let _ = write!(
                headline,
                "; follow-up work after the outcome ({}) was {} of the cycle time",
                names.join(", "),
                whole_percent(after.iter().map(|a| a.share).sum())
            );
        }
        headline.push('.');
        findings.push(headline);
    }
    let delaying = |a: &&ActivityBottleneck| !a.follow_up && a.share > 0.0;
    let top: Vec<&ActivityBottleneck> = activities.iter().filter(delaying).take(TOP_ACTIVITIES).collect();
    findings.extend(top.iter().map(|a| a.sentence.clone()));
    let top_transition = transitions.iter().find(|t| !t.follow_up && t.share > 0.0);
    findings.extend(top_transition.map(|t| t.sentence.clone()));
    let headline = top.first().map(|a| a.sentence.clone()).or_else(|| top_transition.map(|t| t.sentence.clone()));
    let mut growing: Vec<&ActivityBottleneck> = activities
        .iter()
        .filter(|a| !top.iter().any(|t| t.times.activity == a.times.activity))
        .filter(|a| a.queue.trend.as_ref().is_some_and(|t| t.direction == QueueDirection::Growing))
        .collect();
    let growth = |a: &ActivityBottleneck| a.queue.trend.as_ref().map_or(0, |t| t.arrived - t.completed);
    growing.sort_by(|a, b| growth(b).cmp(&growth(a)).then_with(|| a.times.activity.cmp(&b.times.activity)));
    findings.extend(growing.into_iter().take(MORE_GROWING_QUEUES).map(|a| a.sentence.clone()));
    BottleneckReport {
        headline,
        cases: times.cases,
        cycle_time_total_s: total,
        cycle_time_mean_s,
        split,
        period,
        activities,
        transitions,
        findings,
    }
}

/// "Legal review: 41% of cycle time, of which 88% waiting; its queue grew from 12 to 57 open
/// tasks in March 2026."
fn activity_sentence(activity: &ActivityBottleneck, period: QueuePeriod) -> String {
    let times = &activity.times;
    let after = if activity.follow_up { " (follow-up work, after the outcome)" } else { "" };
    let mut sentence = format!("{}{after}: ", times.activity);
    if times.occurrences == 0 {
        sentence.push_str("nothing completed yet");
    } else {
        let _ = write!(sentence, "{} of cycle time", whole_percent(activity.share));
        let of_total = |seconds: f64| if times.total_s > 0.0 { seconds / times.total_s } else { 0.0 };
        match (&times.waiting, &times.elapsed) {
            (Some(waiting), None) => {
                let _ = write!(sentence, ", of which {} waiting", whole_percent(of_total(waiting.total_s)));
            }
            (Some(waiting), Some(elapsed)) => {
                let _ = write!(
                    sentence,
                    ", of which {} waiting and {} not split into waiting and working (no start time)",
                    whole_percent(of_total(waiting.total_s)),
                    whole_percent(of_total(elapsed.total_s))
                );
            }
            (None, _) => sentence.push_str(" (not split into waiting and working: no start times)"),
        }
    }
    if let Some(trend) = &activity.queue.trend {
        let open = |n: u64| plural(n, "open task", "open tasks");
        let when = period.during(trend.from, trend.periods);
        let _ = match trend.direction {
            QueueDirection::Growing => {
                write!(sentence, "; its queue grew from {} to {} {when}", trend.open_before, open(trend.open_after))
            }
            QueueDirection::Shrinking => {
                write!(sentence, "; its queue shrank from {} to {} {when}", trend.open_before, open(trend.open_after))
            }
            QueueDirection::Steady => write!(sentence, "; its queue held at {} {when}", open(trend.open_after)),
        };
    }
    sentence.push('.');
    sentence
}

/// "Review → Approve: 25% of cycle time passes between them, 1h 00m on average over 3 hand-offs."
/// Where the next activity began before the first ended on average (overlapping work), it says
/// so: "Triage → Notify customers: they overlap by 2h 19m on average over 3 hand-offs."
fn transition_sentence(transition: &TransitionTime, share: f64) -> String {
    let (from, to, hand_offs) =
        (&transition.from, &transition.to, plural(transition.frequency, "hand-off", "hand-offs"));
    if transition.mean_s < 0.0 {
        return format!("{from} → {to}: they overlap by {} on average over {hand_offs}.", duration(-transition.mean_s));
    }
    format!(
        "{from} → {to}: {} of cycle time passes between them, {} on average over {hand_offs}.",
        whole_percent(share),
        duration(transition.mean_s),
    )
}

impl BottleneckReport {
    /// The report as text for people: a summary line, the activities and the busiest transitions
    /// as aligned tables, then the findings.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let Some(mean) = self.cycle_time_mean_s else {
            out.push_str("No completed activities in the selection.\n");
            return out;
        };
        let _ = writeln!(
            out,
            "{}, {} of cycle time in all, {} per case on average; queues per {}\n",
            plural(self.cases, "case", "cases"),
            duration(self.cycle_time_total_s),
            duration(mean),
            self.period.as_str()
        );
        let optional = |value: Option<f64>, show: fn(f64) -> String| value.map_or_else(|| "—".to_string(), show);
        let rows: Vec<Vec<String>> = self
            .activities
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let t = &a.times;
                vec![
                    (i + 1).to_string(),
                    t.activity.clone(),
                    percent(a.share),
                    optional(a.waiting_share, percent),
                    optional(t.waiting.map(|s| s.mean_s), duration),
                    optional(t.processing.map(|s| s.mean_s), duration),
                    optional(t.elapsed.map(|s| s.mean_s), duration),
                    t.occurrences.to_string(),
                    t.rework_cases.to_string(),
                    queue_cell(&a.queue),
                ]
            })
            .collect();
        out.push_str(&table(
            &[
                "#",
                "activity",
                "share",
                "waiting",
                "mean wait",
                "mean work",
                "mean not split",
                "occurrences",
                "rework cases",
                "queue (recent)",
            ],
            &rows,
        ));
        if !self.transitions.is_empty() {
            out.push('\n');
            let rows: Vec<Vec<String>> = self
                .transitions
                .iter()
                .take(TRANSITIONS_SHOWN)
                .enumerate()
                .map(|(i, t)| {
                    vec![
                        (i + 1).to_string(),
                        t.times.from.clone(),
                        t.times.to.clone(),
                        percent(t.share),
                        gap(t.times.mean_s),
                        t.times.frequency.to_string(),
                    ]
                })
                .collect();
            out.push_str(&table(&["#", "from", "to", "share", "mean gap", "frequency"], &rows));
            if self.transitions.len() > TRANSITIONS_SHOWN {
                let _ = writeln!(out, "… and {} more transitions", self.transitions.len() - TRANSITIONS_SHOWN);
            }
        }
        if !self.split {
            out.push_str("\nThe data has no start times: each activity's time is the time since the previous event.\n");
        }
        out.push_str("\nFindings:\n");
        for finding in &self.findings {
            let _ = writeln!(out, "- {finding}");
        }
        out
    }
}

impl std::fmt::Display for BottleneckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// A queue's recent change: `12 → 57 growing`.
fn queue_cell(queue: &Queue) -> String {
    match &queue.trend {
        Some(trend) => {
            let direction = match trend.direction {
                QueueDirection::Growing => "growing",
                QueueDirection::Steady => "steady",
                QueueDirection::Shrinking => "shrinking",
            };
            format!("{} → {} {direction}", trend.open_before, trend.open_after)
        }
        None => "—".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{QueuePeriod, whole_percent};
    use chrono::{DateTime, Utc};

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn the_period_fits_the_range_in_a_few_dozen() {
        let period =
            |from: &str, to: &str| QueuePeriod::for_range(at(from).timestamp_micros(), at(to).timestamp_micros());
        assert_eq!(period("2024-01-01T00:00:00Z", "2024-01-31T23:59:59Z"), QueuePeriod::Day);
        assert_eq!(period("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"), QueuePeriod::Week);
        // 26 weeks from Monday 1 January 2024; a 27th starts on 1 July.
        assert_eq!(period("2024-01-01T00:00:00Z", "2024-06-30T23:59:59Z"), QueuePeriod::Week);
        assert_eq!(period("2024-01-01T00:00:00Z", "2024-07-01T00:00:00Z"), QueuePeriod::Month);
        assert_eq!(period("2024-01-01T00:00:00Z", "2026-12-31T00:00:00Z"), QueuePeriod::Month);
        assert_eq!(period("2024-01-01T00:00:00Z", "2027-01-01T00:00:00Z"), QueuePeriod::Quarter);
        assert_eq!(period("2024-01-01T00:00:00Z", "2032-12-31T00:00:00Z"), QueuePeriod::Quarter);
        assert_eq!(period("2024-01-01T00:00:00Z", "2033-01-01T00:00:00Z"), QueuePeriod::Year);
        assert_eq!("quarter".parse::<QueuePeriod>().unwrap(), QueuePeriod::Quarter);
        assert!("fortnight".parse::<QueuePeriod>().is_err());
    }

    #[test]
    fn periods_start_where_their_numbers_say() {
        let cases = [
            (QueuePeriod::Day, "2024-03-05T17:00:00Z", "2024-03-05T00:00:00Z"),
            (QueuePeriod::Week, "2024-03-10T23:59:59Z", "2024-03-04T00:00:00Z"),
            (QueuePeriod::Month, "2024-03-31T23:59:59Z", "2024-03-01T00:00:00Z"),
            (QueuePeriod::Quarter, "2024-06-30T12:00:00Z", "2024-04-01T00:00:00Z"),
            (QueuePeriod::Year, "2024-12-31T12:00:00Z", "2024-01-01T00:00:00Z"),
            // Before the epoch, periods still start where they should.
            (QueuePeriod::Week, "1969-12-31T12:00:00Z", "1969-12-29T00:00:00Z"),
            (QueuePeriod::Quarter, "1969-11-15T00:00:00Z", "1969-10-01T00:00:00Z"),
        ];
        for (period, instant, start) in cases {
            assert_eq!(
                period.start(period.bin(at(instant).timestamp_micros())),
                Some(at(start)),
                "{period:?} {instant}"
            );
        }
    }

    #[test]
    fn sentences_say_when_in_words() {
        let cases = [
            (QueuePeriod::Day, "2026-03-02T00:00:00Z", 1, "on 2 March 2026"),
            (QueuePeriod::Day, "2026-03-02T00:00:00Z", 3, "in the 3 days from 2 March 2026"),
            (QueuePeriod::Week, "2026-03-02T00:00:00Z", 1, "in the week of 2 March 2026"),
            (QueuePeriod::Week, "2026-03-02T00:00:00Z", 4, "in the 4 weeks from 2 March 2026"),
            (QueuePeriod::Month, "2026-03-01T00:00:00Z", 1, "in March 2026"),
            (QueuePeriod::Month, "2026-01-01T00:00:00Z", 3, "from January to March 2026"),
            (QueuePeriod::Month, "2025-12-01T00:00:00Z", 3, "from December 2025 to February 2026"),
            (QueuePeriod::Quarter, "2026-01-01T00:00:00Z", 1, "in Q1 2026"),
            (QueuePeriod::Quarter, "2026-01-01T00:00:00Z", 3, "from Q1 to Q3 2026"),
            (QueuePeriod::Quarter, "2025-10-01T00:00:00Z", 2, "from Q4 2025 to Q1 2026"),
            (QueuePeriod::Year, "2026-01-01T00:00:00Z", 1, "in 2026"),
            (QueuePeriod::Year, "2024-01-01T00:00:00Z", 3, "from 2024 to 2026"),
        ];
        for (period, from, periods, text) in cases {
            assert_eq!(period.during(at(from), periods), text);
        }
    }

    #[test]
    fn percentages_are_whole() {
        let cases =
            [(0.41, "41%"), (0.886, "89%"), (0.125, "13%"), (0.004, "<1%"), (0.0, "0%"), (1.2, "120%"), (-0.03, "-3%")];
        for (share, text) in cases {
            assert_eq!(whole_percent(share), text, "{share}");
        }
    }
}
