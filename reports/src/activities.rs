//! Per-activity figures: rework and service time.

use crate::caselog::{CaseLog, Occurrences, seconds_between};
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
/// or its task's `start` event's for the engine's events, else its completion) — in one pass over
/// the events by case ([`CaseLog`]).
pub async fn activity_report(events: &Events<'_>) -> Result<ActivityReport, ReportError> {
    let log = CaseLog::events(events).await?;
    let names = log.activities.len();
    let (mut counts, mut timed, mut rework) = (vec![0u64; names], vec![0u64; names], vec![0u64; names]);
    let mut service = vec![0.0f64; names];
    let mut occurrences = Occurrences::new(names);
    for (case, events) in log.case_ranges().enumerate() {
        for e in events {
            let a = log.activity[e] as usize;
            counts[a] += 1;
            timed[a] += u64::from(log.timed[e]);
            service[a] += seconds_between(log.t[e], log.st[e]);
            rework[a] += u64::from(occurrences.next(case, a) == 2);
        }
    }
    let mut activities: Vec<ActivityFigures> = (0..names)
        .map(|a| ActivityFigures {
            activity: log.activities[a].clone(),
            events: counts[a],
            rework_cases: rework[a],
            service_time: ServiceTime {
                mean_s: service[a] / counts[a] as f64,
                events: counts[a],
                timed_events: timed[a],
            },
        })
        .collect();
    activities.sort_by(|a, b| a.activity.cmp(&b.activity));
    Ok(ActivityReport { activities })
}
