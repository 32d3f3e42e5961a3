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
//! | `F` | what the case was started with ([`ContextColumn`]): a number field `F` (the playbook version's number, an input field) |
//! | `F = V` | 1 where a text or yes/no field `F` (the playbook, an input field) is `V` |
//!
//! Activity, resource and context columns are fixed when a model is trained ([`Encoding::fit`]),
//! by name, so that a later log (with its own numbering) is encoded the same way
//! ([`Encoding::mapping`]).

use crate::caselog::{CaseContext, CaseLog, NO_NAME, NONE, seconds_between, sort};
use chrono::{DateTime, Datelike, Timelike};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

/// Activities with columns of their own; rarer ones share `other`.
pub const MAX_ACTIVITIES: usize = 40;
/// Resources with a column of their own; rarer ones share `other`.
pub const MAX_RESOURCES: usize = 20;
/// A text field with more distinct values than this among the training cases (a name, a free
/// text) gets no columns.
pub const MAX_CATEGORIES: usize = 20;

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
    /// What the cases were started with, by field name (none for an imported log, or a model
    /// trained before they were).
    #[serde(default)]
    pub context: Vec<ContextColumn>,
}

/// A column of what a case was started with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ContextColumn {
    /// A number field; where a case lacks it, `fill` (the training cases' median).
    Number { field: String, fill: f64 },
    /// 1 where a text or yes/no field has this value.
    Category { field: String, value: String },
}

impl ContextColumn {
    /// The column's name.
    fn name(&self) -> String {
        match self {
            ContextColumn::Number { field, .. } => field.clone(),
            ContextColumn::Category { field, value } => format!("{field} = {value}"),
        }
    }

    /// Its value for a case started with `context`.
    fn value(&self, context: &[(String, Value)]) -> f64 {
        let find = |name: &str| context.iter().find(|(field, _)| field == name).map(|(_, value)| value);
        match self {
            ContextColumn::Number { field, fill } => {
                find(field).and_then(Value::as_f64).filter(|v| v.is_finite()).unwrap_or(*fill)
            }
            ContextColumn::Category { field, value } => {
                f64::from(u8::from(find(field).and_then(category).is_some_and(|v| v == *value)))
            }
        }
    }

    /// The columns of the fields of `contexts` (the training cases'): each field whose values are
    /// all numbers is one column; each whose values are all text or yes/no, with at most
    /// [`MAX_CATEGORIES`] distinct ones, a column per value (the most frequent first); others
    /// (lists, objects, free text, mixed kinds) none. By field name.
    fn fit<'a>(contexts: impl Iterator<Item = &'a CaseContext>) -> Vec<ContextColumn> {
        #[derive(Default)]
        struct Seen {
            numbers: Vec<f64>,
            categories: HashMap<String, u64>,
            unusable: bool,
        }
        let mut fields: BTreeMap<&str, Seen> = BTreeMap::new();
        for context in contexts {
            for (field, value) in context {
                let seen = fields.entry(field.as_str()).or_default();
                match (value.as_f64().filter(|v| v.is_finite()), category(value)) {
                    (Some(number), _) => seen.numbers.push(number),
                    (None, Some(text)) => *seen.categories.entry(text).or_default() += 1,
                    (None, None) => seen.unusable |= !value.is_null(),
                }
            }
        }
        let mut columns = Vec::new();
        for (field, mut seen) in fields {
            match (seen.unusable, seen.numbers.is_empty(), seen.categories.is_empty()) {
                (false, false, true) => columns.push(ContextColumn::Number {
                    field: field.to_string(),
                    fill: crate::stats::median(&mut seen.numbers),
                }),
                (false, true, false) if seen.categories.len() <= MAX_CATEGORIES => {
                    let mut values: Vec<(String, u64)> = seen.categories.into_iter().collect();
                    values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                    columns.extend(
                        values
                            .into_iter()
                            .map(|(value, _)| ContextColumn::Category { field: field.to_string(), value }),
                    );
                }
                _ => {}
            }
        }
        columns
    }
}

