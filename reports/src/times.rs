//! Activity-level times: how long each activity's occurrences waited (ready → started) and were
//! worked on (started → completed), or — where the data has no start times — how long they took
//! since the case's previous event; rework and self-loops; and the time between directly
//! following activities (transitions).
//!
//! # Work items
//!
//! Everything here is computed over *work items*: one per occurrence of an activity in a case,
//! each with the times it became **ready**, **started** and **completed**. How those are known
//! depends on the data:
//!
//! | data | work item | ready | started | completed |
//! |---|---|---|---|---|
//! | the engine's events (source `orgata`) | a task (`task_id`) | its `schedule` event | its `start` event | its `complete` event |
//! | an imported interval log (`start_ts`) | an event | the completion of the case's previous item (PM4Py's convention), but never after the start | `start_ts` | `ts` |
//! | an imported log with `start`/`complete` events | a `complete` event | as for interval logs | the `start` event it pairs with | `ts` |
//! | an imported atomic log (completions only) | an event | the completion of the case's previous event | unknown | `ts` |
//!
//! - **Waiting** is started − ready, **processing** (service time) completed − started. An item
//!   with a start time is *split* into the two. For imported logs waiting is never negative: when
//!   an item starts before the case's previous item completed (parallel work), it waited 0.
//! - An item without a start time is *not split*: its **elapsed** time, completed − ready, is the
//!   time since the case's previous event (the incoming directly-follows edge's gap). Atomic logs
//!   only have elapsed times; an imported log mixing items with and without start times has both.
//! - Pairing `start` with `complete` events (imported logs that mix lifecycle transitions): a
//!   `complete` event pairs with the event of the same activity in the case just before it (in
//!   time, ties in file order) when that one is a `start`; a `complete` without one is not split.
//!   As elsewhere in the reports, only `complete` events are items where lifecycles are mixed.
//! - The engine's tasks: a task completed without a `start` event is taken as started when it
//!   completed (processing 0, its whole ready → completed time waiting), as the engine itself
//!   records it; a task whose `schedule` event lies outside the selected time range is ready when
//!   it started. Tasks not completed yet (open, or cancelled: `ate_abort`) have no times; they
//!   count only in the queues of the bottleneck report.
//! - Items of a case are ordered by start time (completion time where there is none), then
//!   completion time, then file order — the directly-follows graph's order (`dfg`), so a
//!   transition's gap is the graph's: the next item's start (else completion) minus this one's
//!   completion.
//!
//! # Cycle time
//!
//! A case's cycle time runs from its first event (a `start` or a completion; interval logs: the
//! earliest start) to its last completion; for the engine's tasks, from the earliest `schedule`
//! of its completed tasks to its last completion. Only cases with a completed item count. For
//! atomic logs the elapsed times of a case add up to exactly its cycle time (last minus first
//! event). Where items do not overlap they do for every kind of data: waiting + processing +
//! elapsed over a case's items is its cycle time. Overlapping (parallel) work counts for each
//! item, so the sum can exceed it.
//!
//! # Queries
//!
//! 1. The events' outline ([`Events::select`], one scan shared with the rest of the report):
//!    whether an imported log's events mix lifecycle transitions (then `start` events need
//!    pairing).
//! 2. The cases: for the engine's tasks and logs that mix lifecycle transitions, a hash
//!    aggregation by case in SQL (cycle times, the time range), then one over the cases; for other
//!    imported logs the cases query's rows are the work items, so the figures come from their case
//!    log and this query does not run.
//! 3. The items: one query streams them into a [`CaseLog`] — a few numbers per item, grouped by
//!    case and in order of start — and one pass in Rust gives each item the previous item of its
//!    case and its activity's occurrence number within the case (the cases an activity occurs
//!    in, and those with rework), grouped by (previous activity, activity) and, for the
//!    bottleneck report, by the periods an item became ready and completed in: exact (128-bit)
//!    sums of microseconds, counts and maxima. Imported logs that mix lifecycle transitions pair
//!    their events first in SQL, with a window by case and activity in time order; the engine's
//!    events are grouped into tasks first. (In DataFusion, the items' window — a sort of every
//!    item by case id and `lag`s evaluated a row at a time — took 6 of the bottleneck report's
//!    6.7 s at 10M events.)
//!
//! Queries 2 and 3 run at the same time. The bottleneck report chooses its periods from the cases'
//! time range after both, since the items are grouped by period in Rust.

