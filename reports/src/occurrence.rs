//! `nth_occurrence(case_id, activity, t)`: a window function that numbers each completed item's
//! occurrence of its activity within its case, in the window's order: 1 for the activity's first
//! completed item in the case, 2 for its second, and so on; `NULL` for an item that has not
//! completed (`t` is `NULL`). Any text can stand for the activity (the resources report numbers a
//! resource's and a role's items in a case with it).
//!
//! `nth_handover(case_id, resource, t)`: the same for handovers — on a completed item whose
//! resource differs from the previous completed item's in the case (both known), the number of
//! that pair's (previous resource → resource) occurrence in the case; `NULL` on other items.
//!
//! They let the items queries, which already order every case's items, also tell in how many
//! cases each activity (resource, role, handover) occurs and in how many an activity occurs more
//! than once (rework): the items numbered 1 and 2 — instead of a hash aggregation by case and
//! activity (a group per event, the largest state of any report query) or a `count(DISTINCT
//! case)` per group, which keeps every group's case ids.
//!
//! The window must keep each case's rows together (its order starts with `case_id`, as
//! [`crate::times::case_order`] does): the function remembers only the current case's activities.
//! It is causal and evaluated row by row, so DataFusion streams it (`BoundedWindowAggExec`) beside
//! `lag`.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{PartitionEvaluator, Signature, Volatility, WindowUDF, WindowUDFImpl};
use std::any::Any;
use std::ops::Range;

/// The window function numbering occurrences of a value, to register in a query's session.
pub(crate) fn nth_occurrence() -> WindowUDF {
    NthOccurrence::udf(Counted::Value)
}

/// The window function numbering occurrences of a handover, to register in a query's session.
pub(crate) fn nth_handover() -> WindowUDF {
    NthOccurrence::udf(Counted::Handover)
}

/// What is numbered within a case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
enum Counted {
    /// Each value (an activity, a resource).
    #[default]
    Value,
    /// Each change of value from one completed item to the next (a handover).
    Handover,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct NthOccurrence {
    counted: Counted,
    signature: Signature,
}

impl NthOccurrence {
    fn udf(counted: Counted) -> WindowUDF {
        WindowUDF::new_from_impl(NthOccurrence { counted, signature: Signature::any(3, Volatility::Immutable) })
    }
}

impl WindowUDFImpl for NthOccurrence {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        match self.counted {
            Counted::Value => "nth_occurrence",
            Counted::Handover => "nth_handover",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn partition_evaluator(&self, _args: PartitionEvaluatorArgs) -> Result<Box<dyn PartitionEvaluator>> {
        Ok(Box::new(Occurrences { counted: self.counted, ..Occurrences::default() }))
    }

    fn field(&self, args: WindowUDFFieldArgs) -> Result<FieldRef> {
        for (i, name) in [(0, "case_id"), (1, "activity")] {
            match args.get_input_field(i).map(|f| f.data_type().clone()) {
                Some(DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => {}
                other => return exec_err!("{}: {name} must be text, not {other:?}", self.name()),
            }
        }
        Ok(Field::new(args.name(), DataType::UInt64, true).into())
    }
}

/// The state over one window partition: the current case and what it has numbered so far.
#[derive(Debug, Default)]
struct Occurrences {
    counted: Counted,
    case: Option<String>,
    /// Per value (`(value, "")`) or handover (`(from, to)`) of the current case, its completed
    /// items so far (a case has few).
    seen: Vec<(String, String, u64)>,
    /// The value of the case's latest completed item (handovers).
    previous: Option<String>,
}

impl Occurrences {
    /// The row's occurrence number (`None` unless `completed`, and for handovers unless the value
    /// changed), after the rows before it. Nothing is allocated for a row but the first of a
    /// case, a value or a handover.
    fn step(&mut self, case: Option<&str>, value: Option<&str>, completed: bool) -> Option<u64> {
        if self.case.as_deref() != case {
            self.case = case.map(str::to_string);
            self.seen.clear();
            self.previous = None;
        }
        if !completed {
            return None;
        }
        match self.counted {
            Counted::Value => Some(number(&mut self.seen, value.unwrap_or_default(), "")),
            Counted::Handover => {
                let from = self.previous.take();
                let n = match (&from, value) {
                    (Some(from), Some(to)) if from != to => Some(number(&mut self.seen, from, to)),
                    _ => None,
                };
                // The previous value's buffer holds this one.
                self.previous = value.map(|to| {
                    let mut buffer = from.unwrap_or_default();
                    buffer.clear();
                    buffer.push_str(to);
                    buffer
                });
                n
            }
        }
    }
}

/// Counts one more occurrence of `(a, b)` in `seen`, and returns its number.
fn number(seen: &mut Vec<(String, String, u64)>, a: &str, b: &str) -> u64 {
    match seen.iter_mut().find(|(x, y, _)| x == a && y == b) {
        Some((_, _, n)) => {
            *n += 1;
            *n
        }
        None => {
            seen.push((a.to_string(), b.to_string(), 1));
            1
        }
    }
}

impl PartitionEvaluator for Occurrences {
    fn is_causal(&self) -> bool {
        true
    }

