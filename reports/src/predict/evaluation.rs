//! How well the models predict, measured honestly: a temporal split — the models learn from the
//! cases that started before a split time and are asked about every prefix of the cases that
//! started after it (a uniform sample of [`MAX_TEST_PREFIXES`] where there are more) — always beside the baselines of the literature (Tax et al., "Predictive
//! Business Process Monitoring with LSTM Neural Networks", 2017; Verenich et al., "Survey and
//! Cross-benchmark Comparison of Remaining Time Prediction Methods", 2019):
//!
//! - remaining time: the mean remaining time of the training prefixes with the same last
//!   activity, and with the same length; the mean absolute error against the better of the two,
//!   overall and per prefix length, and how often the actual time fell in the interval;
//! - next activity: the most frequent next activity after the same last activity (the case's end
//!   counts as one); accuracy, and whether the actual one was among the three likeliest;
//! - the time to the next event: the mean after the same last activity;
//! - risk of exceeding the case target: the training prefixes' base rate; the area under the ROC
//!   curve and the Brier score.
//!
//! Remaining and next times are measured on prefixes before a case's last event; the next
//! activity on every prefix (after the last, the answer is the end).

use super::model::{Models, TrainingOptions};
use super::prefixes::{Classes, Prefixes};
use super::task_risk::{self, DueTask, TaskRiskScore};
use crate::caselog::CaseLog;
use crate::text::{duration, percent};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write;

/// The share of the finished cases (the earliest started) the models learn from in an evaluation.
pub const TRAINING_SHARE: f64 = 0.8;
/// Test prefixes at most; more are sampled (with the seed) — the scores of a large log are then
/// those of a uniform sample of its test prefixes.
pub const MAX_TEST_PREFIXES: usize = 50_000;

/// How well the models predicted the cases after the split.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evaluation {
    /// Cases that started before this were learnt from; the others were predicted.
    pub split_at: DateTime<Utc>,
    pub training_cases: u64,
    pub test_cases: u64,
    /// Test prefixes before a case's last event (remaining and next times), and all of them
    /// (next activity).
    pub test_prefixes: u64,
    pub remaining_time: RemainingScore,
    pub next_activity: NextScore,
    pub next_time: TimeScore,
    /// None without a case target.
    pub risk: Option<RiskScore>,
    /// The risk that a task misses its step's SLA (the engine's processes with enough finished
    /// tasks with a due time; none otherwise).
    pub task_risk: Option<TaskRiskScore>,
}

/// The remaining time's errors.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemainingScore {
    /// Mean absolute error, in seconds.
    pub mae_s: f64,
    /// The baselines' mean absolute errors: the mean by last activity, by prefix length.
    pub by_last_activity_mae_s: f64,
    pub by_prefix_length_mae_s: f64,
    /// `1 − mae / better baseline`: how much smaller the error is than the better baseline's.
    pub improvement: f64,
    /// The share of prefixes whose actual remaining time fell within the predicted interval.
    pub interval_coverage: f64,
    /// Per prefix length (the first [`LENGTHS_LISTED`], then the longer ones together).
    pub by_prefix_length: Vec<LengthScore>,
}

impl RemainingScore {
    /// The better baseline's mean absolute error, in seconds.
    pub fn baseline_mae_s(&self) -> f64 {
        self.by_last_activity_mae_s.min(self.by_prefix_length_mae_s)
    }
}

/// Prefix lengths scored on their own; longer ones are scored together.
pub const LENGTHS_LISTED: u32 = 10;

/// The errors at one prefix length.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LengthScore {
    /// The length; the last entry holds every longer one.
    pub length: u32,
    pub and_longer: bool,
    pub prefixes: u64,
    pub mae_s: f64,
    /// The better baseline's error at this length.
    pub baseline_mae_s: f64,
}

/// The next activity's hits.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NextScore {
    pub accuracy: f64,
    /// Whether the actual next activity was among the three likeliest.
    pub top3_accuracy: f64,
    /// The most frequent next activity after the last one.
    pub baseline_accuracy: f64,
}

/// The time to the next event's errors.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimeScore {
    pub mae_s: f64,
    /// The mean time after the same last activity.
    pub baseline_mae_s: f64,
}

/// How well the risk of exceeding the case target was told.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskScore {
    pub case_target_s: f64,
    /// The test prefixes' share of cases that exceeded the target.
    pub rate: f64,
    /// Area under the ROC curve (0.5: no better than chance; none when the test holds one
    /// outcome only).
    pub auc: Option<f64>,
    /// Mean squared error of the probabilities.
    pub brier: f64,
    /// The training prefixes' rate as every probability: its Brier score.
    pub baseline_brier: f64,
}

