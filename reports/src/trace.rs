//! `case_trace(case_id, activity, t)` and `case_span(case_id, activity, t)`: window functions that,
//! on the last row of each case, give the case's activities in the window's order (its trace,
//! encoded by [`encode`]) and the time from its first row's `t` to its last's; `NULL` on every
//! other row.
//!
//! They let the variants report find each case's trace in one sort of the events and one pass
//! over it, instead of an ordered `array_agg` per case, whose accumulators keep and merge every
//! case's events with their order keys (about nine tenths of that query's time).
//!
//! The window must keep each case's rows together, in order (its order starts with `case_id`):
//! the functions remember only the current case. They look one row ahead — whether the next row
//! is of another case — as `lead` does, so DataFusion streams them (`BoundedWindowAggExec`).

use crate::occurrence::text;
use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{PartitionEvaluator, Signature, Volatility, WindowUDF, WindowUDFImpl};
use std::any::Any;
use std::ops::Range;

/// What a case's last row gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Output {
    /// The encoded activities (`case_trace`).
    Trace,
    /// The last row's `t` minus the first's (`case_span`).
    Span,
}

/// The window function giving each case's trace, to register in a query's session.
pub(crate) fn case_trace() -> WindowUDF {
    CaseEnd::udf(Output::Trace)
}

/// The window function giving each case's span of time, to register in a query's session.
pub(crate) fn case_span() -> WindowUDF {
    CaseEnd::udf(Output::Span)
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
        WindowUDF::new_from_impl(CaseEnd { output, signature: Signature::any(3, Volatility::Immutable) })
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
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn partition_evaluator(&self, _args: PartitionEvaluatorArgs) -> Result<Box<dyn PartitionEvaluator>> {
        Ok(Box::new(Cases { output: self.output, ..Cases::default() }))
    }

    fn field(&self, args: WindowUDFFieldArgs) -> Result<FieldRef> {
        for (i, name) in [(0, "case_id"), (1, "activity")] {
            match args.get_input_field(i).map(|f| f.data_type().clone()) {
                Some(DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => {}
                other => return exec_err!("{}: {name} must be text, not {other:?}", self.name()),
            }
        }
        match args.get_input_field(2).map(|f| f.data_type().clone()) {
            Some(DataType::Int64) => {}
            other => return exec_err!("{}: t must be a BIGINT, not {other:?}", self.name()),
        }
        let kind = match self.output {
            Output::Trace => DataType::Utf8,
            Output::Span => DataType::Int64,
        };
        Ok(Field::new(args.name(), kind, true).into())
    }
}

/// The state over one window partition: the current case, its trace so far and its first time.
#[derive(Debug)]
struct Cases {
    output: Output,
    /// Whether a case is under way (its last row not yet taken).
    open: bool,
    case: Option<String>,
    trace: String,
    first_t: Option<i64>,
}

impl Default for Cases {
    fn default() -> Self {
        Cases { output: Output::Trace, open: false, case: None, trace: String::new(), first_t: None }
    }
}

impl Cases {
    /// Takes one row after the rows before it; on a case's last row (`last`), what the case gives.
    fn step(&mut self, case: Option<&str>, activity: Option<&str>, t: Option<i64>, last: bool) -> ScalarValue {
        if !self.open || self.case.as_deref() != case {
            self.open = true;
            self.case = case.map(str::to_string);
            self.trace.clear();
            self.first_t = t;
        }
        if self.output == Output::Trace {
            encode(&mut self.trace, activity.unwrap_or_default());
        }
        self.open = !last;
        match (self.output, last) {
            (Output::Trace, true) => ScalarValue::Utf8(Some(std::mem::take(&mut self.trace))),
            (Output::Span, true) => ScalarValue::Int64(t.zip(self.first_t).map(|(last, first)| last - first)),
            (Output::Trace, false) => ScalarValue::Utf8(None),
            (Output::Span, false) => ScalarValue::Int64(None),
        }
    }
}

impl PartitionEvaluator for Cases {
    fn supports_bounded_execution(&self) -> bool {
        true
    }

    /// The row and the one after it (whether that one is of another case).
    fn get_range(&self, idx: usize, n_rows: usize) -> Result<Range<usize>> {
        Ok(idx..(idx + 2).min(n_rows))
    }

    fn evaluate(&mut self, values: &[ArrayRef], range: &Range<usize>) -> Result<ScalarValue> {
        let row = range.start;
        let [case, activity, t, ..] = values else {
            return exec_err!("case_trace and case_span take case_id, activity and t");
        };
        let this = text(case, row)?;
        let last = range.end <= row + 1 || text(case, row + 1)? != this;
        let t = if t.is_null(row) { None } else { Some(t.as_primitive::<Int64Type>().value(row)) };
        Ok(self.step(this, text(activity, row)?, t, last))
    }
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
        let rows = [
            (Some("c1"), "a", Some(10), false),
            (Some("c1"), "b", Some(15), false),
            (Some("c1"), "a", Some(40), true),
            (Some("c2"), "b", Some(7), true),
            (None, "x", Some(1), false),
            (None, "y", None, true),
        ];
        let mut traces = Cases::default();
        let mut spans = Cases { output: Output::Span, ..Cases::default() };
        let mut given = Vec::new();
        for (case, activity, t, last) in rows {
            let trace = traces.step(case, Some(activity), t, last);
            let span = spans.step(case, Some(activity), t, last);
            given.push((trace, span));
        }
        let none = (ScalarValue::Utf8(None), ScalarValue::Int64(None));
        assert_eq!(
            given,
            [
                none.clone(),
                none.clone(),
                (ScalarValue::Utf8(Some("1:a1:b1:a".into())), ScalarValue::Int64(Some(30))),
                (ScalarValue::Utf8(Some("1:b".into())), ScalarValue::Int64(Some(0))),
                none,
                (ScalarValue::Utf8(Some("1:x1:y".into())), ScalarValue::Int64(None)),
            ]
        );
    }
}
