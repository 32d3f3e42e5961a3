//! Case-level figures: how many cases and events, how long cases take, how often cases arrive.

use crate::caselog::{CaseLog, NONE, seconds_between};
use crate::sql::{quantile, seconds};
use crate::stats;
use crate::{Events, ReportError};
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
    /// The first quartile: a quarter of the durations are shorter.
    pub p25: f64,
    /// The third quartile: three quarters of the durations are shorter.
    pub p75: f64,
    pub p90: f64,
    pub p95: f64,
    pub min: f64,
    pub max: f64,
}

/// The cases report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseReport {
    pub statistics: CaseStatistics,
    /// Mean time between consecutive case starts, in seconds (`None` below two cases).
    pub arrival_average_s: Option<f64>,
}

/// The cases report: the case statistics and the mean time between consecutive case starts, from
/// one query.
///
/// SQL: one row per case (its first time and `max(t) - min(t)`), then `avg`, `median`, `min` and
/// `max` over the cases, the 90th and 95th percentiles from a ranked copy (`row_number`, `lead`),
/// and the first and last case start. The gaps between consecutive starts add up to the last
/// start minus the first, so their mean is that over the cases less one.
pub async fn case_report(events: &Events<'_>) -> Result<CaseReport, ReportError> {
    let sql = format!(
        "{ev},
        cases AS (SELECT {duration} AS value, min(t) AS first_t, count(*) AS events FROM ev GROUP BY {case}),
        ranked AS (
            SELECT value, first_t, events, row_number() OVER (ORDER BY value) - 1 AS i, count(*) OVER () AS n,
                lead(value) OVER (ORDER BY value) AS next_value
            FROM cases
        )
        SELECT count(*) AS cases, sum(events) AS events, avg(value) AS mean, median(value) AS median,
            min(value) AS min, max(value) AS max, {p25} AS p25, {p75} AS p75, {p90} AS p90, {p95} AS p95,
            {starts_span} AS starts_span
        FROM ranked",
        ev = events.cte(),
        case = events.case_key(),
        duration = seconds("max(t) - min(t)"),
        p25 = quantile(0.25),
        p75 = quantile(0.75),
        p90 = quantile(0.9),
        p95 = quantile(0.95),
        starts_span = seconds("max(first_t) - min(first_t)"),
    );
    let rows = events.run(&sql).await?;
    if rows.len() != 1 {
        return Err(ReportError::Shape(format!("{} rows of case statistics", rows.len())));
    }
    let cases = rows.counts("cases")?[0];
    let counted = rows.counts("events")?[0];
    let value = |name: &str| -> Result<Option<f64>, ReportError> { Ok(rows.f64s(name)?[0]) };
    let quartiles = (value("p25")?, value("p75")?);
    let duration_s =
        match (value("mean")?, value("median")?, quartiles, value("p90")?, value("p95")?, value("min")?, value("max")?)
        {
            (Some(mean), Some(median), (Some(p25), Some(p75)), Some(p90), Some(p95), Some(min), Some(max))
                if cases > 0 =>
            {
                Some(DurationSummary { mean, median, p25, p75, p90, p95, min, max })
            }
            _ => None,
        };
    let arrival_average_s = value("starts_span")?.filter(|_| cases >= 2).map(|span| span / (cases - 1) as f64);
    Ok(CaseReport { statistics: CaseStatistics { cases, events: counted, duration_s }, arrival_average_s })
}

impl CaseReport {
    /// The cases report of a log whose rows are the counted events (an imported log's work items,
    /// `Events::items_are_counted_events`), as [`case_report`] computes it in SQL.
    pub(crate) fn of_log(log: &CaseLog) -> CaseReport {
        let mut durations = Vec::with_capacity(log.cases());
        let (mut events, mut first_start, mut last_start) = (0u64, None::<i64>, None::<i64>);
        for rows in log.case_ranges() {
            events += rows.len() as u64;
            let times = log.t[rows].iter().copied().filter(|&t| t != NONE);
            let Some((first, last)) = times.fold(None, |span, t| match span {
                None => Some((t, t)),
                Some((first, last)) => Some((t.min(first), t.max(last))),
            }) else {
                continue;
            };
            durations.push(seconds_between(last, first));
            first_start = Some(first_start.map_or(first, |t| t.min(first)));
            last_start = Some(last_start.map_or(first, |t| t.max(first)));
        }
        let median = stats::median(&mut durations);
        durations.sort_unstable_by(f64::total_cmp);
        let cases = durations.len() as u64;
        let duration_s = (cases > 0).then(|| DurationSummary {
            mean: stats::mean(&durations),
            median,
            p25: stats::quantile(&durations, 0.25),
            p75: stats::quantile(&durations, 0.75),
            p90: stats::quantile(&durations, 0.9),
            p95: stats::quantile(&durations, 0.95),
            min: durations[0],
            max: durations[durations.len() - 1],
        });
        let arrival_average_s = first_start
            .zip(last_start)
            .filter(|_| cases >= 2)
            .map(|(first, last)| seconds_between(last, first) / (cases - 1) as f64);
        CaseReport { statistics: CaseStatistics { cases, events, duration_s }, arrival_average_s }
    }
}