use crate::caselog::{CaseLog, NONE, Occurrences, seconds};
use crate::events::TEAM_TEXT;
use crate::sql;
use crate::{Events, Filter, QueuePeriod, ReportError};
use datafusion::common::HashMap;
use serde::Serialize;
use std::collections::BTreeMap;

/// Per activity and per transition: the time of a filter's work items (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityTimes {
    /// Cases with at least one completed item.
    pub cases: u64,
    /// The sum of the cases' cycle times, in seconds: the denominator of every share.
    pub cycle_time_total_s: f64,
    /// One row per activity with a completed item, by name.
    pub activities: Vec<ActivityTime>,
    /// One row per pair of directly following activities, by source then target.
    pub transitions: Vec<TransitionTime>,
}

/// The times of one activity's completed items.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityTime {
    pub activity: String,
    /// Completed items (occurrences).
    pub occurrences: u64,
    /// Cases in which it occurs.
    pub cases: u64,
    /// Cases in which it occurs more than once (rework).
    pub rework_cases: u64,
    /// Occurrences directly followed by the same activity in their case (a self-loop).
    pub self_loops: u64,
    /// Occurrences with a start time, whose time splits into waiting and processing.
    pub split_occurrences: u64,
    /// Ready → started over the split occurrences; `None` when there are none.
    pub waiting: Option<TimeSummary>,
    /// Started → completed (service time) over the split occurrences; `None` when there are none.
    pub processing: Option<TimeSummary>,
    /// Ready → completed over the occurrences without a start time (not split); `None` when
    /// every occurrence is split.
    pub elapsed: Option<TimeSummary>,
    /// Waiting, processing and elapsed time together, in seconds.
    pub total_s: f64,
}

/// Durations over a set of occurrences, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimeSummary {
    pub total_s: f64,
    pub mean_s: f64,
    pub max_s: f64,
}

impl TimeSummary {
    /// The summary of `count` durations adding up to `total` microseconds, the longest `max`;
    /// `None` when there are none.
    pub(crate) fn of(count: u64, total: i128, max: Option<i64>) -> Option<TimeSummary> {
        (count > 0).then(|| TimeSummary {
            total_s: seconds(total),
            mean_s: seconds(total) / count as f64,
            max_s: seconds(i128::from(max.unwrap_or(0))),
        })
    }
}

/// Activity `to` directly following activity `from` within cases, and the time between them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransitionTime {
    pub from: String,
    pub to: String,
    /// How often `to` directly follows `from`.
    pub frequency: u64,
    /// The sum of the gaps from `from`'s completion to `to`'s start (its completion where there is
    /// no start time), in seconds; negative gaps (overlapping work) count as they are.
    pub total_s: f64,
    /// `total_s` over `frequency`.
    pub mean_s: f64,
}

/// Waiting, processing and elapsed time per activity, rework and self-loops, and the time spent
/// between directly following activities, with the cases' total cycle time.
///
/// Queries (see the module docs): the outline, then the cases and the items.
pub async fn activity_times(events: &Events<'_>) -> Result<ActivityTimes, ReportError> {
    let (cases, items) = cases_and_items(events).await?;
    Ok(times(&cases, &ItemGroup::of(&items, None)))
}

/// The cases' figures and the work items' case log. Where every row of the cases query is a
/// work item — imported logs that do not mix lifecycle transitions: the rows are the selected
/// events either way — the figures come from the items; otherwise the cases query runs beside
/// the items' (the engine's tasks count from their `schedule`, mixed logs from their `start`
/// events).
pub(crate) async fn cases_and_items(events: &Events<'_>) -> Result<(CaseFigures, CaseLog), ReportError> {
    if !cases_from_items(events) {
        return sql::both(CaseFigures::of(events), work_items(events, "")).await;
    }
    let items = work_items(events, "").await?;
    Ok((CaseFigures::of_items(&items), items))
}

/// Whether every row of the cases query is a work item, so that the cases' figures come from the
/// items ([`CaseFigures::of_items`]): imported logs that do not mix lifecycle transitions.
pub(crate) fn cases_from_items(events: &Events<'_>) -> bool {
    !events.filter().is_engine() && !events.outline().mixed
}

