//! Variants: the distinct activity sequences cases follow.

use crate::sql::seconds;
use crate::trace::decode;
use crate::{Events, ReportError};
use serde::Serialize;

/// The variants of a filter's cases, most frequent first.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Variants {
    /// Cases over all variants.
    pub cases: u64,
    /// Each distinct activity sequence; by frequency (descending), then sequence.
    pub variants: Vec<Variant>,
}

/// One activity sequence and the cases that followed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Variant {
    /// The activities in case order (time, ties in file order).
    pub activities: Vec<String>,
    /// Cases that followed exactly this sequence.
    pub frequency: u64,
    /// `frequency` over all cases.
    pub share: f64,
    /// Mean case duration, in seconds.
    pub mean_duration_s: f64,
    /// Median case duration, in seconds.
    pub median_duration_s: f64,
}

/// The variants: each case's trace — its activities in order of time, ties in file order — and
/// duration from one sort of the events by case (the window functions of [`crate::trace`]),
/// grouped by trace with the count and the mean and median case duration.
pub async fn variants(events: &Events<'_>) -> Result<Variants, ReportError> {
    let sql = format!(
        "{ev},
        ends AS (
            SELECT case_trace(case_id, activity, t) OVER w AS trace, case_span(case_id, activity, t) OVER w AS span
            FROM ev WINDOW w AS ({window})
        ),
        traces AS (SELECT trace, {duration} AS duration FROM ends WHERE trace IS NOT NULL)
        SELECT trace, count(*) AS frequency, avg(duration) AS mean, median(duration) AS median
        FROM traces GROUP BY trace",
        ev = events.cte(),
        window = events.case_window("t, ordinal"),
        duration = seconds("span"),
    );
    let rows = events.run(&sql).await?;
    let activities = rows
        .strings("trace")?
        .iter()
        .map(|trace| decode(trace).ok_or_else(|| ReportError::Shape(format!("not a trace: {trace}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let frequencies = rows.counts("frequency")?;
    let means = rows.f64s("mean")?;
    let medians = rows.f64s("median")?;
    let cases: u64 = frequencies.iter().sum();
    let mut variants: Vec<Variant> = activities
        .into_iter()
        .zip(frequencies)
        .zip(means.into_iter().zip(medians))
        .map(|((activities, frequency), (mean, median))| Variant {
            activities,
            frequency,
            share: frequency as f64 / cases as f64,
            mean_duration_s: mean.unwrap_or_default(),
            median_duration_s: median.unwrap_or_default(),
        })
        .collect();
    variants.sort_by(|a, b| b.frequency.cmp(&a.frequency).then_with(|| a.activities.cmp(&b.activities)));
    Ok(Variants { cases, variants })
}