/// An evaluation cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvaluationError {
    #[error(transparent)]
    Learn(#[from] super::forest::LearnError),
    /// Too few finished cases on one side of the split.
    #[error("not enough history: {0}")]
    NotEnough(String),
}

/// Evaluates the models on `log`'s finished cases (`running` marks the others), split by start.
pub(crate) fn evaluate(
    log: &CaseLog,
    running: &[bool],
    tasks: &[DueTask],
    options: TrainingOptions,
    min_training_cases: usize,
) -> Result<Evaluation, EvaluationError> {
    let finished = finished_by_start(log, running);
    let split = ((finished.len() as f64) * TRAINING_SHARE).floor() as usize;
    let split_at = finished.get(split).map_or(0, |f| f.0);
    // Cases starting at the split time itself are all on the test side.
    let training: Vec<usize> = finished.iter().filter(|f| f.0 < split_at).map(|f| f.1).collect();
    let test: Vec<usize> = finished.iter().filter(|f| f.0 >= split_at).map(|f| f.1).collect();
    if training.len() < min_training_cases || test.is_empty() {
        return Err(EvaluationError::NotEnough(format!(
            "{} finished cases; an evaluation learns from the first {:.0}% of them and needs at least {min_training_cases} there",
            finished.len(),
            TRAINING_SHARE * 100.0
        )));
    }
    // The task-risk model is scored apart, on its own split of the tasks.
    let models = Models::train(log, running, &training, &[], options)?;
    let classes = Classes::of(&models.encoding);
    let learnt = Prefixes::outcomes_of(log, running, &models.encoding, &training);
    let tested = Prefixes::sample_of(log, running, &models.encoding, &test, MAX_TEST_PREFIXES, options.seed);
    let forecasts = models.forecast(&tested)?;
    let baselines = Baselines::of(&learnt, classes);

    let open: Vec<usize> = (0..tested.rows()).filter(|&i| tested.next[i] != classes.end()).collect();
    let mean = |values: &mut dyn Iterator<Item = f64>| {
        let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
        if n == 0 { 0.0 } else { sum / n as f64 }
    };
    let error = |i: usize| (forecasts[i].remaining_s - tested.remaining_s[i]).abs();
    let by_activity = |i: usize| (baselines.remaining_by_last(tested.last[i]) - tested.remaining_s[i]).abs();
    let by_length = |i: usize| (baselines.remaining_by_length(tested.length[i]) - tested.remaining_s[i]).abs();
    let mae_s = mean(&mut open.iter().map(|&i| error(i)));
    let by_last_activity_mae_s = mean(&mut open.iter().map(|&i| by_activity(i)));
    let by_prefix_length_mae_s = mean(&mut open.iter().map(|&i| by_length(i)));
    let better_by_activity = by_last_activity_mae_s <= by_prefix_length_mae_s;
    let baseline = |i: usize| if better_by_activity { by_activity(i) } else { by_length(i) };
    let better = by_last_activity_mae_s.min(by_prefix_length_mae_s);
    let within = open
        .iter()
        .filter(|&&i| {
            let (f, actual) = (&forecasts[i], tested.remaining_s[i]);
            f.remaining_low_s <= actual && actual <= f.remaining_high_s
        })
        .count();
    let mut by_prefix_length = Vec::new();
    for length in 1..=LENGTHS_LISTED {
        let longer = length == LENGTHS_LISTED;
        let rows: Vec<usize> = open
            .iter()
            .copied()
            .filter(|&i| if longer { tested.length[i] >= length } else { tested.length[i] == length })
            .collect();
        if rows.is_empty() {
            continue;
        }
        by_prefix_length.push(LengthScore {
            length,
            and_longer: longer,
            prefixes: rows.len() as u64,
            mae_s: mean(&mut rows.iter().map(|&i| error(i))),
            baseline_mae_s: mean(&mut rows.iter().map(|&i| baseline(i))),
        });
    }
    let remaining_time = RemainingScore {
        mae_s,
        by_last_activity_mae_s,
        by_prefix_length_mae_s,
        improvement: if better > 0.0 { 1.0 - mae_s / better } else { 0.0 },
        interval_coverage: within as f64 / open.len().max(1) as f64,
        by_prefix_length,
    };

    let all = tested.rows();
    let hit = |i: usize, top: usize| forecasts[i].next.iter().take(top).any(|&(class, _)| class == tested.next[i]);
    let next_activity = NextScore {
        accuracy: (0..all).filter(|&i| hit(i, 1)).count() as f64 / all.max(1) as f64,
        top3_accuracy: (0..all).filter(|&i| hit(i, 3)).count() as f64 / all.max(1) as f64,
        baseline_accuracy: (0..all).filter(|&i| baselines.next_after(tested.last[i]) == tested.next[i]).count() as f64
            / all.max(1) as f64,
    };
    let next_time = TimeScore {
        mae_s: mean(&mut open.iter().map(|&i| (forecasts[i].next_in_s - tested.next_in_s[i]).abs())),
        baseline_mae_s: mean(
            &mut open.iter().map(|&i| (baselines.next_in_after(tested.last[i]) - tested.next_in_s[i]).abs()),
        ),
    };
    let risk = models.case_target_s().map(|target| {
        let outcome: Vec<bool> = open.iter().map(|&i| tested.case_duration_s[i] > target).collect();
        let probability: Vec<f64> = open.iter().map(|&i| forecasts[i].risk.unwrap_or(0.0)).collect();
        let learnt_rate = {
            let rows: Vec<usize> = (0..learnt.rows()).filter(|&i| learnt.next[i] != classes.end()).collect();
            rows.iter().filter(|&&i| learnt.case_duration_s[i] > target).count() as f64 / rows.len().max(1) as f64
        };
        let brier = |p: &dyn Fn(usize) -> f64| {
            mean(&mut outcome.iter().enumerate().map(|(j, &o)| (p(j) - f64::from(u8::from(o))).powi(2)))
        };
        RiskScore {
            case_target_s: target,
            rate: outcome.iter().filter(|&&o| o).count() as f64 / outcome.len().max(1) as f64,
            auc: auc(&probability, &outcome),
            brier: brier(&|j| probability[j]),
            baseline_brier: brier(&|_| learnt_rate),
        }
    });
    Ok(Evaluation {
        split_at: DateTime::from_timestamp_micros(split_at).unwrap_or_default(),
        training_cases: training.len() as u64,
        test_cases: test.len() as u64,
        test_prefixes: open.len() as u64,
        remaining_time,
        next_activity,
        next_time,
        risk,
        task_risk: task_risk::evaluate(tasks, options.seed)?,
    })
}

