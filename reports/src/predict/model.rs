//! Training the prediction models on the prefixes of finished cases, and asking them about
//! prefixes: the remaining time with an interval, the next activity with its probability and the
//! time to it, and the probability that a case exceeds its target.
//!
//! Times are learnt in log scale (`ln(1 + seconds)`): case times are skewed, and a forest's mean
//! of logs is near the median, which the mean absolute error rewards. The remaining time's
//! interval comes from a calibration split: the last [`CALIBRATION_SHARE`] of the training cases
//! (by start) are held out of the forest, and the quantiles of their residuals in log scale
//! widen each prediction ([`INTERVAL`]).

use super::features::Encoding;
use super::forest::{Growth, LearnError, OneVsRest, Regressor, Table};
use super::prefixes::{Classes, Prefixes};
use super::task_risk::{DueTask, Load, TaskRisk};
use crate::caselog::CaseLog;
use crate::stats::quantile;
use serde::{Deserialize, Serialize};

/// The training cases whose residuals calibrate the interval (the latest started).
pub const CALIBRATION_SHARE: f64 = 0.2;
/// The interval's quantiles of the calibration residuals: 80 % of cases are meant to fall within.
pub const INTERVAL: (f64, f64) = (0.1, 0.9);
/// Training rows at most; more are sampled (with the seed).
pub const MAX_TRAINING_ROWS: usize = 40_000;
/// Calibration rows at most; more are sampled (with the seed).
pub const MAX_CALIBRATION_ROWS: usize = 20_000;

/// The quantile of the finished cases' durations that is the case target when none is given:
/// "at risk" then means likely to take longer than 80 % of past cases took.
pub const TYPICAL_TARGET: f64 = 0.8;

/// How the forests grow.
const TIMES: Growth = Growth { trees: 40, max_depth: 16, min_samples_leaf: 5, split_share: None };
/// Each split of a class's forest chooses among a third of the columns (the square root of them, the
/// default, left helpdesk's next activity at 70.5 %; a third gives 71.3 %, docs/predictions.md).
const CLASSES: Growth = Growth { trees: 30, max_depth: 12, min_samples_leaf: 5, split_share: Some(1.0 / 3.0) };

/// What training takes besides the cases.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainingOptions {
    /// Makes training repeatable.
    pub seed: u64,
    /// The case duration target the risk model learns to foresee, in seconds (none: see
    /// `target_quantile`).
    pub case_target_s: Option<f64>,
    /// Without a case target, this quantile of the finished cases' durations is the target ("longer
    /// than 80 % of cases took"); with neither, no risk model.
    pub target_quantile: Option<f64>,
}

impl Default for TrainingOptions {
    fn default() -> Self {
        TrainingOptions { seed: 42, case_target_s: None, target_quantile: None }
    }
}

/// The trained models of one process.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Models {
    pub encoding: Encoding,
    remaining: Regressor,
    /// The calibration residuals' quantiles in log scale (low, high).
    interval: (f64, f64),
    next: OneVsRest,
    next_in: Regressor,
    /// Per last activity (its encoded number), what the training prefixes ending there looked
    /// like: what a forecast's reasons are measured against.
    pub typical: Vec<Typical>,
    /// The target and the model of exceeding it: a regression forest on 0 (within) and 1
    /// (exceeded), whose mean of leaf means is a probability (the share of exceeding cases among
    /// the training prefixes like this one).
    risk: Option<(f64, Regressor)>,
    /// The risk that an open task misses its step's SLA (none without enough such tasks).
    pub task_risk: Option<TaskRisk>,
}

/// What the training prefixes ending at one activity looked like: how many, their mean remaining
/// time, and the medians of the fixed features.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Typical {
    pub prefixes: u64,
    pub remaining_s: f64,
    pub elapsed_s: f64,
    pub since_last_s: f64,
    pub in_progress: f64,
    pub repeats: f64,
}

impl Typical {
    /// Per encoded last activity (`classes` of them), over the rows of `prefixes`.
    fn of(prefixes: &Prefixes, activities: usize) -> Vec<Typical> {
        use super::features::{ELAPSED, IN_PROGRESS, REPEATS, SINCE_LAST};
        let mut rows: Vec<Vec<usize>> = vec![Vec::new(); activities];
        for i in 0..prefixes.rows() {
            if let Some(group) = rows.get_mut(prefixes.last[i] as usize) {
                group.push(i);
            }
        }
        let value = |i: usize, column: usize| prefixes.values[i * prefixes.width + column];
        rows.iter()
            .map(|group| {
                let median_of = |column: usize| {
                    let mut values: Vec<f64> = group.iter().map(|&i| value(i, column)).collect();
                    crate::stats::median(&mut values)
                };
                let remaining: Vec<f64> = group.iter().map(|&i| prefixes.remaining_s[i]).collect();
                Typical {
                    prefixes: group.len() as u64,
                    remaining_s: crate::stats::mean(&remaining),
                    elapsed_s: median_of(ELAPSED),
                    since_last_s: median_of(SINCE_LAST),
                    in_progress: median_of(IN_PROGRESS),
                    repeats: median_of(REPEATS),
                }
            })
            .collect()
    }
}

/// What the models say about one prefix.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Forecast {
    pub remaining_s: f64,
    /// The remaining time's interval.
    pub remaining_low_s: f64,
    pub remaining_high_s: f64,
    /// The next classes with their probabilities, the likeliest first.
    pub next: Vec<(u32, f64)>,
    /// The expected time to the next event.
    pub next_in_s: f64,
    /// The probability of exceeding the target.
    pub risk: Option<f64>,
}

