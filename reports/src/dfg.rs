//! The directly-follows graph: which activity follows which, how often, and how long after.

use crate::sql::seconds;
use crate::{Events, ReportError};
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
/// SQL, one query: one window over the events in case order (`Events::case_window`, not a window
/// partition per case) pairs each event with the next of its case (`lead`) and gives each case's
/// first and last activity on its last row (`case_first`, `case_last` of [`crate::trace`]); one
/// aggregation by (activity, next activity, first activity, last activity) then holds every edge
/// — with `count`, `avg`, `median`, `min` and `max` of the time between the two — in the groups
/// with a next activity, and the cases' start and end activities in the groups without one (a
/// case's last row). As in PM4Py, pairs are taken in order of start time (then completion time,
/// then file order) and timed from the first event's completion to the second's start; for
/// events without a start time both are the event's time. Start and end activities are the first
/// and last events of each case in order of completion time, ties in file order.
pub async fn directly_follows(events: &Events<'_>) -> Result<DirectlyFollowsGraph, ReportError> {
    let sql = format!(
        "{ev},
        pairs AS (
            SELECT activity AS source,
                CASE WHEN lead(case_id) OVER w = case_id THEN lead(activity) OVER w END AS target,
                CASE WHEN lead(case_id) OVER w = case_id THEN lead(st) OVER w - t END AS gap,
                case_first(case_id, activity, t, ordinal) OVER w AS first_activity,
                case_last(case_id, activity, t, ordinal) OVER w AS last_activity
            FROM ev WINDOW w AS ({pair_order})
        ),
        timed AS (SELECT source, target, {gap} AS gap, first_activity, last_activity FROM pairs)
        SELECT source, target, first_activity, last_activity, count(*) AS frequency, avg(gap) AS mean,
            median(gap) AS median, min(gap) AS min, max(gap) AS max
        FROM timed GROUP BY source, target, first_activity, last_activity",
        ev = events.cte(),
        gap = seconds("gap"),
        pair_order = events.case_window("st, t, ordinal"),
    );
    let rows = events.run(&sql).await?;
    let (sources, targets) = (rows.optional_strings("source")?, rows.optional_strings("target")?);
    let (firsts, lasts) = (rows.optional_strings("first_activity")?, rows.optional_strings("last_activity")?);
    let frequencies = rows.counts("frequency")?;
    let (means, medians, mins, maxes) =
        (rows.f64s("mean")?, rows.f64s("median")?, rows.f64s("min")?, rows.f64s("max")?);
    let mut edges = Vec::new();
    let mut start_activities = BTreeMap::new();
    let mut end_activities = BTreeMap::new();
    for i in 0..rows.len() {
        match (&sources[i], &targets[i]) {
            (Some(from), Some(to)) => {
                let value =
                    |column: &[Option<f64>]| column[i].ok_or_else(|| ReportError::Shape("a null edge time".into()));
                edges.push(DfgEdge {
                    from: from.clone(),
                    to: to.clone(),
                    frequency: frequencies[i],
                    mean_s: value(&means)?,
                    median_s: value(&medians)?,
                    min_s: value(&mins)?,
                    max_s: value(&maxes)?,
                });
            }
            // A case's last row (in the window's order): its case's start and end activity.
            _ => {
                if let Some(first) = &firsts[i] {
                    *start_activities.entry(first.clone()).or_insert(0) += frequencies[i];
                }
                if let Some(last) = &lasts[i] {
                    *end_activities.entry(last.clone()).or_insert(0) += frequencies[i];
                }
            }
        }
    }
    edges.sort_by(|a, b| b.frequency.cmp(&a.frequency).then_with(|| (&a.from, &a.to).cmp(&(&b.from, &b.to))));
    Ok(DirectlyFollowsGraph { edges, start_activities, end_activities })
}