/// The finished cases of `log` (`running` marks the others) as (first event's time, number), by
/// start.
pub(crate) fn finished_by_start(log: &CaseLog, running: &[bool]) -> Vec<(i64, usize)> {
    let mut finished: Vec<(i64, usize)> = log
        .case_ranges()
        .enumerate()
        .filter(|(c, _)| !running.get(*c).copied().unwrap_or(false))
        .map(|(c, rows)| (log.t[rows].iter().copied().min().unwrap_or_default(), c))
        .collect();
    finished.sort_unstable();
    finished
}

/// The baselines, learnt from the training prefixes.
struct Baselines {
    remaining_by_last: HashMap<u32, f64>,
    remaining_by_length: HashMap<u32, f64>,
    remaining_overall: f64,
    next_after: HashMap<u32, u32>,
    next_overall: u32,
    next_in_after: HashMap<u32, f64>,
    next_in_overall: f64,
}

impl Baselines {
    fn of(learnt: &Prefixes, classes: Classes) -> Baselines {
        let open: Vec<usize> = (0..learnt.rows()).filter(|&i| learnt.next[i] != classes.end()).collect();
        let means = |key: &[u32], value: &[f64]| {
            let mut sums: HashMap<u32, (f64, u64)> = HashMap::new();
            for &i in &open {
                let entry = sums.entry(key[i]).or_default();
                entry.0 += value[i];
                entry.1 += 1;
            }
            sums.into_iter().map(|(k, (sum, n))| (k, sum / n as f64)).collect::<HashMap<u32, f64>>()
        };
        let overall = |value: &[f64]| open.iter().map(|&i| value[i]).sum::<f64>() / open.len().max(1) as f64;
        let mut counts: HashMap<(u32, u32), u64> = HashMap::new();
        let mut totals: HashMap<u32, u64> = HashMap::new();
        for i in 0..learnt.rows() {
            *counts.entry((learnt.last[i], learnt.next[i])).or_default() += 1;
            *totals.entry(learnt.next[i]).or_default() += 1;
        }
        let mut next_after: HashMap<u32, (u64, u32)> = HashMap::new();
        for (&(last, next), &n) in &counts {
            let best = next_after.entry(last).or_insert((0, next));
            if n > best.0 || (n == best.0 && next < best.1) {
                *best = (n, next);
            }
        }
        let next_overall =
            totals.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map_or(classes.end(), |(&class, _)| class);
        Baselines {
            remaining_by_last: means(&learnt.last, &learnt.remaining_s),
            remaining_by_length: means(&learnt.length, &learnt.remaining_s),
            remaining_overall: overall(&learnt.remaining_s),
            next_after: next_after.into_iter().map(|(k, (_, next))| (k, next)).collect(),
            next_overall,
            next_in_after: means(&learnt.last, &learnt.next_in_s),
            next_in_overall: overall(&learnt.next_in_s),
        }
    }

