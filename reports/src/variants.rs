//! Variants: the distinct activity sequences cases follow.

use crate::caselog::{CaseLog, seconds_between};
use crate::sql::running_join;
use crate::stats::{mean, median};
use crate::{Events, ReportError};
use datafusion::common::HashMap;
use serde::Serialize;

/// The variants of a filter's cases, most frequent first.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Variants {
    /// Cases over all variants.
    pub cases: u64,
    /// The engine's cases left out because their process is still running (its path is not
    /// finished); 0 for imported logs.
    pub running_cases: u64,
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
/// duration (its last event's time minus its first's), from the events in case order
/// ([`CaseLog`]), grouped by trace with the count and the mean and median case duration. For
/// the engine's processes, only those that have ended: a running one's path is not a variant yet
/// (they are counted apart).
pub async fn variants(events: &Events<'_>) -> Result<Variants, ReportError> {
    let (log, running_cases) = if events.filter().is_engine() {
        let sql = format!(
            "{ev} SELECT count(*) AS running FROM (SELECT DISTINCT team_id, case_id FROM ev) c {running}",
            ev = events.cte(),
            running = running_join("c", true),
        );
        (CaseLog::finished_events(events).await?, events.run(&sql).await?.first_count("running")?)
    } else {
        (CaseLog::events(events).await?, 0)
    };
    let mut durations: HashMap<&[u32], Vec<f64>> = HashMap::default();
    for case in log.case_ranges() {
        let span = seconds_between(log.t[case.end - 1], log.t[case.start]);
        durations.entry(&log.activity[case]).or_default().push(span);
    }
    let cases = log.cases() as u64;
    let mut variants: Vec<Variant> = durations
        .into_iter()
        .map(|(trace, mut durations)| Variant {
            activities: trace.iter().map(|&a| log.activities[a as usize].clone()).collect(),
            frequency: durations.len() as u64,
            share: durations.len() as f64 / cases as f64,
            mean_duration_s: mean(&durations),
            median_duration_s: median(&mut durations),
        })
        .collect();
    variants.sort_by(|a, b| b.frequency.cmp(&a.frequency).then_with(|| a.activities.cmp(&b.activities)));
    Ok(Variants { cases, running_cases, variants })
}