/// The work items of `events` in a case log, each case's in order of start ([`CaseLog::items`]),
/// with the columns `extra` names beside.
pub(crate) async fn work_items(events: &Events<'_>, extra: &str) -> Result<CaseLog, ReportError> {
    let base = items_base(events);
    let sql = format!("{},\n{}", base.sql, kept_cte(events));
    CaseLog::items(events, &sql, &format!("{}{extra}", base.extra)).await
}

/// What the cases query finds: the cases, their cycle times and time range.
pub(crate) struct CaseFigures {
    /// Cases with a completed item.
    cases: u64,
    /// The sum of their cycle times, in microseconds.
    cycle_time: f64,
    /// The earliest ready time of those cases, in microseconds.
    pub first_t: Option<i64>,
    /// Their latest completion, in microseconds.
    pub last_t: Option<i64>,
}

impl CaseFigures {
    /// Runs the cases query.
    pub(crate) async fn of(events: &Events<'_>) -> Result<CaseFigures, ReportError> {
        let rows = events.run(&cases_sql(events)).await?;
        if rows.len() != 1 {
            return Err(ReportError::Shape(format!("{} rows from the cases query", rows.len())));
        }
        let (spans, span) = (rows.counts("spans")?, rows.f64s("span")?);
        let (first, last) = (rows.i64s("first_t")?, rows.i64s("last_t")?);
        Ok(CaseFigures { cases: spans[0], cycle_time: span[0].unwrap_or(0.0), first_t: first[0], last_t: last[0] })
    }

    /// The figures of items that are the cases query's rows (see [`cases_and_items`]): per case
    /// its earliest start and latest completion.
    pub(crate) fn of_items(items: &CaseLog) -> CaseFigures {
        let (mut cases, mut cycle_time) = (0, 0i128);
        let (mut first_t, mut last_t) = (None, None);
        for rows in items.case_ranges() {
            let Some(last) = rows.clone().map(|e| items.t[e]).filter(|&t| t != NONE).max() else { continue };
            let first = rows.map(|e| items.st[e]).min().unwrap_or(last);
            cases += 1;
            cycle_time += i128::from(last) - i128::from(first);
            first_t = Some(first_t.map_or(first, |t: i64| t.min(first)));
            last_t = Some(last_t.map_or(last, |t: i64| t.max(last)));
        }
        CaseFigures { cases, cycle_time: cycle_time as f64, first_t, last_t }
    }
}

/// The items of one (previous activity, activity, period ready, period completed), with sums of
/// microseconds.
#[derive(Debug, Default, Clone)]
pub(crate) struct ItemGroup {
    pub previous: Option<String>,
    pub activity: String,
    /// The period the items became ready in (with periods).
    pub ready_bin: Option<i64>,
    /// The period they completed (or were cancelled) in; `None` while open or without periods.
    pub gone_bin: Option<i64>,
    /// Items, open ones included.
    pub items: u64,
    occurrences: u64,
    /// Items that are their activity's first completed one in their case.
    first_in_case: u64,
    /// Items that are their activity's second completed one in their case (rework).
    second_in_case: u64,
    split: u64,
    waiting: i128,
    processing: i128,
    elapsed: i128,
    waiting_max: Option<i64>,
    processing_max: Option<i64>,
    elapsed_max: Option<i64>,
    gap: i128,
    hops: u64,
}

/// What items are grouped by: (previous activity, activity, ready period, gone period).
type ItemKey = (Option<u32>, u32, Option<i64>, Option<i64>);

