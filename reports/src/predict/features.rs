//! Prefixes of cases as rows of numbers: what the prediction models learn from and are asked
//! about.
//!
//! A prefix is a case's first k events (in order of time, ties in file order), seen at its k-th
//! event's time. Its row (the aggregation encoding of Teinemaa et al., "Outcome-Oriented
//! Predictive Process Monitoring", 2019, with the case's context):
//!
//! | column | meaning |
//! |---|---|
//! | `elapsed_s` | time since the case's first event |
//! | `events` | k |
//! | `since_last_s` | time since the event before the k-th (0 for the first) |
//! | `hour`, `weekday` | of the k-th event (UTC; Monday 0) |
//! | `in_progress` | the cases open at that moment (first event at or before it, last after it) |
//! | `repeats` | events beyond one per activity so far (rework) |
//! | `last: A` | 1 where the k-th event's activity is A (the [`MAX_ACTIVITIES`] most frequent, then `last: other`) |
//! | `previous: A` | 1 where the event before it is A (none for the first) |
//! | `count: A` | how often A occurred so far |
//! | `resource: R` | 1 where the k-th event's resource is R (the [`MAX_RESOURCES`] most frequent, then `resource: other`) |
//!
//! Activity and resource columns are fixed when a model is trained ([`Encoding::fit`]), by name, so
//! that a later log (with its own numbering) is encoded the same way ([`Encoding::mapping`]).

use crate::caselog::{CaseLog, NO_NAME, NONE, seconds_between, sort};
use chrono::{DateTime, Datelike, Timelike};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Activities with columns of their own; rarer ones share `other`.
pub const MAX_ACTIVITIES: usize = 40;
/// Resources with a column of their own; rarer ones share `other`.
pub const MAX_RESOURCES: usize = 20;

/// Columns before the activities' and resources' ones.
const FIXED: [&str; 7] = ["elapsed_s", "events", "since_last_s", "hour", "weekday", "in_progress", "repeats"];
/// The fixed columns' places.
pub const ELAPSED: usize = 0;
pub const EVENTS: usize = 1;
pub const SINCE_LAST: usize = 2;
pub const IN_PROGRESS: usize = 5;
pub const REPEATS: usize = 6;

/// How prefixes become rows: the activities and resources with columns of their own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Encoding {
    /// Activities with columns, the most frequent first.
    pub activities: Vec<String>,
    /// Resources with a column, the most frequent first.
    pub resources: Vec<String>,
}

/// A log's activity and resource numbers as an encoding's columns (`None`: `other`).
pub(crate) struct Mapping {
    activity: Vec<Option<usize>>,
    resource: Vec<Option<usize>>,
}

