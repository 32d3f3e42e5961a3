//! Window functions that give, on the last row of each case, something of the whole case, and
//! `NULL` on every other row:
//!
//! - `case_trace(case_id, activity, t)`: the case's activities in the window's order (its trace,
//!   encoded by [`encode`]);
//! - `case_span(case_id, activity, t)`: the time from its first row's `t` to its last's;
//! - `case_first(case_id, activity, t, ordinal)` and `case_last(…)`: the activity of its first
//!   (last) event in order of `t`, then `ordinal` — whatever the window's order within the case.
//!
//! They let the variants report find each case's trace in one sort of the events and one pass
//! over it, instead of an ordered `array_agg` per case, whose accumulators keep and merge every
//! case's events with their order keys (about nine tenths of that query's time); and the
//! directly-follows graph find its start and end activities in the window that pairs its events
//! (ordered by start time), instead of a second sort by completion time.
//!
//! The window must keep each case's rows together, in order (its order starts with `case_id`).
//! Each window partition is evaluated at once (`evaluate_all`, in DataFusion's `WindowAggExec`):
//! one pass over its arrays, without a value per row boxed as a `ScalarValue`.

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, Int64Builder, StringArray, StringBuilder};
use arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::{Result, exec_datafusion_err, exec_err};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{PartitionEvaluator, Signature, Volatility, WindowUDF, WindowUDFImpl};
use std::any::Any;
use std::sync::Arc;

/// What a case's last row gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Output {
    /// The encoded activities (`case_trace`).
    Trace,
    /// The last row's `t` minus the first's (`case_span`).
    Span,
    /// The activity of the least (`t`, `ordinal`) (`case_first`).
    First,
    /// The activity of the greatest (`t`, `ordinal`) (`case_last`).
    Last,
}

/// The window function giving each case's trace, to register in a query's session.
pub(crate) fn case_trace() -> WindowUDF {
    CaseEnd::udf(Output::Trace)
}

/// The window function giving each case's span of time, to register in a query's session.
pub(crate) fn case_span() -> WindowUDF {
    CaseEnd::udf(Output::Span)
}

/// The window function giving each case's first activity by time, to register in a query's session.
pub(crate) fn case_first() -> WindowUDF {
    CaseEnd::udf(Output::First)
}

/// The window function giving each case's last activity by time, to register in a query's session.
pub(crate) fn case_last() -> WindowUDF {
    CaseEnd::udf(Output::Last)
}

/// Activities as one text, each as its length in bytes, `:`, and itself (`5:check3:pay`): any
/// activity name, `:` or digits included, decodes back exactly.
pub(crate) fn encode(trace: &mut String, activity: &str) {
    use std::fmt::Write;
    let _ = write!(trace, "{}:{activity}", activity.len());
}