impl ItemGroup {
    /// The items' groups (see the module docs): the work items of `log` ([`work_items`]), each
    /// with the previous item of its case and its activity's occurrence number within the case,
    /// grouped by (previous activity, activity) and, with `period`, by the periods it became ready
    /// and left its queue in.
    pub(crate) fn of(log: &CaseLog, period: Option<QueuePeriod>) -> Vec<ItemGroup> {
        // The engine's tasks are ready at `early` and leave their queue at `gone`; imported items
        // are ready when the case's previous item completed, but never after they start, and
        // leave their queue when they complete.
        let engine = !log.early.is_empty();
        let bin = |x: i64| period.filter(|_| x != NONE).map(|p| p.bin(x));
        // Per activity, its completed items in the case so far.
        let mut completed = Occurrences::new(log.activities.len());
        let mut groups: HashMap<ItemKey, ItemGroup> = HashMap::default();
        for (case, rows) in log.case_ranges().enumerate() {
            let mut previous: Option<(u32, i64)> = None;
            for e in rows {
                let (a, t, st) = (log.activity[e], log.t[e], log.st[e]);
                let prev_t = previous.map_or(NONE, |(_, t)| t);
                let (ready, left) = if engine {
                    (log.early[e], log.gone[e])
                } else {
                    (if prev_t != NONE && prev_t < st { prev_t } else { st }, t)
                };
                let key = (previous.map(|(a, _)| a), a, bin(ready), bin(left));
                let group = groups.entry(key).or_default();
                group.items += 1;
                if t != NONE {
                    let occurrence = completed.next(case, a as usize);
                    group.occurrences += 1;
                    group.first_in_case += u64::from(occurrence == 1);
                    group.second_in_case += u64::from(occurrence == 2);
                }
                if log.timed[e] {
                    group.split += 1;
                    sum(&mut group.waiting, &mut group.waiting_max, difference(st, ready));
                    sum(&mut group.processing, &mut group.processing_max, difference(t, st));
                } else if t != NONE {
                    sum(&mut group.elapsed, &mut group.elapsed_max, difference(t, ready));
                }
                if let Some(gap) = difference(st, prev_t) {
                    group.gap += i128::from(gap);
                    group.hops += 1;
                }
                previous = Some((a, t));
            }
        }
        groups
            .into_iter()
            .map(|((previous, activity, ready_bin, gone_bin), group)| ItemGroup {
                previous: previous.map(|a| log.activities[a as usize].clone()),
                activity: log.activities[activity as usize].clone(),
                ready_bin,
                gone_bin,
                ..group
            })
            .collect()
    }

    fn add(&mut self, other: &ItemGroup) {
        self.items += other.items;
        self.occurrences += other.occurrences;
        self.first_in_case += other.first_in_case;
        self.second_in_case += other.second_in_case;
        self.split += other.split;
        self.waiting += other.waiting;
        self.processing += other.processing;
        self.elapsed += other.elapsed;
        self.waiting_max = self.waiting_max.max(other.waiting_max);
        self.processing_max = self.processing_max.max(other.processing_max);
        self.elapsed_max = self.elapsed_max.max(other.elapsed_max);
        self.gap += other.gap;
        self.hops += other.hops;
    }
}

/// Activities and transitions from the cases' and the items' figures.
pub(crate) fn times(cases: &CaseFigures, groups: &[ItemGroup]) -> ActivityTimes {
    let mut per_activity: BTreeMap<&str, ItemGroup> = BTreeMap::new();
    let mut per_transition: BTreeMap<(&str, &str), ItemGroup> = BTreeMap::new();
    for group in groups {
        per_activity.entry(&group.activity).or_default().add(group);
        if let Some(previous) = &group.previous {
            per_transition.entry((previous, &group.activity)).or_default().add(group);
        }
    }
    let transitions: Vec<TransitionTime> = per_transition
        .into_iter()
        .filter(|(_, g)| g.hops > 0)
        .map(|((from, to), g)| TransitionTime {
            from: from.to_string(),
            to: to.to_string(),
            frequency: g.hops,
            total_s: seconds(g.gap),
            mean_s: seconds(g.gap) / g.hops as f64,
        })
        .collect();
    let activities = per_activity
        .into_iter()
        .filter(|(_, g)| g.occurrences > 0)
        .map(|(activity, g)| {
            let self_loops = transitions.iter().find(|t| t.from == activity && t.to == activity);
            ActivityTime {
                activity: activity.to_string(),
                occurrences: g.occurrences,
                cases: g.first_in_case,
                rework_cases: g.second_in_case,
                self_loops: self_loops.map_or(0, |t| t.frequency),
                split_occurrences: g.split,
                waiting: TimeSummary::of(g.split, g.waiting, g.waiting_max),
                processing: TimeSummary::of(g.split, g.processing, g.processing_max),
                elapsed: TimeSummary::of(g.occurrences - g.split, g.elapsed, g.elapsed_max),
                total_s: seconds(g.waiting + g.processing + g.elapsed),
            }
        })
        .collect();
    ActivityTimes { cases: cases.cases, cycle_time_total_s: cases.cycle_time / 1e6, activities, transitions }
}