impl Encoding {
    /// The encoding of the cases `cases` (numbers) of `log`: their most frequent activities and
    /// resources.
    pub(crate) fn fit(log: &CaseLog, cases: &[usize]) -> Encoding {
        let ranges: Vec<Range<usize>> = log.case_ranges().collect();
        let most_frequent = |numbers: &[u32], names: &[String], at_most: usize| {
            let mut counts = vec![0u64; names.len()];
            for &c in cases {
                for &n in numbers.get(ranges[c].clone()).unwrap_or_default() {
                    if n != NO_NAME {
                        counts[n as usize] += 1;
                    }
                }
            }
            let mut ranked: Vec<usize> = (0..names.len()).filter(|&n| counts[n] > 0).collect();
            ranked.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then_with(|| names[a].cmp(&names[b])));
            ranked.truncate(at_most);
            ranked.into_iter().map(|n| names[n].clone()).collect::<Vec<_>>()
        };
        Encoding {
            activities: most_frequent(&log.activity, &log.activities, MAX_ACTIVITIES),
            resources: most_frequent(&log.resource, &log.names, MAX_RESOURCES),
        }
    }

    /// The columns' names.
    pub fn columns(&self) -> Vec<String> {
        let mut columns: Vec<String> = FIXED.iter().map(|c| c.to_string()).collect();
        columns.extend(self.activities.iter().map(|a| format!("last: {a}")));
        columns.push("last: other".into());
        columns.extend(self.activities.iter().map(|a| format!("previous: {a}")));
        columns.push("previous: other".into());
        columns.extend(self.activities.iter().map(|a| format!("count: {a}")));
        columns.push("count: other".into());
        columns.extend(self.resources.iter().map(|r| format!("resource: {r}")));
        columns.push("resource: other".into());
        columns
    }

    /// How many columns.
    pub fn width(&self) -> usize {
        FIXED.len() + 3 * (self.activities.len() + 1) + self.resources.len() + 1
    }

    /// The place of the `last: A` column of an activity's encoded number (`activities.len()` for
    /// other).
    pub fn last_column(&self, activity: usize) -> usize {
        FIXED.len() + activity
    }

    /// `log`'s numbers as this encoding's columns.
    pub(crate) fn mapping(&self, log: &CaseLog) -> Mapping {
        let place = |names: &[String], of: &[String]| -> Vec<Option<usize>> {
            names.iter().map(|name| of.iter().position(|n| n == name)).collect()
        };
        Mapping { activity: place(&log.activities, &self.activities), resource: place(&log.names, &self.resources) }
    }

    /// The encoded number of a log's activity: its place among the encoding's, or
    /// `activities.len()` for other.
    pub(crate) fn activity_of(&self, mapping: &Mapping, activity: u32) -> usize {
        mapping.activity[activity as usize].unwrap_or(self.activities.len())
    }

    /// Appends the row of the prefix `events[..k]` (rows of `log`, in order of time) with
    /// `in_progress` cases open at its moment.
    pub(crate) fn encode(
        &self,
        log: &CaseLog,
        mapping: &Mapping,
        events: &[usize],
        k: usize,
        in_progress: usize,
        out: &mut Vec<f64>,
    ) {
        let (first, last) = (events[0], events[k - 1]);
        let at = log.t[last];
        let start = out.len();
        out.resize(start + self.width(), 0.0);
        let row = &mut out[start..];
        row[ELAPSED] = seconds_between(at, log.t[first]);
        row[EVENTS] = k as f64;
        row[SINCE_LAST] = if k > 1 { seconds_between(at, log.t[events[k - 2]]) } else { 0.0 };
        let time = DateTime::from_timestamp_micros(at).unwrap_or_default();
        row[3] = f64::from(time.hour());
        row[4] = f64::from(time.weekday().num_days_from_monday());
        row[IN_PROGRESS] = in_progress as f64;
        let activities = self.activities.len() + 1;
        let (lasts, previous, counts) = (FIXED.len(), FIXED.len() + activities, FIXED.len() + 2 * activities);
        let mut seen = 0usize;
        for (i, &event) in events[..k].iter().enumerate() {
            let activity = self.activity_of(mapping, log.activity[event]);
            if row[counts + activity] == 0.0 {
                seen += 1;
            }
            row[counts + activity] += 1.0;
            if i == k - 1 {
                row[lasts + activity] = 1.0;
            } else if i + 2 == k {
                row[previous + activity] = 1.0;
            }
        }
        // Repeats of activities sharing `other` are not told apart; those of named ones are.
        row[REPEATS] = (k - seen.min(k)) as f64;
        let resources = counts + activities;
        let resource = log.resource.get(last).copied().unwrap_or(NO_NAME);
        let column = if resource == NO_NAME { None } else { mapping.resource[resource as usize] };
        row[resources + column.unwrap_or(self.resources.len())] = 1.0;
    }
}

/// Each case's rows of a log in order of time (ties in file order).
pub(crate) fn events_in_order(log: &CaseLog, rows: Range<usize>) -> Vec<usize> {
    let mut order: Vec<usize> = rows.collect();
    sort(&mut order, |e| (log.t[e], log.ordinal[e]));
    order
}

/// The cases open at a moment: from each case's first and last event (`NONE` for a case still
/// running), how many began at or before a time and had not ended by it.
pub(crate) struct InProgress {
    starts: Vec<i64>,
    ends: Vec<i64>,
}

impl InProgress {
    /// From each case's (first, last) event times, `NONE` as the last of running ones.
    pub fn new(spans: impl Iterator<Item = (i64, i64)>) -> InProgress {
        let (mut starts, mut ends): (Vec<i64>, Vec<i64>) = spans.unzip();
        starts.sort_unstable();
        ends.sort_unstable();
        InProgress { starts, ends }
    }

    /// The cases open at `t` (µs): begun at or before it, not ended at or before it.
    pub fn at(&self, t: i64) -> usize {
        let begun = self.starts.partition_point(|&s| s <= t);
        let ended = self.ends.partition_point(|&e| e <= t && e != NONE);
        begun.saturating_sub(ended)
    }
}
