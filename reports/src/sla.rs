//! SLA breaches: which steps miss their SLA and by how much, and which cases take longer than a
//! target.
//!
//! # Definitions
//!
//! - **Step SLAs** (the engine's tasks only; imported logs have none): a task activated by the
//!   engine is due at its ready time plus its step's SLA (`due_at`). Every task with a due time
//!   counts — reworked steps' earlier attempts too — in the current state of the `tasks` table.
//!   A task is *cancelled* when it was cancelled or skipped (it is left out of the rates),
//!   *completed* when it has a completion time (approvals that were rejected too): *on time*
//!   when it completed at or before its due time, *late* otherwise; a task neither is *open*:
//!   *overdue* when its due time is before the report's `now`, *within time* otherwise. The
//!   **breach rate** is (late + overdue) / (tasks with a due time, not cancelled). **Lateness**
//!   is completion minus due time for the late tasks and `now` minus due time for the overdue
//!   ones. A step is a playbook's step key with its name; the filter's playbook and version
//!   apply, and its time range selects tasks by their ready time (whatever its [`TimeScope`]).
//! - **Case target** (any source): a case's duration is its last event's time minus its first
//!   event's over the filter's events, as [`crate::case_report`] has it; a case *breaches*
//!   the target when its duration is above it, and its **excess** is the duration minus the
//!   target. For the engine's events, cases whose instance is still running are left out (their
//!   duration so far is not a case duration) and counted under [`OpenInstances`] instead, by
//!   their age at `now` (`now` minus the instance's start); there the filter's time range selects
//!   instances by their start.
//! - **Findings**, in order: how many tasks with an SLA missed it (when any task has a due time);
//!   the sentences of the [`STEP_FINDINGS`] steps with the highest breach rates (above 0); the
//!   case target's sentence, then that of the running instances.
//!
//! Percentages are written by [`crate::text::percent`], durations by [`crate::text::duration`].
//!
//! [`TimeScope`]: crate::TimeScope

use crate::sql::{running_join, seconds};
use crate::text::{duration, percent, plural, table};
use crate::{Events, ReportError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt::Write;

/// How many steps with breaches the findings describe, the highest breach rates first.
pub const STEP_FINDINGS: usize = 5;

/// SLA breaches of a filter's steps and cases, as of a moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaReport {
    /// The moment open tasks and running instances are judged at.
    pub as_of: DateTime<Utc>,
    /// Every step with a task that has a due time, by breach rate (descending; steps without a
    /// rate last), then name, step key and playbook. Empty for imported logs.
    pub steps: Vec<StepSla>,
    /// The cases against the target, when one was given.
    pub cases: Option<CaseSla>,
    /// The main findings as sentences (see the module docs).
    pub findings: Vec<String>,
}

/// One step's tasks against its SLA (see the module docs for the definitions).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepSla {
    pub playbook_id: String,
    pub step_key: String,
    /// The step's name (the activity).
    pub name: String,
    /// The SLA in seconds (due time minus ready time), when all the step's tasks had the same;
    /// `None` when versions differ.
    pub sla_s: Option<f64>,
    /// Tasks with a due time, not cancelled or skipped.
    pub tasks: u64,
    /// Completed at or before their due time.
    pub on_time: u64,
    /// Completed after their due time.
    pub late: u64,
    /// Not completed, due before `as_of`.
    pub overdue: u64,
    /// Not completed, due at or after `as_of`.
    pub within_time: u64,
    /// Cancelled or skipped tasks with a due time (not in `tasks`).
    pub cancelled: u64,
    /// `late + overdue`.
    pub breaches: u64,
    /// `breaches / tasks`; `None` without tasks.
    pub breach_rate: Option<f64>,
    /// The mean lateness of the breaches, in seconds; `None` without breaches.
    pub lateness_mean_s: Option<f64>,
    /// The largest lateness of the breaches, in seconds; `None` without breaches.
    pub lateness_max_s: Option<f64>,
}

/// The cases against a target duration (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseSla {
    /// The target, in seconds.
    pub target_s: f64,
    /// Cases measured (for the engine: those whose instance is no longer running).
    pub cases: u64,
    /// Cases that took longer than the target.
    pub breaches: u64,
    /// `breaches / cases`; `None` without cases.
    pub breach_rate: Option<f64>,
    /// The mean of the breaching cases' durations minus the target, in seconds.
    pub excess_mean_s: Option<f64>,
    /// The largest of the breaching cases' durations minus the target, in seconds.
    pub excess_max_s: Option<f64>,
    /// The engine's running instances; `None` for imported logs.
    pub open: Option<OpenInstances>,
}

