//! Anomalies: cases and steps that behave unlike their history, each said in words.
//!
//! - *Timing*: a case's time between two of its activities outside the temporal profile's mean ±
//!   ζ standard deviations ([`super::temporal_profile`]).
//! - *Duration*: a case longer than the upper quartile of the finished cases' durations plus 3
//!   interquartile ranges (Tukey's "far out"); a running process (the engine's) already longer.
//! - *Rework*: a case that repeated steps (events beyond one per activity) more often than 99 % of
//!   the finished cases did, twice at least.
//! - *New path*: a finished case whose sequence of activities no other finished case followed.
//! - *Slower step*: an activity whose time since the case's previous event has a median over the
//!   last [`RECENT_DAYS`] days (up to the latest event) at least 1.5 times the one before, and
//!   larger by the one-sided Mann–Whitney test at p < 0.01.
//!
//! The case-level ones need [`MIN_HISTORY`] finished cases, a step change enough times on either
//! side; with less, the report says so rather than calling the usual unusual.

use super::running_cases;
use super::temporal_profile::{Deviation, TemporalProfile, profile_of};
use crate::caselog::{CaseLog, NONE, Order, seconds_between, sort, time_of};
use crate::stats::{mann_whitney_greater, median, quantile};
use crate::text::{duration, plural, whole_percent};
use crate::{Events, ReportError};
use chrono::{DateTime, Utc};
use datafusion::common::{HashMap, HashSet};
use serde::Serialize;
use std::fmt::Write;

/// Finished cases needed before a case can be called unusual.
pub const MIN_HISTORY: usize = 20;

/// Outlying cases a report lists (those unusual in most ways first, then the latest); the rest
/// are counted.
pub const OUTLIERS_LISTED: usize = 100;

/// The recent window a step's times are compared in, in days, ending at the latest event.
pub const RECENT_DAYS: i64 = 14;

/// Times a step needs in the recent window, and before it, to be compared.
const MIN_RECENT: usize = 5;
const MIN_EARLIER: usize = 20;
/// How much slower (recent median over earlier median) a step must be, and how surely.
const SLOWDOWN: f64 = 1.5;
const P_VALUE: f64 = 0.01;
/// Tukey's far-out fence: interquartile ranges above the upper quartile.
const FAR_OUT: f64 = 3.0;
/// A case's repeats are unusual above this quantile of the finished cases'.
const REWORK_QUANTILE: f64 = 0.99;

/// What is unusual about a filter's cases and steps.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnomalyReport {
    /// What stands out, in sentences, the most notable first.
    pub findings: Vec<String>,
    /// The time between activities and the cases that deviate from it.
    pub temporal_profile: TemporalProfile,
    /// Finished cases the outliers were measured against.
    pub finished_cases: u64,
    /// Cases longer than this are unusual, in seconds (none with too little history).
    pub duration_limit_s: Option<f64>,
    /// Cases that repeated steps more often than this are unusual (none with too little
    /// history).
    pub repeats_limit: Option<u64>,
    /// Cases unusual in at least one way.
    pub outlying_cases: u64,
    /// Cases unusual in each way.
    pub counts: OutlierCounts,
    /// Those cases, the ones unusual in most ways first, then the latest; at most
    /// [`OUTLIERS_LISTED`].
    pub outliers: Vec<CaseOutlier>,
    /// The recent window steps are compared in: from, to (the latest event).
    pub recent_from: Option<DateTime<Utc>>,
    pub recent_to: Option<DateTime<Utc>>,
    /// Steps slower in the recent window than before, the most slowed first.
    pub slower_steps: Vec<StepChange>,
}

/// What makes a case unusual.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OutlierKind {
    /// The time between two of its activities deviates from the temporal profile.
    Timing,
    /// It took (or has been running) far longer than cases usually take.
    Duration,
    /// It repeated steps more often than 99 % of cases.
    Rework,
    /// No other case followed its sequence of activities.
    NewPath,
}

impl OutlierKind {
    /// The kind's name, as JSON writes it: `timing`, `duration`, `rework`, `new_path`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutlierKind::Timing => "timing",
            OutlierKind::Duration => "duration",
            OutlierKind::Rework => "rework",
            OutlierKind::NewPath => "new_path",
        }
    }
}

/// How many cases are unusual in each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutlierCounts {
    pub timing: u64,
    pub duration: u64,
    pub rework: u64,
    pub new_path: u64,
}

impl OutlierCounts {
    /// Counts the kinds of one more unusual case.
    fn add(&mut self, kinds: &[OutlierKind]) {
        for kind in kinds {
            *match kind {
                OutlierKind::Timing => &mut self.timing,
                OutlierKind::Duration => &mut self.duration,
                OutlierKind::Rework => &mut self.rework,
                OutlierKind::NewPath => &mut self.new_path,
            } += 1;
        }
    }
}

