//! The risk that an open task of the engine misses its step's SLA (its due time).
//!
//! A task is seen at moments between becoming ready and its due time: when it becomes ready, and
//! after a quarter, a half and three quarters of its SLA if it is still open then. Each moment is
//! a row — the step (by name), the SLA, how much of it has passed, whether the task is assigned
//! and started, the hour and weekday, the open tasks of the same step (its queue) and of the team —
//! labelled by whether the task was finished after its due time. A random forest regressor on 0/1
//! gives the probability; the reason names what stands out against the tasks that were at the same
//! step.

use super::features::InProgress;
use super::forest::{Growth, LearnError, Regressor, Table};
use crate::caselog::NONE;
use crate::text::{duration, number, whole_percent};
use crate::{Events, ReportError};
use chrono::{DateTime, Datelike, Timelike};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The fractions of its SLA after which an open task is seen (besides when it became ready).
const MOMENTS: [f64; 4] = [0.0, 0.25, 0.5, 0.75];
/// Finished tasks with an SLA needed to learn from.
pub const MIN_TASKS: usize = 50;
/// Steps with a column of their own; rarer ones share `other`.
const MAX_STEPS: usize = 40;
const GROWTH: Growth = Growth { trees: 40, max_depth: 12, min_samples_leaf: 5, split_share: None };

/// Columns before the steps'.
const FIXED: [&str; 8] =
    ["sla_s", "elapsed_share", "assigned", "started", "hour", "weekday", "step_queue", "team_open"];
const SHARE: usize = 1;
const STARTED: usize = 3;
const QUEUE: usize = 6;

/// A task with a due time, as the warehouse holds it (times in µs).
#[derive(Debug, Clone)]
pub(crate) struct DueTask {
    pub id: String,
    pub instance_id: String,
    pub step: String,
    pub ready: i64,
    pub assigned: Option<i64>,
    pub started: Option<i64>,
    pub completed: Option<i64>,
    pub due: i64,
}

impl DueTask {
    fn open_at(&self, t: i64) -> bool {
        self.ready <= t && self.completed.is_none_or(|c| c > t)
    }

    fn late(&self) -> bool {
        self.completed.is_some_and(|c| c > self.due)
    }
}

/// The tasks with a due time among `events`' (the engine's, its filter's playbook), not
/// cancelled or skipped.
pub(crate) async fn due_tasks(events: &Events<'_>) -> Result<Vec<DueTask>, ReportError> {
    let sql = format!(
        "SELECT id, instance_id, name, CAST(ready_at AS BIGINT) AS ready, CAST(assigned_at AS BIGINT) AS assigned,
            CAST(started_at AS BIGINT) AS started, CAST(completed_at AS BIGINT) AS completed, CAST(due_at AS BIGINT) AS due
         FROM tasks
         WHERE due_at IS NOT NULL AND ready_at IS NOT NULL AND status NOT IN ('cancelled', 'skipped') AND {predicate}",
        predicate = events.filter().record_predicate("ready_at"),
    );
    let rows = events.run(&sql).await?;
    let (ids, instances, names) = (rows.strings("id")?, rows.strings("instance_id")?, rows.strings("name")?);
    let (ready, assigned, started) = (rows.i64s("ready")?, rows.i64s("assigned")?, rows.i64s("started")?);
    let (completed, due) = (rows.i64s("completed")?, rows.i64s("due")?);
    Ok((0..rows.len())
        .filter_map(|i| {
            Some(DueTask {
                id: ids[i].clone(),
                instance_id: instances[i].clone(),
                step: names[i].clone(),
                ready: ready[i]?,
                assigned: assigned[i],
                started: started[i],
                completed: completed[i],
                due: due[i]?,
            })
            .filter(|t| t.due > t.ready)
        })
        .collect())
}

/// What the tasks at one step looked like when seen: how many rows, their late share, and the
/// medians of the queue and of the share of the SLA passed before the task started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct StepTypical {
    pub rows: u64,
    pub late_share: f64,
    pub queue: f64,
}

/// The steps with a column of their own, the most frequent first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Layout {
    steps: Vec<String>,
}

/// The trained task-risk model.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct TaskRisk {
    layout: Layout,
    model: Regressor,
    typical: Vec<StepTypical>,
}

/// The open tasks at a moment, per step and in all: from every task's ready and completion times.
pub(crate) struct Load {
    all: InProgress,
    per_step: HashMap<String, InProgress>,
}

impl Load {
    pub fn of(tasks: &[DueTask]) -> Load {
        let span = |t: &DueTask| (t.ready, t.completed.unwrap_or(NONE));
        let mut per_step: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
        for t in tasks {
            per_step.entry(t.step.clone()).or_default().push(span(t));
        }
        Load {
            all: InProgress::new(tasks.iter().map(span)),
            per_step: per_step.into_iter().map(|(step, spans)| (step, InProgress::new(spans.into_iter()))).collect(),
        }
    }
}

