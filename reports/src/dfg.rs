//! The directly-follows graph: which activity follows which, how often, and how long after.

use crate::sql::{self, case_window, events_cte, seconds};
use crate::{Filter, ReportError};
use orgata_warehouse::{TeamScope, Warehouse};
use serde::Serialize;
use std::collections::BTreeMap;

/// The directly-follows graph of a filter's cases.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectlyFollowsGraph {
    /// Edges by frequency (descending), then source and target activity.
    pub edges: Vec<DfgEdge>,
    /// How many cases start with each activity.
    pub start_activities: BTreeMap<String, u64>,
    /// How many cases end with each activity.
    pub end_activities: BTreeMap<String, u64>,
}

/// Activity `to` directly following activity `from` within cases.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DfgEdge {
    pub from: String,
    pub to: String,
    /// How often `to` directly follows `from`.
    pub frequency: u64,
    /// Time from `from`'s completion to `to`'s start (its completion where there is no start
    /// time), in seconds: mean, median, min and max over the occurrences. Negative where `to`
    /// started before `from` completed (overlapping work).
    pub mean_s: f64,
    pub median_s: f64,
    pub min_s: f64,
    pub max_s: f64,
}

/// The directly-follows graph.
///
/// SQL, two queries at the same time: `lead(activity)` and `lead(st)` over the events in case
/// order, then a `GROUP BY` of the pairs within a case with `count`, `avg`, `median`, `min` and
/// `max` of the time between them; and `lag`/`lead(case_id)` in case order, which mark each
/// case's first and last event (windows of `sql::case_window`, not one partition per case). As in
/// PM4Py, pairs are
/// taken in order of start time (then completion time, then file order) and timed from the first
/// event's completion to the second's start; for events without a start time both are the event's
/// time. Start and end activities are the first and last events of each case in order of
/// completion time, ties in file order.
pub async fn directly_follows(
    warehouse: &Warehouse,
    scope: &TeamScope,
    filter: &Filter,
) -> Result<DirectlyFollowsGraph, ReportError> {
    let edges_sql = format!(
        "{ev},
        pairs AS (
            SELECT case_id, activity AS source, lead(case_id) OVER w AS next_case, lead(activity) OVER w AS target,
                lead(st) OVER w - t AS gap
            FROM ev WINDOW w AS ({pair_order})
        ),
        timed AS (SELECT source, target, {gap} AS gap FROM pairs WHERE next_case = case_id)
        SELECT source, target, count(*) AS frequency, avg(gap) AS mean, median(gap) AS median, min(gap) AS min,
            max(gap) AS max
        FROM timed GROUP BY source, target",
        ev = events_cte(filter),
        gap = seconds("gap"),
        pair_order = case_window("st, t, ordinal"),
    );
    let ends_sql = format!(
        "{ev},
        neighbours AS (
            SELECT case_id, activity, lag(case_id) OVER w AS previous_case, lead(case_id) OVER w AS next_case
            FROM ev WINDOW w AS ({end_order})
        ),
        ends AS (
            SELECT activity, previous_case IS DISTINCT FROM case_id AS first, next_case IS DISTINCT FROM case_id AS last
            FROM neighbours
        )
        SELECT activity, sum(CASE WHEN first THEN 1 ELSE 0 END) AS starts, sum(CASE WHEN last THEN 1 ELSE 0 END) AS ends
        FROM ends WHERE first OR last GROUP BY activity",
        ev = events_cte(filter),
        end_order = case_window("t, ordinal"),
    );
    let (rows, ends) = sql::both(sql::run(warehouse, scope, &edges_sql), sql::run(warehouse, scope, &ends_sql)).await?;
    let (sources, targets, frequencies) = (rows.strings("source")?, rows.strings("target")?, rows.counts("frequency")?);
    let (means, medians, mins, maxes) =
        (rows.f64s("mean")?, rows.f64s("median")?, rows.f64s("min")?, rows.f64s("max")?);
    let mut edges = Vec::with_capacity(rows.len());
    for i in 0..rows.len() {
        let value = |column: &[Option<f64>]| column[i].ok_or_else(|| ReportError::Shape("a null edge time".into()));
        edges.push(DfgEdge {
            from: sources[i].clone(),
            to: targets[i].clone(),
            frequency: frequencies[i],
            mean_s: value(&means)?,
            median_s: value(&medians)?,
            min_s: value(&mins)?,
            max_s: value(&maxes)?,
        });
    }
    edges.sort_by(|a, b| b.frequency.cmp(&a.frequency).then_with(|| (&a.from, &a.to).cmp(&(&b.from, &b.to))));

    let activities = ends.strings("activity")?;
    let mut start_activities = BTreeMap::new();
    let mut end_activities = BTreeMap::new();
    for ((activity, starts), ends) in activities.into_iter().zip(ends.counts("starts")?).zip(ends.counts("ends")?) {
        if starts > 0 {
            start_activities.insert(activity.clone(), starts);
        }
        if ends > 0 {
            end_activities.insert(activity, ends);
        }
    }
    Ok(DirectlyFollowsGraph { edges, start_activities, end_activities })
}
