//! Per-activity figures: rework and service time.

use crate::sql::{self, case_window, events_cte, seconds};
use crate::{Filter, ReportError};
use orgata_warehouse::{TeamScope, Warehouse};
use serde::Serialize;
use std::collections::BTreeMap;

/// For each activity that some case performs more than once, the number of such cases.
///
/// SQL: each event's occurrence of its activity within its case ([`nth_occurrence`] over the
/// events in case order, `sql::case_window`), then per activity the
/// cases with a second occurrence — instead of a hash aggregation by case and activity, a group
/// per event in most logs.
///
/// [`nth_occurrence`]: crate::occurrence
pub async fn rework_per_activity(
    warehouse: &Warehouse,
    scope: &TeamScope,
    filter: &Filter,
) -> Result<BTreeMap<String, u64>, ReportError> {
    let sql = format!(
        "{ev},
        occurrences AS (
            SELECT activity, nth_occurrence(case_id, activity, t)
                OVER ({window}) AS occurrence
            FROM ev
        )
        SELECT activity, count(*) AS cases FROM occurrences WHERE occurrence = 2 GROUP BY activity",
        ev = events_cte(filter),
        window = case_window("t, ordinal"),
    );
    let rows = sql::run(warehouse, scope, &sql).await?;
    Ok(rows.strings("activity")?.into_iter().zip(rows.counts("cases")?).collect())
}

/// How long an activity's work takes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceTime {
    /// Mean of completion minus start, in seconds, over the activity's events; an event without
    /// a start time counts as 0 (PM4Py's convention, so logs without start times give 0).
    pub mean_s: f64,
    /// The activity's events.
    pub events: u64,
    /// Those of them with a start time: the log's own (`start_ts`), or, for the engine's events,
    /// the time the task was started.
    pub timed_events: u64,
}

/// Service time per activity: `avg(t - st)` by activity, where `st` is the event's start time
/// (its own, or its task's `start` event's for the engine's events, else its completion).
pub async fn service_time_per_activity(
    warehouse: &Warehouse,
    scope: &TeamScope,
    filter: &Filter,
) -> Result<BTreeMap<String, ServiceTime>, ReportError> {
    let sql = format!(
        "{ev}
        SELECT activity, avg({service}) AS mean, count(*) AS events,
            sum(CASE WHEN timed THEN 1 ELSE 0 END) AS timed_events
        FROM ev GROUP BY activity",
        ev = events_cte(filter),
        service = seconds("t - st"),
    );
    let rows = sql::run(warehouse, scope, &sql).await?;
    let (means, events, timed) = (rows.f64s("mean")?, rows.counts("events")?, rows.counts("timed_events")?);
    rows.strings("activity")?
        .into_iter()
        .enumerate()
        .map(|(i, activity)| {
            let mean_s = means[i].ok_or_else(|| ReportError::Shape("a null service time".into()))?;
            Ok((activity, ServiceTime { mean_s, events: events[i], timed_events: timed[i] }))
        })
        .collect()
}