/// The engine's running instances against the case target, by their age at `as_of`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenInstances {
    /// Running instances.
    pub instances: u64,
    /// Those older than the target.
    pub over_target: u64,
    /// Their mean age minus the target, in seconds.
    pub excess_mean_s: Option<f64>,
    /// Their largest age minus the target, in seconds.
    pub excess_max_s: Option<f64>,
}

/// The SLA breaches of the filter's steps (the engine's tasks) and, with `case_target_s` (a
/// finite number of seconds above 0), of its cases; open tasks and running instances are judged
/// as of `now`.
///
/// SQL: the tasks classified and aggregated per step; the cases' durations (`max(t) - min(t)`)
/// against the target, with the running instances' ages for the engine — two queries at most.
pub async fn sla(
    events: &Events<'_>,
    case_target_s: Option<f64>,
    now: DateTime<Utc>,
) -> Result<SlaReport, ReportError> {
    if let Some(target) = case_target_s
        && !(target.is_finite() && target > 0.0)
    {
        return Err(ReportError::InvalidFilter(format!(
            "the case target must be a number of seconds above 0, not {target}"
        )));
    }
    let now_micros = now.timestamp_micros();
    let mut steps = if events.filter().is_engine() { step_slas(events, now_micros).await? } else { Vec::new() };
    steps.sort_by(|a, b| {
        let rate = |s: &StepSla| s.breach_rate.unwrap_or(-1.0);
        rate(b)
            .total_cmp(&rate(a))
            .then_with(|| (&a.name, &a.step_key, &a.playbook_id).cmp(&(&b.name, &b.step_key, &b.playbook_id)))
    });
    let cases = match case_target_s {
        Some(target) => Some(case_sla(events, target, now_micros).await?),
        None => None,
    };
    let findings = findings(&steps, cases.as_ref());
    Ok(SlaReport { as_of: now, steps, cases, findings })
}

/// Per step: the tasks with a due time, classified (see the module docs).
async fn step_slas(events: &Events<'_>, now: i64) -> Result<Vec<StepSla>, ReportError> {
    let filter = events.filter();
    let count = |state: &str| format!("sum(CASE WHEN state = '{state}' THEN 1 ELSE 0 END) AS {state}");
    let sql = format!(
        "WITH due_tasks AS (
            SELECT playbook_id, step_key, name, status IN ('cancelled', 'skipped') AS dropped,
                CAST(ready_at AS BIGINT) AS ready, CAST(completed_at AS BIGINT) AS done, CAST(due_at AS BIGINT) AS due
            FROM tasks WHERE due_at IS NOT NULL AND {predicate}
        ),
        classified AS (
            SELECT playbook_id, step_key, name, due - ready AS sla,
                CASE WHEN dropped THEN 'cancelled'
                    WHEN done IS NOT NULL AND done <= due THEN 'on_time'
                    WHEN done IS NOT NULL THEN 'late'
                    WHEN due < {now} THEN 'overdue'
                    ELSE 'within_time' END AS state,
                CASE WHEN dropped THEN NULL
                    WHEN done IS NOT NULL AND done > due THEN done - due
                    WHEN done IS NULL AND due < {now} THEN {now} - due END AS lateness
            FROM due_tasks
        )
        SELECT playbook_id, step_key, name, {on_time}, {late}, {overdue}, {within_time}, {cancelled},
            min(sla) AS sla_min, max(sla) AS sla_max,
            avg({lateness}) AS lateness_mean, max({lateness}) AS lateness_max
        FROM classified GROUP BY playbook_id, step_key, name",
        predicate = filter.record_predicate("ready_at"),
        on_time = count("on_time"),
        late = count("late"),
        overdue = count("overdue"),
        within_time = count("within_time"),
        cancelled = count("cancelled"),
        lateness = seconds("lateness"),
    );
    let rows = events.run(&sql).await?;
    let (playbooks, keys, names) = (rows.strings("playbook_id")?, rows.strings("step_key")?, rows.strings("name")?);
    let (on_time, late, overdue) = (rows.counts("on_time")?, rows.counts("late")?, rows.counts("overdue")?);
    let (within_time, cancelled) = (rows.counts("within_time")?, rows.counts("cancelled")?);
    let (sla_min, sla_max) = (rows.i64s("sla_min")?, rows.i64s("sla_max")?);
    let (lateness_mean, lateness_max) = (rows.f64s("lateness_mean")?, rows.f64s("lateness_max")?);
    let steps = (0..rows.len())
        .map(|i| {
            let tasks = on_time[i] + late[i] + overdue[i] + within_time[i];
            let breaches = late[i] + overdue[i];
            let sla_s = match (sla_min[i], sla_max[i]) {
                (Some(min), Some(max)) if min == max => Some(min as f64 / 1e6),
                _ => None,
            };
            StepSla {
                playbook_id: playbooks[i].clone(),
                step_key: keys[i].clone(),
                name: names[i].clone(),
                sla_s,
                tasks,
                on_time: on_time[i],
                late: late[i],
                overdue: overdue[i],
                within_time: within_time[i],
                cancelled: cancelled[i],
                breaches,
                breach_rate: (tasks > 0).then(|| breaches as f64 / tasks as f64),
                lateness_mean_s: lateness_mean[i].filter(|_| breaches > 0),
                lateness_max_s: lateness_max[i].filter(|_| breaches > 0),
            }
        })
        .collect();
    Ok(steps)
}

