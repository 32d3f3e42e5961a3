//! Per-activity figures: rework and service time.

use crate::sql::seconds;
use crate::{Events, ReportError};
use serde::Serialize;

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

/// The activities report: per activity its events, the cases that perform it more than once
/// (rework), and its service time — `avg(t - st)`, where `st` is the event's start time (its own,
/// or its task's `start` event's for the engine's events, else its completion). One query.
///
/// SQL: each event's occurrence of its activity within its case ([`nth_occurrence`] over the
/// events in case order, `Events::case_window`) — instead of a hash aggregation by case and
/// activity, a group per event in most logs — then per activity the cases with a second
/// occurrence, the events, those with a start time, and the mean of `t - st`.
///
/// [`nth_occurrence`]: crate::occurrence
pub async fn activity_report(events: &Events<'_>) -> Result<ActivityReport, ReportError> {
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
        window = events.case_window("t, ordinal"),
        service = seconds("t - st"),
    );
    let rows = events.run(&sql).await?;
    let (rework, means) = (rows.counts("rework_cases")?, rows.f64s("mean")?);
    let (counts, timed) = (rows.counts("events")?, rows.counts("timed_events")?);
    let mut activities = rows
        .strings("activity")?
        .into_iter()
        .enumerate()
        .map(|(i, activity)| {
            let mean_s = means[i].ok_or_else(|| ReportError::Shape("a null service time".into()))?;
            let service_time = ServiceTime { mean_s, events: counts[i], timed_events: timed[i] };
            Ok(ActivityFigures { activity, events: counts[i], rework_cases: rework[i], service_time })
        })
        .collect::<Result<Vec<_>, ReportError>>()?;
    activities.sort_by(|a, b| a.activity.cmp(&b.activity));
    Ok(ActivityReport { activities })
}
