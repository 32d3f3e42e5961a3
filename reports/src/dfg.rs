//! The directly-follows graph: which activity follows which, how often, and how long after.

use crate::caselog::{CaseLog, seconds_between, sort};
use crate::stats::{mean, median};
use crate::{Events, ReportError};
use datafusion::common::HashMap;
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

/// The directly-follows graph, from the events in case order ([`CaseLog`]): within each case
/// the events in order of start time (then completion time, then file order), each pair of
/// consecutive ones an edge occurrence timed from the first event's completion to the second's
/// start — as in PM4Py; for events without a start time both are the event's time. Start and end
/// activities are the first and last events of each case in order of completion time, ties in
/// file order.
pub async fn directly_follows(events: &Events<'_>) -> Result<DirectlyFollowsGraph, ReportError> {
    let log = CaseLog::events(events).await?;
    let activities = log.activities.len();
    let mut starts = vec![0u64; activities];
    let mut ends = vec![0u64; activities];
    // Per edge (from * activities + to): the gaps, in seconds.
    let mut gaps: HashMap<usize, Vec<f64>> = HashMap::default();
    let mut by_start = Vec::new();
    for case in log.case_ranges() {
        starts[log.activity[case.start] as usize] += 1;
        ends[log.activity[case.end - 1] as usize] += 1;
        by_start.clear();
        by_start.extend(case);
        sort(&mut by_start, |e: usize| (log.st[e], log.t[e], log.ordinal[e]));
        for pair in by_start.windows(2) {
            let (from, to) = (pair[0], pair[1]);
            let edge = log.activity[from] as usize * activities + log.activity[to] as usize;
            gaps.entry(edge).or_default().push(seconds_between(log.st[to], log.t[from]));
        }
    }
    let name = |a: usize| log.activities[a].clone();
    let mut edges: Vec<DfgEdge> = gaps
        .into_iter()
        .map(|(edge, mut gaps)| DfgEdge {
            from: name(edge / activities),
            to: name(edge % activities),
            frequency: gaps.len() as u64,
            mean_s: mean(&gaps),
            min_s: gaps.iter().copied().fold(f64::INFINITY, f64::min),
            max_s: gaps.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            median_s: median(&mut gaps),
        })
        .collect();
    edges.sort_by(|a, b| b.frequency.cmp(&a.frequency).then_with(|| (&a.from, &a.to).cmp(&(&b.from, &b.to))));
    let counted = |counts: Vec<u64>| -> BTreeMap<String, u64> {
        counts.into_iter().enumerate().filter(|(_, n)| *n > 0).map(|(a, n)| (name(a), n)).collect()
    };
    Ok(DirectlyFollowsGraph { edges, start_activities: counted(starts), end_activities: counted(ends) })
}