/// The cases against `target` seconds and, for the engine, the running instances' ages.
async fn case_sla(events: &Events<'_>, target: f64, now: i64) -> Result<CaseSla, ReportError> {
    let filter = events.filter();
    let over = |value: &str, name: &str| {
        format!(
            "sum(CASE WHEN {value} > {target:?} THEN 1 ELSE 0 END) AS {name}_breaches,
            avg(CASE WHEN {value} > {target:?} THEN {value} - {target:?} END) AS {name}_excess_mean,
            max(CASE WHEN {value} > {target:?} THEN {value} - {target:?} END) AS {name}_excess_max"
        )
    };
    let (running, open) = if filter.is_engine() {
        (
            running_join("c", false),
            format!(
                "CROSS JOIN (SELECT count(*) AS open_instances, {over}
                    FROM (SELECT {age} AS age FROM instances WHERE status = 'running' AND {predicate}) ages) open_figures",
                over = over("age", "open"),
                age = seconds(&format!("{now} - CAST(started_at AS BIGINT)")),
                predicate = filter.record_predicate("started_at"),
            ),
        )
    } else {
        (String::new(), String::new())
    };
    let sql = format!(
        "{ev},
        cases AS (SELECT {case}, {duration} AS length_s FROM ev GROUP BY {case}),
        measured AS (SELECT c.length_s FROM cases c {running})
        SELECT * FROM (SELECT count(*) AS cases, {over} FROM measured) closed {open}",
        ev = events.cte(),
        case = events.case_key(),
        duration = seconds("max(t) - min(t)"),
        over = over("length_s", "case"),
    );
    let rows = events.run(&sql).await?;
    if rows.len() != 1 {
        return Err(ReportError::Shape(format!("{} rows of case SLA figures", rows.len())));
    }
    let cases = rows.counts("cases")?[0];
    let breaches = rows.counts("case_breaches")?[0];
    let open = if filter.is_engine() {
        let over_target = rows.counts("open_breaches")?[0];
        Some(OpenInstances {
            instances: rows.counts("open_instances")?[0],
            over_target,
            excess_mean_s: rows.f64s("open_excess_mean")?[0].filter(|_| over_target > 0),
            excess_max_s: rows.f64s("open_excess_max")?[0].filter(|_| over_target > 0),
        })
    } else {
        None
    };
    Ok(CaseSla {
        target_s: target,
        cases,
        breaches,
        breach_rate: (cases > 0).then(|| breaches as f64 / cases as f64),
        excess_mean_s: rows.f64s("case_excess_mean")?[0].filter(|_| breaches > 0),
        excess_max_s: rows.f64s("case_excess_max")?[0].filter(|_| breaches > 0),
        open,
    })
}

/// The findings (see the module docs).
fn findings(steps: &[StepSla], cases: Option<&CaseSla>) -> Vec<String> {
    let mut findings = Vec::new();
    let tasks: u64 = steps.iter().map(|s| s.tasks).sum();
    if tasks > 0 {
        let breaches: u64 = steps.iter().map(|s| s.breaches).sum();
        if breaches == 0 {
            let on_time: u64 = steps.iter().map(|s| s.on_time).sum();
            let within: u64 = steps.iter().map(|s| s.within_time).sum();
            findings
                .push(format!("No task has missed its SLA: {on_time} completed on time, {within} still within it."));
        } else {
            findings.push(format!(
                "{breaches} of {} with an SLA ({}) missed it, in {} of {}.",
                plural(tasks, "task", "tasks"),
                percent(breaches as f64 / tasks as f64),
                steps.iter().filter(|s| s.breaches > 0).count(),
                plural(steps.len() as u64, "step", "steps"),
            ));
        }
    }
    findings.extend(steps.iter().filter(|s| s.breaches > 0).take(STEP_FINDINGS).map(step_sentence));
    if let Some(cases) = cases {
        findings.extend(case_sentences(cases));
    }
    findings
}

