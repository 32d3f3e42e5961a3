//! Running report queries and reading their answers, and the SQL pieces reports share (seconds,
//! quantiles). The events a query starts from, and their case window, are `crate::events`'.

use crate::ReportError;
use arrow::array::{ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use orgata_warehouse::{QueryLimits, TeamScope, Warehouse};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

/// The most rows a report's query may return; larger answers are [`ReportError::TooLarge`].
pub const MAX_ROWS: usize = 1_000_000;

/// The memory a report's query may hold, and a report's events in memory ([`crate::caselog`]).
pub(crate) const MEMORY_BYTES: usize = 2 << 30;

/// The bounds every report query runs within.
pub(crate) fn limits() -> QueryLimits {
    QueryLimits { timeout: Duration::from_secs(300), max_rows: MAX_ROWS, memory_bytes: MEMORY_BYTES }
}

/// Microseconds (an integer SQL expression) as seconds (a double).
pub(crate) fn seconds(micros: &str) -> String {
    format!("CAST({micros} AS DOUBLE) / 1000000.0")
}

/// The `p`-quantile of `value` over the rows of `ranked` with linear interpolation between the
/// two nearest ranks (NumPy's default, `quantile(…, method="linear")`): an aggregate expression
/// over a CTE with the columns `value`, `i` (0-based rank), `n` (rows) and `next_value` (the
/// value ranked after). DataFusion's `percentile_cont` rounds the interpolation weight to 1e-6,
/// so it is not used.
pub(crate) fn quantile(p: f64) -> String {
    let index = format!("{p:?} * (n - 1)");
    format!(
        "max(CASE WHEN i = floor({index}) THEN value + (coalesce(next_value, value) - value) * ({index} - floor({index})) END)"
    )
}

/// A join keeping the rows of `rows` (a table or CTE with `team_id` and `case_id`) whose case is
/// an engine process still running (`running`), or those whose case is not.
pub(crate) fn running_join(rows: &str, running: bool) -> String {
    format!(
        "LEFT JOIN (SELECT team_id AS running_team, id AS running_id FROM instances WHERE status = 'running') running \
         ON {rows}.team_id = running.running_team AND {rows}.case_id = running.running_id \
         WHERE running.running_id IS {}",
        if running { "NOT NULL" } else { "NULL" }
    )
}

/// Runs one report query, logging it with its duration (at debug level).
pub(crate) async fn run(warehouse: &Warehouse, scope: &TeamScope, sql: &str) -> Result<Rows, ReportError> {
    let started = std::time::Instant::now();
    let result = warehouse.query_own(sql, scope, limits()).await?;
    tracing::debug!(
        rows = result.rows,
        elapsed_ms = started.elapsed().as_millis() as u64,
        spilled_bytes = result.spilled_bytes,
        sql,
        "report query"
    );
    if result.truncated {
        return Err(ReportError::TooLarge(MAX_ROWS));
    }
    let batch = arrow::compute::concat_batches(&result.schema, &result.batches)
        .map_err(|e| ReportError::Shape(e.to_string()))?;
    Ok(Rows { batch })
}

/// Runs two computations (each of report queries) at the same time, so that one query's work
/// fills the cores the other leaves idle; the first error ends both.
pub(crate) async fn both<A, B>(
    a: impl Future<Output = Result<A, ReportError>>,
    b: impl Future<Output = Result<B, ReportError>>,
) -> Result<(A, B), ReportError> {
    let mut a = pin!(a);
    let mut b = pin!(b);
    let (mut done_a, mut done_b) = (None, None);
    std::future::poll_fn(|cx| {
        if done_a.is_none() {
            match a.as_mut().poll(cx) {
                Poll::Ready(Ok(value)) => done_a = Some(value),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
        }
        if done_b.is_none() {
            match b.as_mut().poll(cx) {
                Poll::Ready(Ok(value)) => done_b = Some(value),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
        }
        match (done_a.take(), done_b.take()) {
            (Some(x), Some(y)) => Poll::Ready(Ok((x, y))),
            (x, y) => {
                (done_a, done_b) = (x, y);
                Poll::Pending
            }
        }
    })
    .await
}

/// A query's answer, read by column name.
pub(crate) struct Rows {
    batch: RecordBatch,
}

impl Rows {
    /// How many rows.
    pub fn len(&self) -> usize {
        self.batch.num_rows()
    }

    /// The column `name` cast to `to`.
    fn column(&self, name: &str, to: &DataType) -> Result<ArrayRef, ReportError> {
        let column = self
            .batch
            .column_by_name(name)
            .ok_or_else(|| ReportError::Shape(format!("no column `{name}` in {:?}", self.batch.schema())))?;
        arrow::compute::cast(column, to).map_err(|e| ReportError::Shape(format!("column `{name}`: {e}")))
    }

    /// A numeric column as doubles (`None` for nulls).
    pub fn f64s(&self, name: &str) -> Result<Vec<Option<f64>>, ReportError> {
        let column = self.column(name, &DataType::Float64)?;
        Ok(column.as_primitive::<Float64Type>().iter().collect())
    }

    /// An integer column (`None` for nulls).
    pub fn i64s(&self, name: &str) -> Result<Vec<Option<i64>>, ReportError> {
        let column = self.column(name, &DataType::Int64)?;
        Ok(column.as_primitive::<Int64Type>().iter().collect())
    }

    /// A count column: non-negative integers, nulls as 0.
    pub fn counts(&self, name: &str) -> Result<Vec<u64>, ReportError> {
        self.i64s(name)?
            .into_iter()
            .map(|v| {
                u64::try_from(v.unwrap_or(0)).map_err(|_| ReportError::Shape(format!("negative count in `{name}`")))
            })
            .collect()
    }

    /// The first row's integer (`None` for a null or no row): a one-row answer's value.
    pub fn first_i64(&self, name: &str) -> Result<Option<i64>, ReportError> {
        Ok(self.i64s(name)?.first().copied().flatten())
    }

    /// The first row's count (0 for a null or no row).
    pub fn first_count(&self, name: &str) -> Result<u64, ReportError> {
        Ok(self.counts(name)?.first().copied().unwrap_or(0))
    }

    /// A text column; nulls are an error.
    pub fn strings(&self, name: &str) -> Result<Vec<String>, ReportError> {
        let column = self.column(name, &DataType::Utf8)?;
        column
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_string).ok_or_else(|| ReportError::Shape(format!("null in `{name}`"))))
            .collect()
    }

    /// A text column (`None` for nulls).
    pub fn optional_strings(&self, name: &str) -> Result<Vec<Option<String>>, ReportError> {
        let column = self.column(name, &DataType::Utf8)?;
        Ok(column.as_string::<i32>().iter().map(|v| v.map(str::to_string)).collect())
    }
}
