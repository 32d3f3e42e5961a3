//! `nth_occurrence(case_id, activity, t)`: a window function that numbers each completed item's
//! occurrence of its activity within its case, in the window's order: 1 for the activity's first
//! completed item in the case, 2 for its second, and so on; `NULL` for an item that has not
//! completed (`t` is `NULL`).
//!
//! It lets the items query, which already orders every case's items, also tell in how many cases
//! each activity occurs and in how many it occurs more than once (rework), instead of a hash
//! aggregation by case and activity — a group per event, the largest state of any report query.
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

/// The window function, to register in a query's session.
pub(crate) fn nth_occurrence() -> WindowUDF {
    WindowUDF::new_from_impl(NthOccurrence { signature: Signature::any(3, Volatility::Immutable) })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct NthOccurrence {
    signature: Signature,
}

impl WindowUDFImpl for NthOccurrence {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        "nth_occurrence"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn partition_evaluator(&self, _args: PartitionEvaluatorArgs) -> Result<Box<dyn PartitionEvaluator>> {
        Ok(Box::<Occurrences>::default())
    }

    fn field(&self, args: WindowUDFFieldArgs) -> Result<FieldRef> {
        for (i, name) in [(0, "case_id"), (1, "activity")] {
            match args.get_input_field(i).map(|f| f.data_type().clone()) {
                Some(DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => {}
                other => return exec_err!("nth_occurrence: {name} must be text, not {other:?}"),
            }
        }
        Ok(Field::new(args.name(), DataType::UInt64, true).into())
    }
}

/// The state over one window partition: the current case and its activities' completed items.
#[derive(Debug, Default)]
struct Occurrences {
    case: Option<String>,
    /// Per activity of the current case, its completed items so far (a case has few activities).
    seen: Vec<(String, u64)>,
}

impl Occurrences {
    /// The row's occurrence number (`None` unless `completed`), after the rows before it.
    fn step(&mut self, case: Option<&str>, activity: Option<&str>, completed: bool) -> Option<u64> {
        if self.case.as_deref() != case {
            self.case = case.map(str::to_string);
            self.seen.clear();
        }
        let activity = activity.unwrap_or_default();
        if !completed {
            return None;
        }
        match self.seen.iter_mut().find(|(a, _)| a == activity) {
            Some((_, n)) => {
                *n += 1;
                Some(*n)
            }
            None => {
                self.seen.push((activity.to_string(), 1));
                Some(1)
            }
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

/// The text at `row` of a string column (`None` for null); the window functions' reading of text.
pub(crate) fn text(array: &ArrayRef, row: usize) -> Result<Option<&str>> {
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
}