/// A prefixes' rows as a learner's table.
fn table(prefixes: &Prefixes) -> Result<Table, LearnError> {
    Table::new(&prefixes.values, prefixes.width)
}

fn to_log(seconds: &[f64]) -> Vec<f64> {
    seconds.iter().map(|s| s.max(0.0).ln_1p()).collect()
}

fn from_log(value: f64) -> f64 {
    value.exp_m1().max(0.0)
}

impl Models {
    /// Trains on the finished `cases` of `log` (numbers, in order of start), and the task-risk
    /// model on `tasks` (none: no task-risk model).
    pub fn train(
        log: &CaseLog,
        running: &[bool],
        cases: &[usize],
        tasks: &[DueTask],
        options: TrainingOptions,
    ) -> Result<Models, LearnError> {
        let encoding = Encoding::fit(log, cases);
        let classes = Classes::of(&encoding);
        let calibrating = ((cases.len() as f64) * CALIBRATION_SHARE).round() as usize;
        let (fitting, calibration) = cases.split_at(cases.len() - calibrating.min(cases.len().saturating_sub(1)));
        let rows = Prefixes::sample_of(log, running, &encoding, fitting, MAX_TRAINING_ROWS, options.seed);
        // Remaining and next times are learnt before the end; the next activity up to it.
        let open: Vec<usize> = (0..rows.rows()).filter(|&i| rows.next[i] != classes.end()).collect();
        let before_end = rows.subset(&open);

        let before = table(&before_end)?;
        let all = table(&rows)?;
        let exceeded: Option<(f64, Vec<f64>)> = options.case_target_s.map(|target| {
            (target, before_end.case_duration_s.iter().map(|&d| f64::from(u8::from(d > target))).collect())
        });
        let due: Vec<&DueTask> = tasks.iter().collect();
        let fit_remaining = || Regressor::fit(&before, &to_log(&before_end.remaining_s), TIMES, options.seed);
        let fit_next_in = || Regressor::fit(&before, &to_log(&before_end.next_in_s), TIMES, options.seed + 1);
        let fit_next = || OneVsRest::fit(&all, &rows.next, classes.count(), CLASSES, options.seed + 2);
        let fit_risk = || {
            let fit = |(target, exceeded): &(f64, Vec<f64>)| {
                Regressor::fit(&before, exceeded, TIMES, options.seed + 3).map(|model| (*target, model))
            };
            exceeded.as_ref().map(fit).transpose()
        };
        let fit_task_risk = || TaskRisk::train(&due, &Load::of(tasks), options.seed + 4);
        // The forests are independent: they grow side by side (each on its own seed).
        let ((remaining, next_in), (next, (risk, task_risk))) = rayon::join(
            || rayon::join(fit_remaining, fit_next_in),
            || rayon::join(fit_next, || rayon::join(fit_risk, fit_task_risk)),
        );
        let (remaining, next_in, next, risk, task_risk) = (remaining?, next_in?, next?, risk?, task_risk?);

        let mut interval = (0.0, 0.0);
        let held = Prefixes::sample_of(log, running, &encoding, calibration, MAX_CALIBRATION_ROWS, options.seed);
        let held_open: Vec<usize> = (0..held.rows()).filter(|&i| held.next[i] != classes.end()).collect();
        let held = held.subset(&held_open);
        if held.rows() > 0 {
            let predicted = remaining.predict(&table(&held)?)?;
            let mut residuals: Vec<f64> =
                predicted.iter().zip(&held.remaining_s).map(|(p, &actual)| actual.max(0.0).ln_1p() - p).collect();
            residuals.sort_by(f64::total_cmp);
            interval = (quantile(&residuals, INTERVAL.0), quantile(&residuals, INTERVAL.1));
        }
        let typical = Typical::of(&before_end, classes.activities + 1);
        Ok(Models { encoding, remaining, interval, next, next_in, typical, risk, task_risk })
    }

    /// The forecasts of `prefixes`' rows.
    pub fn forecast(&self, prefixes: &Prefixes) -> Result<Vec<Forecast>, LearnError> {
        let table = table(prefixes)?;
        let risk_model = self.risk.as_ref().map(|(_, model)| model);
        // Each forest answers for every row, side by side.
        let ((remaining, next_in), (next, risk)) = rayon::join(
            || rayon::join(|| self.remaining.predict(&table), || self.next_in.predict(&table)),
            || rayon::join(|| self.next.probabilities(&table), || risk_model.map(|m| m.predict(&table)).transpose()),
        );
        let (remaining, next_in, next, risk) = (remaining?, next_in?, next?, risk?);
        Ok((0..prefixes.rows())
            .map(|i| {
                let mut likeliest: Vec<(u32, f64)> =
                    next[i].iter().enumerate().filter(|&(_, &p)| p > 0.0).map(|(c, &p)| (c as u32, p)).collect();
                likeliest.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                Forecast {
                    remaining_s: from_log(remaining[i]),
                    remaining_low_s: from_log(remaining[i] + self.interval.0),
                    remaining_high_s: from_log(remaining[i] + self.interval.1),
                    next: likeliest,
                    next_in_s: from_log(next_in[i]),
                    risk: risk.as_ref().map(|r| r[i].clamp(0.0, 1.0)),
                }
            })
            .collect())
    }

    /// The case target the risk model foresees, if there is one.
    pub fn case_target_s(&self) -> Option<f64> {
        self.risk.as_ref().map(|(target, _)| *target)
    }
}
