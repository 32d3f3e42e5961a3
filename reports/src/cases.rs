//! Case-level figures: how many cases and events, how long cases take, how often cases arrive.

use crate::sql::{self, events_cte, quantile, seconds};
use crate::{Filter, ReportError};
use orgata_warehouse::{TeamScope, Warehouse};
use serde::Serialize;

/// How many cases and events a filter covers, and how long the cases took.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseStatistics {
    /// Distinct cases.
    pub cases: u64,
    /// Events counted (`complete` events only where lifecycles are mixed).
    pub events: u64,
    /// Case durations (last event's time minus first event's), in seconds; `None` without cases.
    pub duration_s: Option<DurationSummary>,
}

/// A summary of a set of durations, in seconds. Medians of an even count are the mean of the two
/// middle values; percentiles interpolate linearly between the two nearest ranks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DurationSummary {
    pub mean: f64,
    pub median: f64,
    pub p90: f64,
    pub p95: f64,
    pub min: f64,
    pub max: f64,
}

/// Counts cases and events and summarises case durations.
///
/// SQL: one row per case (`max(t) - min(t)`), then `avg`, `median`, `min` and `max` over the
/// cases and the 90th and 95th percentiles from a ranked copy (`row_number`, `lead`).
pub async fn case_statistics(
    warehouse: &Warehouse,
    scope: &TeamScope,
    filter: &Filter,
) -> Result<CaseStatistics, ReportError> {
    let sql = format!(
        "{ev},
        cases AS (SELECT {duration} AS value, count(*) AS events FROM ev GROUP BY team_id, case_id),
        ranked AS (
            SELECT value, events, row_number() OVER (ORDER BY value) - 1 AS i, count(*) OVER () AS n,
                lead(value) OVER (ORDER BY value) AS next_value
            FROM cases
        )
        SELECT count(*) AS cases, sum(events) AS events, avg(value) AS mean, median(value) AS median,
            min(value) AS min, max(value) AS max, {p90} AS p90, {p95} AS p95
        FROM ranked",
        ev = events_cte(filter),
        duration = seconds("max(t) - min(t)"),
        p90 = quantile(0.9),
        p95 = quantile(0.95),
    );
    let rows = sql::run(warehouse, scope, &sql).await?;
    if rows.len() != 1 {
        return Err(ReportError::Shape(format!("{} rows of case statistics", rows.len())));
    }
    let cases = rows.counts("cases")?[0];
    let events = rows.counts("events")?[0];
    let value = |name: &str| -> Result<Option<f64>, ReportError> { Ok(rows.f64s(name)?[0]) };
    let duration_s =
        match (value("mean")?, value("median")?, value("p90")?, value("p95")?, value("min")?, value("max")?) {
            (Some(mean), Some(median), Some(p90), Some(p95), Some(min), Some(max)) if cases > 0 => {
                Some(DurationSummary { mean, median, p90, p95, min, max })
            }
            _ => None,
        };
    Ok(CaseStatistics { cases, events, duration_s })
}

/// The mean time between consecutive case starts (first events), in seconds; `None` with fewer
/// than two cases.
///
/// SQL: each case's first time, `lag` over them in time order, `avg` of the gaps.
pub async fn case_arrival_average(
    warehouse: &Warehouse,
    scope: &TeamScope,
    filter: &Filter,
) -> Result<Option<f64>, ReportError> {
    let sql = format!(
        "{ev},
        starts AS (SELECT min(t) AS first_t FROM ev GROUP BY team_id, case_id),
        gaps AS (SELECT first_t - lag(first_t) OVER (ORDER BY first_t) AS gap FROM starts)
        SELECT avg({gap}) AS mean FROM gaps",
        ev = events_cte(filter),
        gap = seconds("gap"),
    );
    let rows = sql::run(warehouse, scope, &sql).await?;
    Ok(rows.f64s("mean")?.first().copied().flatten())
}