/// `a - b`, unless either is missing ([`NONE`]); at the ends of the integers' range where times
/// beyond them would overflow.
fn difference(a: i64, b: i64) -> Option<i64> {
    (a != NONE && b != NONE).then(|| a.saturating_sub(b))
}

/// Adds a time to a sum and its maximum (nothing when it is missing).
fn sum(total: &mut i128, max: &mut Option<i64>, value: Option<i64>) {
    if let Some(value) = value {
        *total += i128::from(value);
        *max = (*max).max(Some(value));
    }
}

/// The decimal type of sums of microseconds: exact, and beyond the reach of any log's totals.
pub(crate) const SUM: &str = "DECIMAL(38, 0)";

/// `kept AS (…)`: `base`, or in [`crate::TimeScope::CasesStarted`] the rows of the cases whose
/// first completion is in the range (the cases first in the join, so that its hash table holds
/// them rather than every row).
pub(crate) fn kept_cte(events: &Events<'_>) -> String {
    match events.filter().case_start_predicate() {
        Some(predicate) => format!(
            "kept AS (
                SELECT base.* FROM (
                    SELECT {case} FROM base GROUP BY {case} HAVING {having}
                ) started JOIN base USING ({case})
            )",
            case = events.case_key(),
            having = predicate.replace("first_t", "min(t)")
        ),
        None => "kept AS (SELECT * FROM base)".to_string(),
    }
}

/// The cases query: one row — how many cases have a completed item (`spans`), the sum of their
/// cycle times (`span`) and their time range (`first_t`, `last_t`). A hash aggregation by case,
/// then one over the cases.
///
/// Its base has a row per item (`t`: when it completed, `NULL` while open) and, for imported logs
/// that mix lifecycle transitions, per `start` event (`t` `NULL`); `early` is when the row's work
/// could have been ready: an imported event's start (or its own time), a completed task's
/// `schedule`.
fn cases_sql(events: &Events<'_>) -> String {
    let (filter, mixed) = (events.filter(), events.outline().mixed);
    let predicate = filter.event_predicate();
    let base = if filter.is_engine() {
        format!(
            "{tasks},
            base AS (
                SELECT {TEAM_TEXT}, case_id, completed AS t,
                    CASE WHEN completed IS NOT NULL THEN coalesce(scheduled, started, completed) END AS early
                FROM tasks
            )",
            tasks = engine_tasks(filter),
        )
    } else if mixed {
        format!(
            "WITH base AS (
                SELECT {TEAM_TEXT}, case_id, CASE WHEN lower(lifecycle) = 'complete' THEN CAST(ts AS BIGINT) END AS t,
                    CAST(coalesce(start_ts, ts) AS BIGINT) AS early
                FROM events WHERE {predicate} AND lower(lifecycle) IN ('start', 'complete')
            )"
        )
    } else {
        format!(
            "WITH base AS (
                SELECT {TEAM_TEXT}, case_id, CAST(ts AS BIGINT) AS t, CAST(coalesce(start_ts, ts) AS BIGINT) AS early
                FROM events WHERE {predicate}
            )"
        )
    };
    format!(
        "{base},
        {kept},
        per_case AS (SELECT max(t) AS last_t, min(early) AS first_t FROM kept GROUP BY {case})
        SELECT count(last_t) AS spans, sum(CAST(last_t - first_t AS {SUM})) AS span,
            min(CASE WHEN last_t IS NOT NULL THEN first_t END) AS first_t, max(last_t) AS last_t
        FROM per_case",
        kept = kept_cte(events),
        case = events.case_key(),
    )
}

/// `WITH … base AS (…)`: a row per work item (see the module docs), with the expressions that
/// place it in its queue.
pub(crate) struct ItemsBase {
    /// The CTEs, ending in `base`: `team_id`, `case_id`, `activity`, `ordinal`, `t` (completed;
    /// `NULL` while open), `st` (started, else completed), `timed` (whether `st` is a real start
    /// time), `resource` and `role` (of the completing event; `NULL` while open); for the
    /// engine's tasks also `early` (when it became ready: its `schedule`) and `gone` (when it
    /// left the queue).
    pub sql: String,
    /// The extra columns to carry (`, early, gone` for the engine's tasks).
    pub extra: &'static str,
}