/// A text or yes/no value as a category.
fn category(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Bool(yes) => Some(yes.to_string()),
        _ => None,
    }
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
            context: ContextColumn::fit(cases.iter().filter_map(|&c| log.context.get(c))),
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
        columns.extend(self.context.iter().map(ContextColumn::name));
        columns
    }

    /// How many columns.
    pub fn width(&self) -> usize {
        FIXED.len() + 3 * (self.activities.len() + 1) + self.resources.len() + 1 + self.context.len()
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

    /// The context columns' values of a case started with `context` (the same for each of its
    /// prefixes: worked out once per case).
    pub(crate) fn context_values(&self, context: &[(String, Value)]) -> Vec<f64> {
        self.context.iter().map(|column| column.value(context)).collect()
    }

    /// Appends the row of the prefix `events[..k]` (rows of `log`, in order of time) of a case
    /// whose [`Encoding::context_values`] are `context`, with `in_progress` cases open at its
    /// moment.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn encode(
        &self,
        log: &CaseLog,
        mapping: &Mapping,
        context: &[f64],
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
        let start = resources + self.resources.len() + 1;
        row[start..start + context.len()].copy_from_slice(context);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caselog::testing::log;
    use serde_json::json;

    #[test]
    fn what_cases_were_started_with_becomes_columns_by_kind() {
        let events: Vec<(String, &str, i64)> =
            (0..30).flat_map(|c| [(format!("c{c:02}"), "a", c * 10), (format!("c{c:02}"), "b", c * 10 + 5)]).collect();
        let borrowed: Vec<(&str, &str, i64)> = events.iter().map(|(c, a, t)| (c.as_str(), *a, *t)).collect();
        let mut log = log(&borrowed);
        log.context = (0..30)
            .map(|c: i64| {
                let mut context = vec![
                    ("playbook".to_string(), json!("Purchase")),
                    ("version".to_string(), json!(1 + c / 20)),
                    ("input.plan".to_string(), json!(["basic", "growth", "growth"][c as usize % 3])),
                    ("input.urgent".to_string(), json!(c % 2 == 0)),
                    // A free text (30 values), a list, and a field that is a number or a text.
                    ("input.summary".to_string(), json!(format!("case {c}"))),
                    ("input.tags".to_string(), json!(["x"])),
                    ("input.mixed".to_string(), if c == 0 { json!("n/a") } else { json!(c) }),
                ];
                if c != 7 {
                    context.push(("input.seats".to_string(), json!(c * 2)));
                }
                context
            })
            .collect();
        let cases: Vec<usize> = (0..30).collect();
        let encoding = Encoding::fit(&log, &cases);
        let names: Vec<String> = encoding.context.iter().map(ContextColumn::name).collect();
        assert_eq!(
            names,
            [
                "input.plan = growth",
                "input.plan = basic",
                "input.seats",
                "input.urgent = false",
                "input.urgent = true",
                "playbook = Purchase",
                "version"
            ]
        );
        // Seats' fill is the median of the 29 cases that have it: 0, 2, …, 58 without 14.
        assert_eq!(encoding.context[2], ContextColumn::Number { field: "input.seats".into(), fill: 30.0 });
        assert_eq!(encoding.columns().len(), encoding.width());
        assert_eq!(encoding.columns()[encoding.width() - 7..], names[..]);

        let running = vec![false; 30];
        let rows = super::super::prefixes::Prefixes::so_far(&log, &running, &encoding, &[7, 24]);
        let context_of = |row: usize| rows.values[(row + 1) * rows.width - 7..(row + 1) * rows.width].to_vec();
        // Case 7: growth, no seats (the fill), not urgent, version 1; case 24: basic, 48 seats,
        // urgent, version 2.
        assert_eq!(context_of(0), [1.0, 0.0, 30.0, 1.0, 0.0, 1.0, 1.0]);
        assert_eq!(context_of(1), [0.0, 1.0, 48.0, 0.0, 1.0, 1.0, 2.0]);
    }
}