/// An unusual case.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseOutlier {
    /// The case (for the processes run in Orgata, the process instance's id).
    pub case_id: String,
    /// Its first event.
    pub started: DateTime<Utc>,
    /// Whether it is an engine process still running.
    pub running: bool,
    /// From its first event to its last (or, running, to now), in seconds.
    pub duration_s: f64,
    /// Events beyond one per activity.
    pub repeats: u64,
    /// What is unusual about it.
    pub kinds: Vec<OutlierKind>,
    /// Its strongest deviation from the temporal profile, if it has one.
    pub strongest_deviation: Option<Deviation>,
    /// What is unusual, in one sentence.
    pub finding: String,
}

/// A step slower recently than before.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepChange {
    pub activity: String,
    /// Times (since the case's previous event) in the recent window, and their median in seconds.
    pub recent: u64,
    pub recent_median_s: f64,
    /// Times before the window, and their median in seconds.
    pub earlier: u64,
    pub earlier_median_s: f64,
    /// `recent_median_s / earlier_median_s`.
    pub ratio: f64,
    /// The one-sided Mann–Whitney p-value that recent times are larger.
    pub p_value: f64,
    /// The change in one sentence.
    pub finding: String,
}

/// The anomalies of `events` at `zeta` standard deviations; running processes' durations are
/// measured up to `now`.
pub async fn anomalies(events: &Events<'_>, zeta: f64, now: DateTime<Utc>) -> Result<AnomalyReport, ReportError> {
    let log = CaseLog::identified(events, Order::Start).await?;
    let running = running_cases(events).await?;
    let (temporal_profile, strongest) = profile_of(&log, zeta)?;
    let running: Vec<bool> =
        log.ids.iter().map(|case| running.contains(&(case.team.to_string(), case.id.to_string()))).collect();
    let cases = CaseFigures::of(&log, &running, now.timestamp_micros());
    let finished: Vec<&CaseFigures> = cases.iter().filter(|c| !c.running).collect();
    let enough = finished.len() >= MIN_HISTORY;

    let mut durations: Vec<f64> = finished.iter().map(|c| c.duration_s).collect();
    durations.sort_by(f64::total_cmp);
    let duration_limit_s = enough.then(|| {
        let (q1, q3) = (quantile(&durations, 0.25), quantile(&durations, 0.75));
        q3 + FAR_OUT * (q3 - q1)
    });
    let mut repeats: Vec<f64> = finished.iter().map(|c| c.repeats as f64).collect();
    repeats.sort_by(f64::total_cmp);
    let repeats_limit = enough.then(|| (quantile(&repeats, REWORK_QUANTILE).floor() as u64).max(1));
    let mut paths: HashMap<&[u32], u32> = HashMap::default();
    for case in &finished {
        *paths.entry(&case.path).or_default() += 1;
    }

    let mut outliers = Vec::new();
    let mut counts = OutlierCounts::default();
    for (c, case) in cases.iter().enumerate() {
        let mut kinds = Vec::new();
        if strongest.contains_key(&c) {
            kinds.push(OutlierKind::Timing);
        }
        if duration_limit_s.is_some_and(|limit| case.duration_s > limit) {
            kinds.push(OutlierKind::Duration);
        }
        if repeats_limit.is_some_and(|limit| case.repeats > limit) {
            kinds.push(OutlierKind::Rework);
        }
        if enough && !case.running && paths.get(case.path.as_slice()) == Some(&1) {
            kinds.push(OutlierKind::NewPath);
        }
        if kinds.is_empty() {
            continue;
        }
        counts.add(&kinds);
        let deviation = strongest.get(&c).cloned();
        let finding = outlier_sentence(&log, case, &kinds, deviation.as_ref(), duration_limit_s, repeats_limit);
        outliers.push(CaseOutlier {
            case_id: log.ids[c].id.to_string(),
            started: time_of(case.started),
            running: case.running,
            duration_s: case.duration_s,
            repeats: case.repeats,
            kinds,
            strongest_deviation: deviation,
            finding,
        });
    }
    outliers.sort_by(|a, b| {
        b.kinds
            .len()
            .cmp(&a.kinds.len())
            .then_with(|| b.started.cmp(&a.started))
            .then_with(|| a.case_id.cmp(&b.case_id))
    });
    let outlying_cases = outliers.len() as u64;

    let last = log.t.iter().copied().filter(|&t| t != NONE).max();
    let window = last.map(|last| (last - RECENT_DAYS * 86_400_000_000, last));
    let slower_steps = window.map_or_else(Vec::new, |(from, _)| slower_steps(&log, from));
    let mut report = AnomalyReport {
        findings: Vec::new(),
        temporal_profile,
        finished_cases: finished.len() as u64,
        duration_limit_s,
        repeats_limit,
        outlying_cases,
        counts,
        outliers,
        recent_from: window.map(|w| time_of(w.0)),
        recent_to: window.map(|w| time_of(w.1)),
        slower_steps,
    };
    report.outliers.truncate(OUTLIERS_LISTED);
    report.findings = findings(&report, cases.len());
    Ok(report)
}

