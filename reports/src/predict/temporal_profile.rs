//! The temporal profile of a process and the cases that deviate from it (Stertz, Mangler and
//! Rinderle-Ma, "Temporal Conformance Checking at Runtime based on Time-infused Process Models",
//! 2020), computed as PM4Py 2.7's `discover_temporal_profile` and
//! `conformance_temporal_profile` compute it, against whose figures it is tested.
//!
//! Within a case, its events in order of start (then completion, then file order), every pair of
//! events (a, b) with a before b and a's completion no later than b's start records the time from
//! a's completion to b's start. The profile holds, per pair of activities, the mean and the sample
//! standard deviation of those times (0 for a single one). A case deviates where one of its times
//! lies more than ζ standard deviations from its pair's mean; the deviation's ζ is how many.

use crate::caselog::{CaseLog, Order, seconds_between};
use crate::stats::Moments;
use crate::{Events, ReportError};
use datafusion::common::HashMap;
use serde::Serialize;
use std::cmp::Ordering;
use std::ops::Range;

/// How many standard deviations from its mean a time may lie before it deviates, unless told
/// otherwise: the three-sigma rule (PM4Py's own defaults are 6 for the algorithm and 1 for its
/// simplified interface).
pub const DEFAULT_ZETA: f64 = 3.0;

/// The deviating cases a profile lists (the most deviating first); the rest are counted.
pub const DEVIATING_CASES_LISTED: usize = 100;

/// Pairs of events a profile compares at most: a case of n events holds n (n − 1) / 2 pairs,
/// so one long case could otherwise keep the server busy for hours.
pub const MAX_PAIRS: u64 = 200_000_000;

/// The temporal profile of a filter's cases and its deviations.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TemporalProfile {
    /// Standard deviations from its pair's mean beyond which a time deviates.
    pub zeta: f64,
    /// Cases over which the profile was computed.
    pub cases: u64,
    /// Per pair of activities, the time between them; by `from`, then `to`.
    pub pairs: Vec<PairTime>,
    /// Cases with at least one deviation.
    pub deviating_cases: u64,
    /// Deviations over all cases.
    pub deviations: u64,
    /// The deviating cases, the most deviating first (largest ζ, then most deviations, then
    /// case id), at most [`DEVIATING_CASES_LISTED`].
    pub cases_listed: Vec<CaseDeviations>,
}

/// The time from one activity's completion to a later one's start, over every case.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairTime {
    pub from: String,
    pub to: String,
    /// Times recorded.
    pub observations: u64,
    /// Their mean, in seconds.
    pub mean_s: f64,
    /// Their sample standard deviation (n − 1), in seconds; 0 for a single time.
    pub stdev_s: f64,
}

/// A case's deviations from the profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseDeviations {
    /// The case (for the processes run in Orgata, the process instance's id).
    pub case_id: String,
    /// Its deviations, the largest ζ first.
    pub deviations: Vec<Deviation>,
}

/// A time between two of a case's activities outside its pair's mean ± ζ standard deviations.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deviation {
    pub from: String,
    pub to: String,
    /// The case's time from `from`'s completion to `to`'s start, in seconds.
    pub time_s: f64,
    /// The pair's mean time and standard deviation, in seconds.
    pub mean_s: f64,
    pub stdev_s: f64,
    /// How many standard deviations the time lies from the mean; none where the pair's times
    /// never vary (any other time deviates).
    pub zeta: Option<f64>,
}

impl Deviation {
    /// Whether the case took longer than usual here (rather than shorter).
    pub fn is_slower(&self) -> bool {
        self.time_s > self.mean_s
    }
}

/// The temporal profile of `events` and the cases that deviate from it by more than `zeta`
/// standard deviations.
pub async fn temporal_profile(events: &Events<'_>, zeta: f64) -> Result<TemporalProfile, ReportError> {
    check_zeta(zeta)?;
    let log = CaseLog::identified(events, Order::Start).await?;
    Ok(profile_of(&log, zeta)?.0)
}

/// Refuses a ζ that is not a number of 0 or more.
pub(crate) fn check_zeta(zeta: f64) -> Result<(), ReportError> {
    if zeta.is_finite() && zeta >= 0.0 {
        Ok(())
    } else {
        Err(ReportError::InvalidFilter(format!("zeta must be a number of 0 or more, not {zeta}")))
    }
}