    fn remaining_by_last(&self, last: u32) -> f64 {
        self.remaining_by_last.get(&last).copied().unwrap_or(self.remaining_overall)
    }

    fn remaining_by_length(&self, length: u32) -> f64 {
        self.remaining_by_length.get(&length).copied().unwrap_or(self.remaining_overall)
    }

    fn next_after(&self, last: u32) -> u32 {
        self.next_after.get(&last).copied().unwrap_or(self.next_overall)
    }

    fn next_in_after(&self, last: u32) -> f64 {
        self.next_in_after.get(&last).copied().unwrap_or(self.next_in_overall)
    }
}

/// The area under the ROC curve of `scores` for `outcomes`: the probability that a positive
/// scores above a negative (ties count half), by ranks; none with one outcome only.
pub(crate) fn auc(scores: &[f64], outcomes: &[bool]) -> Option<f64> {
    let positives = outcomes.iter().filter(|&&o| o).count();
    let negatives = outcomes.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let rank = (i + j + 2) as f64 / 2.0;
        rank_sum += rank * order[i..=j].iter().filter(|&&k| outcomes[k]).count() as f64;
        i = j + 1;
    }
    let (p, n) = (positives as f64, negatives as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

impl Evaluation {
    /// The evaluation as text: each model against its baselines.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Learnt from {} cases started before {}; tested on {} cases started after ({} prefixes before their end).\n",
            self.training_cases,
            self.split_at.format("%Y-%m-%d %H:%M"),
            self.test_cases,
            self.test_prefixes
        );
        let r = &self.remaining_time;
        let _ = writeln!(
            out,
            "Remaining time: mean absolute error {} against {} (mean by last activity) and {} (mean by prefix length): {} {} than the better; the 80% interval held {} of actual times.",
            duration(r.mae_s),
            duration(r.by_last_activity_mae_s),
            duration(r.by_prefix_length_mae_s),
            percent(r.improvement.abs()),
            if r.improvement >= 0.0 { "smaller" } else { "larger" },
            percent(r.interval_coverage)
        );
        let rows: Vec<Vec<String>> = r
            .by_prefix_length
            .iter()
            .map(|l| {
                vec![
                    format!("{}{}", l.length, if l.and_longer { "+" } else { "" }),
                    l.prefixes.to_string(),
                    duration(l.mae_s),
                    duration(l.baseline_mae_s),
                ]
            })
            .collect();
        out.push_str(&crate::text::table(&["prefix length", "prefixes", "error", "baseline error"], &rows));
        let n = &self.next_activity;
        let _ = writeln!(
            out,
            "\nNext activity: accuracy {} (top 3: {}) against {} for the most frequent next after the last.",
            percent(n.accuracy),
            percent(n.top3_accuracy),
            percent(n.baseline_accuracy)
        );
        let _ = writeln!(
            out,
            "Time to the next event: mean absolute error {} against {}.",
            duration(self.next_time.mae_s),
            duration(self.next_time.baseline_mae_s)
        );
        if let Some(risk) = &self.risk {
            let auc = risk.auc.map_or_else(|| "none (one outcome only)".to_string(), |a| format!("{a:.3}"));
            let _ = writeln!(
                out,
                "Risk of exceeding {}: AUC {auc}, Brier score {:.4} against {:.4} for the base rate ({} of test prefixes exceeded it).",
                duration(risk.case_target_s),
                risk.brier,
                risk.baseline_brier,
                percent(risk.rate)
            );
        }
        if let Some(t) = &self.task_risk {
            let auc = t.auc.map_or_else(|| "none (one outcome only)".to_string(), |a| format!("{a:.3}"));
            let _ = writeln!(
                out,
                "Risk that a task misses its step's SLA: AUC {auc}, Brier score {:.4} against {:.4} for the base rate ({} of {} test moments were of late tasks).",
                t.brier,
                t.baseline_brier,
                percent(t.rate),
                t.moments
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::auc;

    #[test]
    fn auc_is_the_chance_a_positive_outscores_a_negative() {
        assert_eq!(auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]), Some(0.75));
        assert_eq!(auc(&[0.5, 0.5], &[false, true]), Some(0.5));
        assert_eq!(auc(&[0.9, 0.1], &[true, false]), Some(1.0));
        assert_eq!(auc(&[0.9, 0.1], &[true, true]), None);
    }
}
