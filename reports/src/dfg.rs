//! The directly-follows graph: which activity follows which, how often, and how long after.

use crate::sql::{self, events_cte, seconds};
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
/// SQL: `lead(activity)` and `lead(st)` over each case's events, then a `GROUP BY` of the pairs
/// with `count`, `avg`, `median`, `min` and `max` of the time between them. As in PM4Py, pairs are
/// taken in order of start time (then completion time, then file order) and timed from the first
/// event's completion to the second's start; for events without a start time both are the event's
/// time. Start and end activities are the first and last events of each case in order of
/// completion time, ties in file order (`row_number`).
pub async fn directly_follows(
    warehouse: &Warehouse,
    scope: &TeamScope,
    filter: &Filter,
) -> Result<DirectlyFollowsGraph, ReportError> {
    let window = "OVER (PARTITION BY team_id, case_id ORDER BY st, t, ordinal)";
    let edges_sql = format!(
        "{ev},
        pairs AS (
            SELECT activity AS source, lead(activity) {window} AS target, lead(st) {window} - t AS gap FROM ev
        ),
        timed AS (SELECT source, target, {gap} AS gap FROM pairs WHERE target IS NOT NULL)
        SELECT source, target, count(*) AS frequency, avg(gap) AS mean, median(gap) AS median, min(gap) AS min,
            max(gap) AS max
        FROM timed GROUP BY source, target",
        ev = events_cte(filter),
        gap = seconds("gap"),
    );
    let ends_sql = format!(
        "{ev},
        ranked AS (
            SELECT activity,
                row_number() OVER (PARTITION BY team_id, case_id ORDER BY t, ordinal) AS from_start,
                row_number() OVER (PARTITION BY team_id, case_id ORDER BY t DESC, ordinal DESC) AS from_end
            FROM ev
        )
        SELECT activity, sum(CASE WHEN from_start = 1 THEN 1 ELSE 0 END) AS starts,
            sum(CASE WHEN from_end = 1 THEN 1 ELSE 0 END) AS ends
        FROM ranked WHERE from_start = 1 OR from_end = 1 GROUP BY activity",
        ev = events_cte(filter),
    );
    let rows = sql::run(warehouse, scope, &edges_sql).await?;
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

    let rows = sql::run(warehouse, scope, &ends_sql).await?;
    let activities = rows.strings("activity")?;
    let mut start_activities = BTreeMap::new();
    let mut end_activities = BTreeMap::new();
    for ((activity, starts), ends) in activities.into_iter().zip(rows.counts("starts")?).zip(rows.counts("ends")?) {
        if starts > 0 {
            start_activities.insert(activity.clone(), starts);
        }
        if ends > 0 {
            end_activities.insert(activity, ends);
        }
    }
    Ok(DirectlyFollowsGraph { edges, start_activities, end_activities })
}