/// The activities of an [`encode`]d trace; `None` if it is not one.
pub(crate) fn decode(mut trace: &str) -> Option<Vec<String>> {
    let mut activities = Vec::new();
    while !trace.is_empty() {
        let (length, rest) = trace.split_once(':')?;
        let length: usize = length.parse().ok()?;
        activities.push(rest.get(..length)?.to_string());
        trace = rest.get(length..)?;
    }
    Some(activities)
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct CaseEnd {
    output: Output,
    signature: Signature,
}

impl CaseEnd {
    fn udf(output: Output) -> WindowUDF {
        let arguments = match output {
            Output::Trace | Output::Span => 3,
            Output::First | Output::Last => 4,
        };
        WindowUDF::new_from_impl(CaseEnd { output, signature: Signature::any(arguments, Volatility::Immutable) })
    }
}

impl WindowUDFImpl for CaseEnd {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        match self.output {
            Output::Trace => "case_trace",
            Output::Span => "case_span",
            Output::First => "case_first",
            Output::Last => "case_last",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn partition_evaluator(&self, _args: PartitionEvaluatorArgs) -> Result<Box<dyn PartitionEvaluator>> {
        Ok(Box::new(Cases { output: self.output }))
    }

    fn field(&self, args: WindowUDFFieldArgs) -> Result<FieldRef> {
        for (i, name) in [(0, "case_id"), (1, "activity")] {
            match args.get_input_field(i).map(|f| f.data_type().clone()) {
                Some(DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => {}
                other => return exec_err!("{}: {name} must be text, not {other:?}", self.name()),
            }
        }
        let integers: &[(usize, &str)] = match self.output {
            Output::Trace | Output::Span => &[(2, "t")],
            Output::First | Output::Last => &[(2, "t"), (3, "ordinal")],
        };
        for &(i, name) in integers {
            match args.get_input_field(i).map(|f| f.data_type().clone()) {
                Some(DataType::Int64) => {}
                other => return exec_err!("{}: {name} must be a BIGINT, not {other:?}", self.name()),
            }
        }
        let kind = match self.output {
            Output::Trace | Output::First | Output::Last => DataType::Utf8,
            Output::Span => DataType::Int64,
        };
        Ok(Field::new(args.name(), kind, true).into())
    }
}

/// The evaluator over one window partition.
#[derive(Debug)]
struct Cases {
    output: Output,
}

impl PartitionEvaluator for Cases {
    /// The whole partition at once: a pass over its rows in order, a case ending where the next
    /// row's case differs.
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let [case, activity, t, rest @ ..] = values else {
            return exec_err!("{:?} takes case_id, activity and t", self.output);
        };
        if num_rows == 0 {
            let kind = if self.output == Output::Span { DataType::Int64 } else { DataType::Utf8 };
            return Ok(arrow::array::new_empty_array(&kind));
        }
        let ends = CaseEnds::new(case, num_rows)?;
        let integers = |array: &ArrayRef| {
            array.as_primitive_opt::<Int64Type>().cloned().ok_or_else(|| exec_datafusion_err!("a BIGINT expected"))
        };
        Ok(match self.output {
            Output::Trace => {
                let activity = strings(activity)?;
                let mut traces = StringBuilder::with_capacity(ends.cases, num_rows * 8);
                let mut trace = String::new();
                for row in 0..num_rows {
                    encode(&mut trace, if activity.is_valid(row) { activity.value(row) } else { "" });
                    if ends.is_last(row) {
                        traces.append_value(&trace);
                        trace.clear();
                    } else {
                        traces.append_null();
                    }
                }
                Arc::new(traces.finish())
            }
            Output::Span => {
                let t = integers(t)?;
                let mut spans = Int64Builder::with_capacity(num_rows);
                let mut first = None;
                for row in 0..num_rows {
                    let now = t.is_valid(row).then(|| t.value(row));
                    if ends.is_first(row) {
                        first = now;
                    }
                    if ends.is_last(row) {
                        spans.append_option(now.zip(first).map(|(last, first)| last - first));
                    } else {
                        spans.append_null();
                    }
                }
                Arc::new(spans.finish())
            }
            Output::First | Output::Last => {
                let [ordinal, ..] = rest else {
                    return exec_err!("{:?} takes case_id, activity, t and ordinal", self.output);
                };
                let (activity, t, ordinal) = (strings(activity)?, integers(t)?, integers(ordinal)?);
                // The order of `ORDER BY t, ordinal`: ascending, nulls last.
                let key = |row: usize| {
                    let value = |a: &Int64Array| if a.is_valid(row) { (0, a.value(row)) } else { (1, 0) };
                    (value(&t), value(&ordinal))
                };
                let mut found = StringBuilder::with_capacity(ends.cases, ends.cases * 8);
                let mut best = (key(0), 0);
                for row in 0..num_rows {
                    let k = key(row);
                    let better = match self.output {
                        Output::First => k < best.0,
                        _ => k > best.0,
                    };
                    if ends.is_first(row) || better {
                        best = (k, row);
                    }
                    if !ends.is_last(row) {
                        found.append_null();
                    } else if activity.is_valid(best.1) {
                        found.append_value(activity.value(best.1));
                    } else {
                        found.append_null();
                    }
                }
                Arc::new(found.finish())
            }
        })
    }
}

/// Where the cases of a partition's rows begin and end: a row ends its case when it is the last
/// row or the next row's case differs (nulls are a case of their own).
struct CaseEnds {
    /// `last[row]`: whether `row` is its case's last row.
    last: Vec<bool>,
    /// How many cases.
    cases: usize,
}

impl CaseEnds {
    fn new(case: &ArrayRef, rows: usize) -> Result<CaseEnds> {
        let case = strings(case)?;
        let last: Vec<bool> = (0..rows)
            .map(|row| {
                row + 1 == rows
                    || case.is_valid(row) != case.is_valid(row + 1)
                    || case.value(row) != case.value(row + 1)
            })
            .collect();
        let cases = last.iter().filter(|&&l| l).count();
        Ok(CaseEnds { last, cases })
    }

    fn is_last(&self, row: usize) -> bool {
        self.last[row]
    }

    fn is_first(&self, row: usize) -> bool {
        row == 0 || self.last[row - 1]
    }
}

/// A text column as `Utf8` (cast from string views or large strings when it is one of those).
fn strings(array: &ArrayRef) -> Result<StringArray> {
    let utf8 = match array.data_type() {
        DataType::Utf8 => Arc::clone(array),
        DataType::LargeUtf8 | DataType::Utf8View => arrow::compute::cast(array, &DataType::Utf8)?,
        other => return exec_err!("text expected, not {other}"),
    };
    Ok(utf8.as_string::<i32>().clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_encode_any_activity_and_decode_back() {
        let mut trace = String::new();
        for activity in ["check", "", "3:x", "pay€", "12"] {
            encode(&mut trace, activity);
        }
        assert_eq!(trace, "5:check0:3:3:x6:pay€2:12");
        assert_eq!(decode(&trace).unwrap(), ["check", "", "3:x", "pay€", "12"]);
        assert_eq!(decode("").unwrap(), Vec::<String>::new());
        for broken in ["5:chec", "x:a", "3", "2:€"] {
            assert_eq!(decode(broken), None, "{broken}");
        }
    }

    #[test]
    fn each_case_gives_its_trace_and_span_on_its_last_row() {
        let case: ArrayRef =
            Arc::new(StringArray::from(vec![Some("c1"), Some("c1"), Some("c1"), Some("c2"), None, None]));
        let activity: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "a", "b", "x", "y"]));
        let t: ArrayRef = Arc::new(Int64Array::from(vec![Some(10), Some(15), Some(40), Some(7), Some(1), None]));
        let values = [case, activity, t];
        let traces = Cases { output: Output::Trace }.evaluate_all(&values, 6).unwrap();
        let traces: Vec<Option<&str>> = traces.as_string::<i32>().iter().collect();
        assert_eq!(traces, [None, None, Some("1:a1:b1:a"), Some("1:b"), None, Some("1:x1:y")]);
        let spans = Cases { output: Output::Span }.evaluate_all(&values, 6).unwrap();
        let spans: Vec<Option<i64>> = spans.as_primitive::<Int64Type>().iter().collect();
        assert_eq!(spans, [None, None, Some(30), Some(0), None, None]);
        // A partition of views reads the same.
        let views: Vec<ArrayRef> = values
            .iter()
            .map(|v| arrow::compute::cast(v, &DataType::Utf8View).unwrap_or_else(|_| Arc::clone(v)))
            .collect();
        let viewed = Cases { output: Output::Trace }
            .evaluate_all(&[Arc::clone(&views[0]), Arc::clone(&views[1]), Arc::clone(&values[2])], 6)
            .unwrap();
        assert_eq!(viewed.as_string::<i32>().iter().collect::<Vec<_>>(), traces);
    }

    #[test]
    fn each_case_gives_its_first_and_last_activity_by_time_then_ordinal() {
        // Within each case the rows come in another order (as the DFG's window orders by start
        // time); first and last are by (t, ordinal), nulls last.
        let case: ArrayRef = Arc::new(StringArray::from(vec!["c1", "c1", "c1", "c2", "c2"]));
        let activity: ArrayRef = Arc::new(StringArray::from(vec!["b", "a", "c", "x", "y"]));
        let t: ArrayRef = Arc::new(Int64Array::from(vec![Some(20), Some(20), Some(5), None, Some(3)]));
        let ordinal: ArrayRef = Arc::new(Int64Array::from(vec![2, 1, 3, 1, 2]));
        let values = [case, activity, t, ordinal];
        let found = |output| {
            let array = Cases { output }.evaluate_all(&values, 5).unwrap();
            array.as_string::<i32>().iter().map(|v| v.map(str::to_string)).collect::<Vec<_>>()
        };
        let some = |s: &str| Some(s.to_string());
        assert_eq!(found(Output::First), [None, None, some("c"), None, some("y")]);
        assert_eq!(found(Output::Last), [None, None, some("b"), None, some("x")]);
        assert_eq!(Cases { output: Output::First }.evaluate_all(&values, 0).unwrap().len(), 0);
    }
}