/// What a case is measured by.
struct CaseFigures {
    running: bool,
    /// Its first event's time (µs).
    started: i64,
    duration_s: f64,
    repeats: u64,
    /// Its activities in order of time (then file order).
    path: Vec<u32>,
}

impl CaseFigures {
    /// Each case's figures (running ones' durations up to `now`, µs).
    fn of(log: &CaseLog, running: &[bool], now: i64) -> Vec<CaseFigures> {
        log.case_ranges()
            .enumerate()
            .map(|(c, rows)| {
                let mut order: Vec<usize> = rows.collect();
                sort(&mut order, |e| (log.t[e], log.ordinal[e]));
                let path: Vec<u32> = order.iter().map(|&e| log.activity[e]).collect();
                let started = log.t[order[0]];
                let running = running.get(c).copied().unwrap_or(false);
                let end = if running { now.max(log.t[order[order.len() - 1]]) } else { log.t[order[order.len() - 1]] };
                let distinct: HashSet<u32> = path.iter().copied().collect();
                CaseFigures {
                    running,
                    started,
                    duration_s: seconds_between(end, started),
                    repeats: (path.len() - distinct.len()) as u64,
                    path,
                }
            })
            .collect()
    }
}

/// One sentence on what is unusual about a case.
fn outlier_sentence(
    log: &CaseLog,
    case: &CaseFigures,
    kinds: &[OutlierKind],
    deviation: Option<&Deviation>,
    duration_limit_s: Option<f64>,
    repeats_limit: Option<u64>,
) -> String {
    let parts: Vec<String> = kinds
        .iter()
        .map(|kind| match kind {
            OutlierKind::Timing => deviation.map_or_else(String::new, timing_words),
            OutlierKind::Duration => {
                let limit = duration(duration_limit_s.unwrap_or_default());
                if case.running {
                    format!(
                        "has been running for {}, longer than cases usually take (over {limit} is rare)",
                        duration(case.duration_s)
                    )
                } else {
                    format!("took {}, far longer than usual (over {limit} is rare)", duration(case.duration_s))
                }
            }
            OutlierKind::Rework => format!(
                "repeated steps {} (more than 99% of cases: over {})",
                plural(case.repeats, "time", "times"),
                repeats_limit.unwrap_or_default()
            ),
            OutlierKind::NewPath => {
                let path: Vec<&str> = case.path.iter().map(|&a| log.activities[a as usize].as_str()).collect();
                format!("followed a path no other case followed ({})", path_words(&path))
            }
        })
        .collect();
    let mut sentence = parts.join("; ");
    if let Some(first) = sentence.get(..1) {
        sentence = format!("{}{}", first.to_uppercase(), &sentence[1..]);
    }
    sentence.push('.');
    sentence
}

/// A deviation in words: "“A” → “B” took 152d 03h against 4d 02h ± 12d usually (10.5 standard
/// deviations)".
fn timing_words(d: &Deviation) -> String {
    let how_far = match d.zeta {
        Some(z) => format!("{z:.1} standard deviations"),
        None => "it never varies otherwise".to_string(),
    };
    format!(
        "“{}” → “{}” took {} against {} ± {} usually ({how_far})",
        d.from,
        d.to,
        duration(d.time_s),
        duration(d.mean_s),
        duration(d.stdev_s)
    )
}

/// A path of activities, long ones shortened to their ends: "A → B → … → Y → Z (9 steps)".
fn path_words(path: &[&str]) -> String {
    if path.len() <= 6 {
        return path.join(" → ");
    }
    format!("{} → … → {} ({} steps)", path[..2].join(" → "), path[path.len() - 2..].join(" → "), path.len())
}