/// Rows of moments with what happened.
struct Moments {
    values: Vec<f64>,
    late: Vec<f64>,
    step: Vec<usize>,
}

impl Layout {
    fn width(&self) -> usize {
        FIXED.len() + self.steps.len() + 1
    }

    fn step_of(&self, step: &str) -> usize {
        self.steps.iter().position(|s| s == step).unwrap_or(self.steps.len())
    }

    /// The rows of `tasks` at their moments (`at`: one moment each, for open tasks now); `load`
    /// counts the open tasks (each task itself left out).
    fn moments(&self, tasks: &[&DueTask], load: &Load, at: Option<i64>) -> Moments {
        let mut moments = Moments { values: Vec::new(), late: Vec::new(), step: Vec::new() };
        for task in tasks {
            let sla = task.due - task.ready;
            let times: Vec<i64> = match at {
                Some(now) => vec![now],
                None => MOMENTS
                    .iter()
                    .map(|share| task.ready + (sla as f64 * share) as i64)
                    .filter(|&t| task.open_at(t))
                    .collect(),
            };
            for t in times {
                let step = self.step_of(&task.step);
                let start = moments.values.len();
                moments.values.resize(start + self.width(), 0.0);
                let row = &mut moments.values[start..];
                row[0] = sla as f64 / 1e6;
                row[SHARE] = (t - task.ready) as f64 / sla as f64;
                row[2] = f64::from(u8::from(task.assigned.is_some_and(|a| a <= t)));
                row[STARTED] = f64::from(u8::from(task.started.is_some_and(|s| s <= t)));
                let time = DateTime::from_timestamp_micros(t).unwrap_or_default();
                row[4] = f64::from(time.hour());
                row[5] = f64::from(time.weekday().num_days_from_monday());
                let itself = usize::from(task.open_at(t));
                let queue = load.per_step.get(&task.step).map_or(0, |q| q.at(t));
                row[QUEUE] = queue.saturating_sub(itself) as f64;
                row[7] = load.all.at(t).saturating_sub(itself) as f64;
                row[FIXED.len() + step] = 1.0;
                moments.late.push(f64::from(u8::from(task.late())));
                moments.step.push(step);
            }
        }
        moments
    }
}

impl TaskRisk {
    /// Learns from the finished tasks of `learn` (`load`: of every task, for the queues).
    pub fn train(learn: &[&DueTask], load: &Load, seed: u64) -> Result<Option<TaskRisk>, LearnError> {
        let finished: Vec<&DueTask> = learn.iter().copied().filter(|t| t.completed.is_some()).collect();
        if finished.len() < MIN_TASKS {
            return Ok(None);
        }
        let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for t in &finished {
            *counts.entry(t.step.as_str()).or_default() += 1;
        }
        let mut steps: Vec<(&str, usize)> = counts.into_iter().collect();
        steps.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        steps.truncate(MAX_STEPS);
        let layout = Layout { steps: steps.into_iter().map(|(s, _)| s.to_string()).collect() };
        let moments = layout.moments(&finished, load, None);
        let table = Table::new(&moments.values, layout.width())?;
        let model = Regressor::fit(&table, &moments.late, GROWTH, seed)?;
        let mut typical = vec![(0u64, 0.0, Vec::new()); layout.steps.len() + 1];
        for (i, &step) in moments.step.iter().enumerate() {
            let entry = &mut typical[step];
            entry.0 += 1;
            entry.1 += moments.late[i];
            entry.2.push(moments.values[i * layout.width() + QUEUE]);
        }
        let typical = typical
            .into_iter()
            .map(|(rows, late, mut queue)| StepTypical {
                rows,
                late_share: if rows == 0 { 0.0 } else { late / rows as f64 },
                queue: crate::stats::median(&mut queue),
            })
            .collect();
        Ok(Some(TaskRisk { layout, model, typical }))
    }

