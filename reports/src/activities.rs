//! Per-activity figures: rework and service time.

use crate::sql::{case_window, seconds};
use crate::{Events, ReportError};
use serde::Serialize;
use std::collections::BTreeMap;

/// For each activity that some case performs more than once, the number of such cases.
pub async fn rework_per_activity(events: &Events<'_>) -> Result<BTreeMap<String, u64>, ReportError> {
    let figures = per_activity(events).await?;
    Ok(figures
        .into_iter()
        .filter(|(_, (rework, _))| *rework > 0)
        .map(|(activity, (rework, _))| (activity, rework))
        .collect())
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
pub async fn service_time_per_activity(events: &Events<'_>) -> Result<BTreeMap<String, ServiceTime>, ReportError> {
    Ok(per_activity(events).await?.into_iter().map(|(activity, (_, service))| (activity, service)).collect())
}

/// Per activity: the cases that perform it more than once, and its service time — one query.
///
/// SQL: each event's occurrence of its activity within its case ([`nth_occurrence`] over the
/// events in case order, `sql::case_window`) — instead of a hash aggregation by case and
/// activity, a group per event in most logs — then per activity the cases with a second
/// occurrence, the events, those with a start time, and the mean of `t - st`.
///
/// [`nth_occurrence`]: crate::occurrence
pub(crate) async fn per_activity(events: &Events<'_>) -> Result<BTreeMap<String, (u64, ServiceTime)>, ReportError> {
    let sql = format!(
        "{ev},
        occurrences AS (
            SELECT activity, t, st, timed, nth_occurrence(case_id, activity, t) OVER ({window}) AS occurrence
            FROM ev
        )
        SELECT activity, sum(CASE WHEN occurrence = 2 THEN 1 ELSE 0 END) AS rework_cases,
            avg({service}) AS mean, count(*) AS events, sum(CASE WHEN timed THEN 1 ELSE 0 END) AS timed_events
        FROM occurrences GROUP BY activity",
        ev = events.cte(),
        window = case_window("t, ordinal", events.outline().one_team),
        service = seconds("t - st"),
    );
    let rows = events.run(&sql).await?;
    let (rework, means) = (rows.counts("rework_cases")?, rows.f64s("mean")?);
    let (counts, timed) = (rows.counts("events")?, rows.counts("timed_events")?);
    rows.strings("activity")?
        .into_iter()
        .enumerate()
        .map(|(i, activity)| {
            let mean_s = means[i].ok_or_else(|| ReportError::Shape("a null service time".into()))?;
            Ok((activity, (rework[i], ServiceTime { mean_s, events: counts[i], timed_events: timed[i] })))
        })
        .collect()
}