/// The steps whose times since the case's previous event are slower from `from` (µs) on than
/// before, the most slowed first.
fn slower_steps(log: &CaseLog, from: i64) -> Vec<StepChange> {
    let mut times: Vec<(Vec<f64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); log.activities.len()];
    for rows in log.case_ranges() {
        let mut order: Vec<usize> = rows.collect();
        sort(&mut order, |e| (log.t[e], log.ordinal[e]));
        for pair in order.windows(2) {
            let (previous, event) = (pair[0], pair[1]);
            let time = seconds_between(log.t[event], log.t[previous]);
            let (recent, earlier) = &mut times[log.activity[event] as usize];
            if log.t[event] >= from { recent.push(time) } else { earlier.push(time) }
        }
    }
    let mut changes: Vec<StepChange> = times
        .into_iter()
        .enumerate()
        .filter(|(_, (recent, earlier))| recent.len() >= MIN_RECENT && earlier.len() >= MIN_EARLIER)
        .filter_map(|(activity, (mut recent, mut earlier))| {
            let p_value = mann_whitney_greater(&recent, &earlier);
            let (recent_median_s, earlier_median_s) = (median(&mut recent), median(&mut earlier));
            let ratio = recent_median_s / earlier_median_s;
            let slower = earlier_median_s > 0.0 && ratio >= SLOWDOWN && p_value < P_VALUE;
            slower.then(|| {
                let activity = log.activities[activity].clone();
                let finding = format!(
                    "“{activity}” has slowed down: {} (median) over the last {RECENT_DAYS} days against {} before, {ratio:.1}× ({} against {}).",
                    duration(recent_median_s),
                    duration(earlier_median_s),
                    plural(recent.len() as u64, "time", "times"),
                    crate::text::number(earlier.len() as f64),
                );
                StepChange {
                    activity,
                    recent: recent.len() as u64,
                    recent_median_s,
                    earlier: earlier.len() as u64,
                    earlier_median_s,
                    ratio,
                    p_value,
                    finding,
                }
            })
        })
        .collect();
    changes.sort_by(|a, b| b.ratio.total_cmp(&a.ratio).then_with(|| a.activity.cmp(&b.activity)));
    changes
}

/// The report's findings: the deviations from the temporal profile, each kind of outlier, the
/// slower steps; or why there is nothing to measure against.
fn findings(report: &AnomalyReport, cases: usize) -> Vec<String> {
    let mut findings = Vec::new();
    let profile = &report.temporal_profile;
    let share = |n: u64| whole_percent(n as f64 / cases.max(1) as f64);
    if profile.deviating_cases > 0 {
        let mut sentence = format!(
            "{} of {} ({}) spent an unusual time between two of their activities (beyond {} standard deviations)",
            plural(profile.deviating_cases, "case", "cases"),
            crate::text::number(cases as f64),
            share(profile.deviating_cases),
            crate::text::number(profile.zeta),
        );
        if let Some(case) = profile.cases_listed.first() {
            let _ =
                write!(sentence, "; the most unusual: {}, where {}", case.case_id, timing_words(&case.deviations[0]));
        }
        sentence.push('.');
        findings.push(sentence);
    }
    if report.duration_limit_s.is_none() {
        findings.push(format!(
            "Only {} finished: at least {MIN_HISTORY} are needed to tell an unusual case from the usual.",
            plural(report.finished_cases, "case has", "cases have")
        ));
    }
    if let Some(limit) = report.duration_limit_s {
        let n = report.counts.duration;
        if n > 0 {
            findings.push(format!(
                "{} took far longer than usual (over {}: the upper quartile plus 3 interquartile ranges).",
                plural(n, "case", "cases"),
                duration(limit)
            ));
        }
    }
    if let Some(limit) = report.repeats_limit {
        let n = report.counts.rework;
        if n > 0 {
            findings.push(format!(
                "{} repeated steps more than {} (more often than 99% of cases).",
                plural(n, "case", "cases"),
                plural(limit, "time", "times")
            ));
        }
    }
    let new_paths = report.counts.new_path;
    if new_paths > 0 {
        findings.push(format!(
            "{} followed a path no other case followed ({} of the finished ones).",
            plural(new_paths, "case", "cases"),
            whole_percent(new_paths as f64 / report.finished_cases.max(1) as f64)
        ));
    }
    findings.extend(report.slower_steps.iter().map(|step| step.finding.clone()));
    if findings.is_empty() {
        findings.push("Nothing unusual: every case and step behaves like its history.".to_string());
    }
    findings
}

impl AnomalyReport {
    /// The report as text: the findings, the outlying cases and the slower steps.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for finding in &self.findings {
            let _ = writeln!(out, "- {finding}");
        }
        if !self.outliers.is_empty() {
            let _ = writeln!(out, "\nUnusual cases ({} in all):", self.outlying_cases);
            let rows: Vec<Vec<String>> = self
                .outliers
                .iter()
                .map(|o| {
                    vec![
                        o.case_id.clone(),
                        o.started.format("%Y-%m-%d").to_string(),
                        duration(o.duration_s),
                        o.finding.clone(),
                    ]
                })
                .collect();
            out.push_str(&crate::text::table(&["case", "started", "duration", "what is unusual"], &rows));
        }
        out
    }
}
