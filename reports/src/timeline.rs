//! Cases over time: how many start and complete per day or week (throughput), and how many are
//! open at the end of each (work in progress).

use crate::sql::{self, events_cte};
use crate::{Filter, ReportError};
use chrono::{DateTime, Utc};
use orgata_warehouse::{TeamScope, Warehouse};
use serde::Serialize;

/// The length of a timeline's periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// UTC days.
    Day,
    /// ISO weeks: Monday 00:00 UTC to the next Monday.
    Week,
}

const DAY_MICROS: i64 = 86_400_000_000;

impl Period {
    fn micros(self) -> i64 {
        match self {
            Period::Day => DAY_MICROS,
            Period::Week => 7 * DAY_MICROS,
        }
    }

    /// A period boundary: the epoch for days, Monday 1970-01-05 for weeks.
    fn origin(self) -> i64 {
        match self {
            Period::Day => 0,
            Period::Week => 4 * DAY_MICROS,
        }
    }
}

/// Cases per period, from the period of the first event to that of the last.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Timeline {
    pub period: Period,
    /// Every period in the range, in time order, including those where nothing happened.
    pub periods: Vec<PeriodCounts>,
}

/// What happened to cases in one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PeriodCounts {
    /// When the period starts.
    pub start: DateTime<Utc>,
    /// Cases whose first event falls in the period.
    pub started: u64,
    /// Cases whose last event falls in the period (throughput). For the engine's events, cases
    /// whose instance is still running are not completed.
    pub completed: u64,
    /// Cases open at the period's end (work in progress): started at or before it and completed
    /// after it, or not completed.
    pub open_at_end: u64,
}

/// Throughput and work in progress per period.
///
/// SQL: each case's first and last time (for the engine's events, a running instance — in
/// `instances` — has no end), put into periods by integer division; `started` and `completed`
/// are counts per period, `open_at_end` a running sum (`sum(…) OVER (ORDER BY period)`) of +1 at
/// the first period whose end a case is open at and −1 at the first whose end it is not; the
/// periods themselves come from `generate_series`.
pub async fn timeline(
    warehouse: &Warehouse,
    scope: &TeamScope,
    filter: &Filter,
    period: Period,
) -> Result<Timeline, ReportError> {
    let (length, origin) = (period.micros(), period.origin());
    // The period of the instant `x` microseconds after the origin (floor division).
    let bin = |x: &str| format!("(CASE WHEN {x} >= 0 THEN ({x}) / {length} ELSE -((-({x}) - 1) / {length}) - 1 END)");
    let (instances, running) = if filter.is_engine() {
        ("LEFT JOIN instances i ON i.team_id = c.team_id AND i.id = c.case_id", "coalesce(i.status = 'running', false)")
    } else {
        ("", "false")
    };
    let sql = format!(
        "{ev},
        cases AS (SELECT team_id, case_id, min(t) AS first_t, max(t) AS last_t FROM ev GROUP BY team_id, case_id),
        ends AS (
            SELECT c.first_t - {origin} AS first_t, c.last_t - {origin} AS last_t,
                CASE WHEN {running} THEN NULL ELSE c.last_t - {origin} END AS end_t
            FROM cases c {instances}
        ),
        bins AS (
            SELECT {first_bin} AS first_bin, {last_bin} AS last_bin, {end_bin} AS end_bin,
                {open_bin} AS open_bin, {close_bin} AS close_bin
            FROM ends
        ),
        bounds AS (SELECT min(first_bin) AS lo, max(last_bin) AS hi FROM bins),
        periods AS (SELECT unnest(generate_series(lo, hi)) AS p FROM bounds WHERE lo IS NOT NULL),
        started AS (SELECT first_bin AS p, count(*) AS n FROM bins GROUP BY first_bin),
        completed AS (SELECT end_bin AS p, count(*) AS n FROM bins WHERE end_bin IS NOT NULL GROUP BY end_bin),
        deltas AS (
            SELECT open_bin AS p, 1 AS d FROM bins
            UNION ALL SELECT close_bin AS p, -1 AS d FROM bins WHERE close_bin IS NOT NULL
        ),
        changes AS (SELECT p, sum(d) AS d FROM deltas GROUP BY p),
        moments AS (SELECT p FROM periods UNION SELECT p FROM changes),
        open_cases AS (
            SELECT m.p, sum(coalesce(changes.d, 0)) OVER (ORDER BY m.p ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS n
            FROM moments m LEFT JOIN changes ON changes.p = m.p
        )
        SELECT periods.p AS period, coalesce(started.n, 0) AS started, coalesce(completed.n, 0) AS completed,
            open_cases.n AS open_at_end
        FROM periods
        LEFT JOIN started ON started.p = periods.p
        LEFT JOIN completed ON completed.p = periods.p
        JOIN open_cases ON open_cases.p = periods.p
        ORDER BY periods.p",
        ev = events_cte(filter),
        first_bin = bin("first_t"),
        last_bin = bin("last_t"),
        end_bin = bin("end_t"),
        // Open at the end `E` of period `p` when first ≤ E < end: from the period of `first - 1µs`
        // until (excluding) that of `end - 1µs`.
        open_bin = bin("first_t - 1"),
        close_bin = bin("end_t - 1"),
    );
    let rows = sql::run(warehouse, scope, &sql).await?;
    let (bins, started, completed, open) =
        (rows.i64s("period")?, rows.counts("started")?, rows.counts("completed")?, rows.counts("open_at_end")?);
    let mut periods = Vec::with_capacity(rows.len());
    for i in 0..rows.len() {
        let bin = bins[i].ok_or_else(|| ReportError::Shape("a null period".into()))?;
        let start = bin
            .checked_mul(length)
            .and_then(|m| m.checked_add(origin))
            .and_then(DateTime::from_timestamp_micros)
            .ok_or_else(|| ReportError::Shape(format!("period {bin} is out of range")))?;
        periods.push(PeriodCounts { start, started: started[i], completed: completed[i], open_at_end: open[i] });
    }
    Ok(Timeline { period, periods })
}

impl std::str::FromStr for Period {
    type Err = ReportError;

    /// `day` or `week`.
    fn from_str(name: &str) -> Result<Period, ReportError> {
        match name {
            "day" => Ok(Period::Day),
            "week" => Ok(Period::Week),
            other => Err(ReportError::InvalidFilter(format!("no period `{other}`: use day or week"))),
        }
    }
}