    /// For each of `tasks` (open ones), seen at `now` (µs): the probability it misses its SLA
    /// and why (1 for a task already past its due time).
    pub fn assess(&self, tasks: &[&DueTask], load: &Load, now: i64) -> Result<Vec<Assessment>, LearnError> {
        let moments = self.layout.moments(tasks, load, Some(now));
        let width = self.layout.width();
        let table = Table::new(&moments.values, width)?;
        let probabilities = self.model.predict(&table)?;
        Ok(probabilities
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                let task = tasks[i];
                let row = &moments.values[i * width..(i + 1) * width];
                let typical = self.typical.get(moments.step[i]).cloned().unwrap_or_default();
                let (queue, usual_queue) = (row[QUEUE] as u64, typical.queue);
                if task.due < now {
                    let sla = duration((task.due - task.ready) as f64 / 1e6);
                    let ago = duration((now - task.due) as f64 / 1e6);
                    let state = match task.started.filter(|&started| started <= now) {
                        Some(started) => format!("started {} ago", duration((now - started) as f64 / 1e6)),
                        None => "not started yet".to_string(),
                    };
                    let reason = format!("Already late: its {sla} SLA ran out {ago} ago, {state}.");
                    return Assessment { risk: 1.0, reason, queue, usual_queue };
                }
                let p = p.clamp(0.0, 1.0);
                Assessment { risk: p, reason: self.reason(task, row, p, &typical, now), queue, usual_queue }
            })
            .collect())
    }

    /// One sentence: how likely, and what stands out.
    fn reason(&self, task: &DueTask, row: &[f64], p: f64, typical: &StepTypical, now: i64) -> String {
        let sla = (task.due - task.ready) as f64 / 1e6;
        let mut notes = Vec::new();
        let passed = (now - task.ready) as f64 / 1e6;
        if row[STARTED] == 0.0 {
            notes.push(format!("not started {} after it became ready", duration(passed)));
        } else {
            notes.push(format!("{} of its SLA gone", whole_percent(row[SHARE].min(9.99))));
        }
        if row[QUEUE] > typical.queue && row[QUEUE] >= 2.0 {
            notes.push(format!(
                "{} other tasks waiting at this step (usually {})",
                number(row[QUEUE]),
                number(typical.queue)
            ));
        }
        let usual = if typical.rows > 0 {
            format!("; {} of tasks here are late", whole_percent(typical.late_share))
        } else {
            String::new()
        };
        format!("{} likely to miss its {} SLA: {}{usual}.", whole_percent(p), duration(sla), notes.join(", "))
    }
}

/// What the model says of one open task.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Assessment {
    /// The probability that it is finished after its due time (1 once past it).
    pub risk: f64,
    /// Why, in one sentence.
    pub reason: String,
    /// The other tasks open at its step now, and the median at its step when learnt.
    pub queue: u64,
    pub usual_queue: f64,
}

/// How well the task risk is told, on a temporal split of the tasks by the time they became ready.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskRiskScore {
    /// Test moments and the share of them whose task was late.
    pub moments: u64,
    pub rate: f64,
    pub auc: Option<f64>,
    pub brier: f64,
    /// The training moments' late share as every probability: its Brier score.
    pub baseline_brier: f64,
}

/// Scores the task-risk model: learnt from the tasks that became ready in the first
/// [`super::TRAINING_SHARE`] of them, asked about every moment of the later finished ones.
pub(crate) fn evaluate(tasks: &[DueTask], seed: u64) -> Result<Option<TaskRiskScore>, LearnError> {
    let mut order: Vec<&DueTask> = tasks.iter().collect();
    order.sort_by_key(|t| (t.ready, t.id.clone()));
    let split = ((order.len() as f64) * super::TRAINING_SHARE).floor() as usize;
    let (learn, test) = order.split_at(split);
    let load = Load::of(tasks);
    let Some(model) = TaskRisk::train(learn, &load, seed)? else { return Ok(None) };
    let finished: Vec<&DueTask> = test.iter().copied().filter(|t| t.completed.is_some()).collect();
    let moments = model.layout.moments(&finished, &load, None);
    if moments.late.is_empty() {
        return Ok(None);
    }
    let table = Table::new(&moments.values, model.layout.width())?;
    let predicted: Vec<f64> = model.model.predict(&table)?.into_iter().map(|p| p.clamp(0.0, 1.0)).collect();
    let learnt_tasks: Vec<&DueTask> = learn.iter().copied().filter(|t| t.completed.is_some()).collect();
    let learnt = model.layout.moments(&learnt_tasks, &load, None);
    let base = learnt.late.iter().sum::<f64>() / learnt.late.len().max(1) as f64;
    let n = moments.late.len() as f64;
    let brier =
        |p: &dyn Fn(usize) -> f64| moments.late.iter().enumerate().map(|(i, &y)| (p(i) - y).powi(2)).sum::<f64>() / n;
    let outcomes: Vec<bool> = moments.late.iter().map(|&y| y > 0.5).collect();
    Ok(Some(TaskRiskScore {
        moments: moments.late.len() as u64,
        rate: moments.late.iter().sum::<f64>() / n,
        auc: super::evaluation::auc(&predicted, &outcomes),
        brier: brier(&|i| predicted[i]),
        baseline_brier: brier(&|_| base),
    }))
}