/// The items' base for outlined events.
pub(crate) fn items_base(events: &Events<'_>) -> ItemsBase {
    let (filter, outline) = (events.filter(), events.outline());
    let predicate = filter.event_predicate();
    if filter.is_engine() {
        let sql = format!(
            "{tasks},
            started_tasks AS (
                SELECT team_id, case_id, activity, ordinal, completed AS t,
                    CASE WHEN completed IS NOT NULL THEN
                        CASE WHEN started <= completed THEN started ELSE completed END
                    END AS st,
                    coalesce(scheduled, started, completed, aborted) AS scheduled,
                    coalesce(completed, aborted) AS gone, resource, role
                FROM tasks
            ),
            base AS (
                SELECT team_id, case_id, activity, ordinal, t, st, t IS NOT NULL AS timed,
                    CASE WHEN st < scheduled THEN st ELSE scheduled END AS early, gone, resource, role
                FROM started_tasks
            )",
            tasks = engine_tasks(filter),
        );
        ItemsBase { sql, extra: ", early, gone" }
    } else if outline.mixed {
        // A `complete` event pairs with the event just before it of the same activity in the case
        // when that is a `start`.
        let same = "lag(case_id) OVER p = case_id AND lag(activity) OVER p = activity";
        let sql = format!(
            "WITH marked AS (
                SELECT team_id, case_id, activity, lower(lifecycle) AS lifecycle, CAST(ts AS BIGINT) AS t,
                    CAST(start_ts AS BIGINT) AS start_t, ordinal, resource, role
                FROM events WHERE {predicate} AND lower(lifecycle) IN ('start', 'complete')
            ),
            paired AS (
                SELECT team_id, case_id, activity, lifecycle, t, start_t, ordinal, resource, role,
                    CASE WHEN {same} AND lag(lifecycle) OVER p = 'start' THEN lag(t) OVER p END AS paired_start
                FROM marked
                WINDOW p AS ({by_activity})
            ),
            base AS (
                SELECT team_id, case_id, activity, ordinal, t, coalesce(start_t, paired_start, t) AS st,
                    start_t IS NOT NULL OR paired_start IS NOT NULL AS timed, resource, role
                FROM paired WHERE lifecycle = 'complete'
            )",
            by_activity = events.case_window("activity, t, ordinal"),
        );
        ItemsBase { sql, extra: "" }
    } else {
        let sql = format!(
            "WITH base AS (
                SELECT team_id, case_id, activity, ordinal, CAST(ts AS BIGINT) AS t,
                    CAST(coalesce(start_ts, ts) AS BIGINT) AS st, start_ts IS NOT NULL AS timed, resource, role
                FROM events WHERE {predicate}
            )"
        );
        ItemsBase { sql, extra: "" }
    }
}

/// `WITH tasks AS (…)`: the engine's events, one row per task: when it was scheduled, started,
/// completed and cancelled (`ate_abort`), its completion's place in commit order, and the resource
/// and role of its `complete` event.
fn engine_tasks(filter: &Filter) -> String {
    format!(
        "WITH tasks AS (
            SELECT team_id, case_id, activity,
                min(CASE WHEN lifecycle = 'schedule' THEN t END) AS scheduled,
                min(CASE WHEN lifecycle = 'start' THEN t END) AS started,
                min(CASE WHEN lifecycle = 'complete' THEN t END) AS completed,
                min(CASE WHEN lifecycle = 'ate_abort' THEN t END) AS aborted,
                coalesce(min(CASE WHEN lifecycle = 'complete' THEN ordinal END), min(ordinal)) AS ordinal,
                min(CASE WHEN lifecycle = 'complete' THEN resource END) AS resource,
                min(CASE WHEN lifecycle = 'complete' THEN role END) AS role
            FROM (
                SELECT team_id, case_id, task_id, activity, lower(lifecycle) AS lifecycle, CAST(ts AS BIGINT) AS t,
                    ordinal, resource, role
                FROM events WHERE {predicate} AND task_id IS NOT NULL
            ) task_events
            GROUP BY team_id, case_id, task_id, activity
        )",
        predicate = filter.event_predicate(),
    )
}
