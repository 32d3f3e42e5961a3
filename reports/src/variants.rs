//! Variants: the distinct activity sequences cases follow.

use crate::sql::{self, events_cte, seconds};
use crate::{Filter, ReportError};
use orgata_warehouse::{TeamScope, Warehouse};
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

/// The variants: each case's activities in order (`array_agg(activity ORDER BY t, ordinal)`),
/// grouped by that sequence with the count and the mean and median case duration.
pub async fn variants(warehouse: &Warehouse, scope: &TeamScope, filter: &Filter) -> Result<Variants, ReportError> {
    let sql = format!(
        "{ev},
        traces AS (
            SELECT array_agg(activity ORDER BY t, ordinal) AS activities, {duration} AS duration
            FROM ev GROUP BY team_id, case_id
        )
        SELECT activities, count(*) AS frequency, avg(duration) AS mean, median(duration) AS median
        FROM traces GROUP BY activities",
        ev = events_cte(filter),
        duration = seconds("max(t) - min(t)"),
    );
    let rows = sql::run(warehouse, scope, &sql).await?;
    let activities = rows.string_lists("activities")?;
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