/// The temporal profile of `log` (each case's rows in [`Order::Start`], with their ids) and its
/// deviations beyond `zeta` standard deviations, with each deviating case's (by number) largest.
pub(crate) fn profile_of(
    log: &CaseLog,
    zeta: f64,
) -> Result<(TemporalProfile, HashMap<usize, Deviation>), ReportError> {
    check_zeta(zeta)?;
    let pairs: u64 =
        log.case_ranges().map(|rows| (rows.len() as u64) * (rows.len() as u64).saturating_sub(1) / 2).sum();
    if pairs > MAX_PAIRS {
        return Err(ReportError::TooManyPairs { pairs, limit: MAX_PAIRS });
    }
    let mut moments: HashMap<(u32, u32), Moments> = HashMap::default();
    for rows in log.case_ranges() {
        each_pair(log, rows, |from, to, time_s| moments.entry((from, to)).or_default().add(time_s));
    }

    let mut deviating = Vec::new();
    let mut deviations = 0u64;
    for (case, rows) in log.case_ranges().enumerate() {
        let mut found = Vec::new();
        each_pair(log, rows, |from, to, time_s| {
            let pair = &moments[&(from, to)];
            let (mean, stdev) = (pair.mean(), pair.stdev());
            if time_s < mean - zeta * stdev || time_s > mean + zeta * stdev {
                let zeta = (stdev > 0.0).then(|| (time_s - mean).abs() / stdev);
                found.push((from, to, time_s, mean, stdev, zeta));
            }
        });
        if !found.is_empty() {
            deviations += found.len() as u64;
            deviating.push((case, found));
        }
    }
    let deviating_cases = deviating.len() as u64;
    let name = |activity: u32| log.activities[activity as usize].clone();
    let mut strongest = HashMap::default();
    let mut listed: Vec<CaseDeviations> = deviating
        .into_iter()
        .map(|(case, found)| {
            let mut deviations: Vec<Deviation> = found
                .into_iter()
                .map(|(from, to, time_s, mean_s, stdev_s, zeta)| Deviation {
                    from: name(from),
                    to: name(to),
                    time_s,
                    mean_s,
                    stdev_s,
                    zeta,
                })
                .collect();
            deviations.sort_by(|a, b| by_zeta(a.zeta, b.zeta).then_with(|| (&a.from, &a.to).cmp(&(&b.from, &b.to))));
            let case_id = log.ids.get(case).map_or_else(|| case.to_string(), |identity| identity.id.to_string());
            strongest.insert(case, deviations[0].clone());
            CaseDeviations { case_id, deviations }
        })
        .collect();
    listed.sort_by(|a, b| {
        by_zeta(a.deviations[0].zeta, b.deviations[0].zeta)
            .then_with(|| b.deviations.len().cmp(&a.deviations.len()))
            .then_with(|| a.case_id.cmp(&b.case_id))
    });
    listed.truncate(DEVIATING_CASES_LISTED);

    let mut pairs: Vec<PairTime> = moments
        .iter()
        .map(|(&(from, to), m)| PairTime {
            from: name(from),
            to: name(to),
            observations: m.count(),
            mean_s: m.mean(),
            stdev_s: m.stdev(),
        })
        .collect();
    pairs.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
    let profile =
        TemporalProfile { zeta, cases: log.cases() as u64, pairs, deviating_cases, deviations, cases_listed: listed };
    Ok((profile, strongest))
}

/// Larger ζ first, none (a time that never varies, now different) before any.
fn by_zeta(a: Option<f64>, b: Option<f64>) -> Ordering {
    let key = |z: Option<f64>| z.unwrap_or(f64::INFINITY);
    key(b).total_cmp(&key(a))
}

/// Calls `record(from, to, seconds)` for each pair of a case's rows (in order of start) whose
/// first completed no later than the second started.
fn each_pair(log: &CaseLog, rows: Range<usize>, mut record: impl FnMut(u32, u32, f64)) {
    for i in rows.clone() {
        let completed = log.t[i];
        for j in i + 1..rows.end {
            let started = log.st[j];
            if completed <= started {
                record(log.activity[i], log.activity[j], seconds_between(started, completed));
            }
        }
    }
}