    fn supports_bounded_execution(&self) -> bool {
        true
    }

    fn evaluate(&mut self, values: &[ArrayRef], range: &Range<usize>) -> Result<ScalarValue> {
        let row = range.start;
        let [case, activity, t, ..] = values else {
            return exec_err!("nth_occurrence takes case_id, activity and t");
        };
        let completed = t.is_valid(row);
        Ok(ScalarValue::UInt64(self.step(text(case, row)?, text(activity, row)?, completed)))
    }
}

/// The text at `row` of a string column (`None` for null).
fn text(array: &ArrayRef, row: usize) -> Result<Option<&str>> {
    if array.is_null(row) {
        return Ok(None);
    }
    Ok(Some(match array.data_type() {
        DataType::Utf8View => array.as_string_view().value(row),
        DataType::Utf8 => array.as_string::<i32>().value(row),
        DataType::LargeUtf8 => array.as_string::<i64>().value(row),
        other => return exec_err!("text expected, not {other}"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_completed_occurrences_per_case_and_restarts_with_each_case() {
        let mut state = Occurrences::default();
        let rows = [
            (Some("c1"), Some("a"), true, Some(1)),
            (Some("c1"), Some("b"), true, Some(1)),
            (Some("c1"), Some("a"), false, None),
            (Some("c1"), Some("a"), true, Some(2)),
            (Some("c1"), Some("a"), true, Some(3)),
            (Some("c2"), Some("a"), true, Some(1)),
            (None, Some("a"), true, Some(1)),
            (None, None, true, Some(1)),
            (None, None, true, Some(2)),
        ];
        for (i, (case, activity, completed, expected)) in rows.into_iter().enumerate() {
            assert_eq!(state.step(case, activity, completed), expected, "row {i}");
        }
    }

    #[test]
    fn numbers_handovers_between_completed_items_per_case() {
        let mut state = Occurrences { counted: Counted::Handover, ..Occurrences::default() };
        let rows = [
            (Some("c1"), Some("ann"), true, None),
            (Some("c1"), Some("bob"), true, Some(1)),
            (Some("c1"), Some("bob"), true, None),
            (Some("c1"), Some("bob"), false, None),
            (Some("c1"), Some("ann"), true, Some(1)),
            (Some("c1"), Some("bob"), true, Some(2)),
            (Some("c1"), None, true, None),
            (Some("c1"), Some("bob"), true, None),
            (Some("c2"), Some("ann"), true, None),
            (Some("c2"), Some("bob"), true, Some(1)),
        ];
        for (i, (case, resource, completed, expected)) in rows.into_iter().enumerate() {
            assert_eq!(state.step(case, resource, completed), expected, "row {i}");
        }
    }
}