/// "Legal review missed its 4h 00m SLA on 15 of 40 tasks (37.5%): 12 completed late, 3 overdue
/// now; late by 2h 10m on average, at most 5h 00m."
fn step_sentence(step: &StepSla) -> String {
    let sla = step.sla_s.map_or_else(String::new, |s| format!(" {}", duration(s)));
    let mut sentence = format!(
        "{} missed its{sla} SLA on {} of {} ({}): ",
        step.name,
        step.breaches,
        plural(step.tasks, "task", "tasks"),
        percent(step.breach_rate.unwrap_or(0.0))
    );
    let parts: Vec<String> = [(step.late, "completed late"), (step.overdue, "overdue now")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    sentence.push_str(&parts.join(", "));
    if let (Some(mean), Some(max)) = (step.lateness_mean_s, step.lateness_max_s) {
        let _ = write!(sentence, "; late by {} on average, at most {}", duration(mean), duration(max));
    }
    sentence.push('.');
    sentence
}

/// "14 of 120 cases (11.7%) took longer than the 5d 00h target, by 1d 03h on average, at most
/// 4d 02h." and the running instances' sentence.
fn case_sentences(cases: &CaseSla) -> Vec<String> {
    let target = duration(cases.target_s);
    let mut sentences = Vec::new();
    if cases.cases > 0 {
        sentences.push(match (cases.excess_mean_s, cases.excess_max_s) {
            (Some(mean), Some(max)) => format!(
                "{} of {} ({}) took longer than the {target} target, by {} on average, at most {}.",
                cases.breaches,
                plural(cases.cases, "case", "cases"),
                percent(cases.breach_rate.unwrap_or(0.0)),
                duration(mean),
                duration(max)
            ),
            _ => format!("None of the {} took longer than the {target} target.", plural(cases.cases, "case", "cases")),
        });
    }
    if let Some(open) = cases.open.as_ref().filter(|o| o.instances > 0) {
        sentences.push(match open.excess_mean_s {
            Some(mean) => format!(
                "{} of {} {} already past the {target} target, by {} on average.",
                open.over_target,
                plural(open.instances, "running instance", "running instances"),
                if open.over_target == 1 { "is" } else { "are" },
                duration(mean)
            ),
            None => format!(
                "None of the {} is past the {target} target yet.",
                plural(open.instances, "running instance", "running instances")
            ),
        });
    }
    sentences
}

impl SlaReport {
    /// The report as text for people: the steps as an aligned table, the case target, then the
    /// findings.
    pub fn to_text(&self) -> String {
        let mut out = format!("SLAs as of {}\n\n", self.as_of.format("%Y-%m-%d %H:%M:%S UTC"));
        let optional = |value: Option<f64>, show: fn(f64) -> String| value.map_or_else(|| "—".to_string(), show);
        if self.steps.is_empty() {
            out.push_str("No tasks with a step SLA in the selection.\n");
        } else {
            let rows: Vec<Vec<String>> = self
                .steps
                .iter()
                .map(|s| {
                    vec![
                        s.name.clone(),
                        optional(s.sla_s, duration),
                        s.tasks.to_string(),
                        s.on_time.to_string(),
                        s.late.to_string(),
                        s.overdue.to_string(),
                        s.within_time.to_string(),
                        optional(s.breach_rate, percent),
                        optional(s.lateness_mean_s, duration),
                        optional(s.lateness_max_s, duration),
                    ]
                })
                .collect();
            out.push_str(&table(
                &[
                    "step",
                    "SLA",
                    "tasks",
                    "on time",
                    "late",
                    "overdue",
                    "within time",
                    "breached",
                    "mean lateness",
                    "max lateness",
                ],
                &rows,
            ));
        }
        if let Some(cases) = &self.cases {
            let _ = write!(
                out,
                "\nCase target {}: {} of {} over it",
                duration(cases.target_s),
                cases.breaches,
                plural(cases.cases, "case", "cases")
            );
            if let Some(open) = &cases.open {
                let _ = write!(out, "; {} of {} running over it", open.over_target, open.instances);
            }
            out.push('\n');
        }
        if !self.findings.is_empty() {
            out.push_str("\nFindings:\n");
            for finding in &self.findings {
                let _ = writeln!(out, "- {finding}");
            }
        }
        out
    }
}

impl std::fmt::Display for SlaReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}
