//! Forecasts of open cases (the engine's running processes): each case as far as it has come,
//! asked of its subject's newest model in the registry, with the reasons in words — what about
//! the case differs most from the training prefixes that ended at the same activity.
//!
//! Forecasts are computed when asked, from the warehouse as it is (which follows the engine within
//! about a second), so they change as the cases' events stream in.

use super::features::{ELAPSED, IN_PROGRESS, REPEATS, SINCE_LAST};
use super::forest::LearnError;
use super::model::{Forecast, Typical};
use super::prefixes::Prefixes;
use super::registry::{self, ModelCard, Subject};
use super::task_risk::{DueTask, Load};
use super::{History, history, model::Models};
use crate::caselog::time_of;
use crate::text::{duration, number, plural, whole_percent};
use crate::{Events, Filter, ReportError};
use chrono::{DateTime, Duration, Utc};
use orgata_warehouse::{TeamScope, Warehouse};
use serde::Serialize;
use std::collections::HashMap;

/// The next activities a forecast lists.
pub const NEXT_LISTED: usize = 3;
/// A case is at risk when its probability of exceeding the target is at least this.
pub const AT_RISK: f64 = 0.5;

/// A forecast of one open case.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CasePrediction {
    /// The case (the process instance's id).
    pub case_id: String,
    /// Its events so far, the last one's activity and time.
    pub events: u64,
    pub last_activity: String,
    pub last_at: DateTime<Utc>,
    /// Time since its first event, now.
    pub elapsed_s: f64,
    /// The predicted remaining time from now (0 where the forecast end has passed), with the
    /// interval most cases fall in.
    pub remaining_s: f64,
    pub remaining_low_s: f64,
    pub remaining_high_s: f64,
    /// When it is expected to end, and the interval's ends.
    pub expected_end: DateTime<Utc>,
    pub earliest_end: DateTime<Utc>,
    pub latest_end: DateTime<Utc>,
    /// The likeliest next activities (`(end)`: the case ends), at most [`NEXT_LISTED`].
    pub next: Vec<NextActivity>,
    /// The expected time from the last event to the next.
    pub next_in_s: f64,
    /// The probability of exceeding the model's case target (none without a target).
    pub risk: Option<f64>,
    /// Whether that probability is at least [`AT_RISK`].
    pub at_risk: bool,
    /// Why, in one sentence: how it compares with cases at the same step, and what stands out.
    pub reason: String,
    /// Its open tasks with a due time, with the risk that each misses it (empty without a
    /// task-risk model).
    pub tasks: Vec<TaskForecast>,
    /// The model that made the forecast.
    pub model: ModelUsed,
}

/// Which model made a forecast: its playbook's own (`playbook_id`) or its team's of every
/// process (none), and the version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelUsed {
    pub playbook_id: Option<String>,
    pub version: u32,
}

/// An open task's risk of missing its step's SLA.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskForecast {
    pub task_id: String,
    /// The step's name.
    pub step: String,
    pub due_at: DateTime<Utc>,
    /// The probability that it is finished after its due time.
    pub risk: f64,
    /// Why, in one sentence.
    pub reason: String,
    /// The other tasks open at its step now, and how many usually are.
    pub queue: u64,
    pub usual_queue: f64,
}

/// A likely next activity.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NextActivity {
    pub activity: String,
    pub probability: f64,
}

/// The name of the next "activity" that says the case ends.
pub const END: &str = "(end)";

/// The forecasts of open cases, with the models that made them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Predictions {
    /// The model of every case (the team's of all its processes, where it has one).
    pub model: ModelCard,
    /// The playbooks' own models, each of which forecast its playbook's cases instead.
    pub playbook_models: Vec<ModelCard>,
    /// The open cases' forecasts: those at risk first (the likeliest), then by expected end.
    pub cases: Vec<CasePrediction>,
}

/// The forecasts of `subject`'s open cases whose id is `wanted` by its newest model, seen at
/// `now`; `None` when it has no model yet.
pub async fn predictions(
    warehouse: &Warehouse,
    subject: &Subject<'_>,
    wanted: &(dyn Fn(&str) -> bool + Sync),
    now: DateTime<Utc>,
) -> Result<Option<Predictions>, ReportError> {
    let Some((card, models)) = registry::load(warehouse, subject, None).await? else { return Ok(None) };
    let scope = TeamScope::Teams(vec![subject.team.to_string()]);
    let mut filter = Filter::source(subject.source)?;
    if let Some(playbook) = subject.playbook_id {
        filter = filter.playbook(playbook)?;
    }
    let started = std::time::Instant::now();
    let events = Events::select(warehouse, &scope, &filter).await?;
    let History { log, running, tasks } = history(&events).await?;
    let read_ms = started.elapsed().as_millis() as u64;
    let open: Vec<usize> = (0..log.cases()).filter(|&c| running[c] && wanted(&log.ids[c].id)).collect();
    let used = ModelUsed { playbook_id: card.playbook_id.clone(), version: card.version };
    // Asking the forests takes CPU: off the async workers.
    let work = tokio::task::spawn_blocking(move || forecast_open(&models, &log, &running, &tasks, &open, now, &used));
    let mut cases = work
        .await
        .map_err(|e| ReportError::Model(format!("the forecasts stopped: {e}")))?
        .map_err(|e| ReportError::Model(e.to_string()))?;
    sort(&mut cases);
    tracing::debug!(
        cases = cases.len(),
        read_ms,
        forecast_ms = started.elapsed().as_millis() as u64 - read_ms,
        "open cases forecast"
    );
    Ok(Some(Predictions { model: card, playbook_models: Vec::new(), cases }))
}

/// The forecasts of the `open` cases of `log`, each with its open tasks' risks.
fn forecast_open(
    models: &Models,
    log: &crate::caselog::CaseLog,
    running: &[bool],
    tasks: &[DueTask],
    open: &[usize],
    now: DateTime<Utc>,
    used: &ModelUsed,
) -> Result<Vec<CasePrediction>, LearnError> {
    let rows = Prefixes::so_far(log, running, &models.encoding, open);
    let forecasts = models.forecast(&rows)?;
    let mut tasks_of: HashMap<String, Vec<TaskForecast>> = HashMap::new();
    for (instance, task) in task_forecasts(models, tasks, now)? {
        tasks_of.entry(instance).or_default().push(task);
    }
    Ok(open
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let rows_of = log.rows_of(c);
            let first = log.t[rows_of.clone()].iter().copied().min().unwrap_or_default();
            let last_at = time_of(log.t[rows_of.clone()].iter().copied().max().unwrap_or_default());
            let row = &rows.values[i * rows.width..(i + 1) * rows.width];
            let mut case = prediction(
                models,
                &rows,
                i,
                row,
                &forecasts[i],
                log.ids[c].id.to_string(),
                time_of(first),
                last_at,
                now,
                used,
            );
            case.tasks = tasks_of.remove(&case.case_id).unwrap_or_default();
            case.reason = with_queues(&case.reason, &case.tasks);
            case
        })
        .collect())
}

/// Forecasts in the order they are read: those at risk first (the likeliest), then by expected
/// end.
fn sort(cases: &mut [CasePrediction]) {
    cases.sort_by(|a, b| {
        b.at_risk
            .cmp(&a.at_risk)
            .then(b.risk.unwrap_or(0.0).total_cmp(&a.risk.unwrap_or(0.0)))
            .then(a.expected_end.cmp(&b.expected_end))
            .then_with(|| a.case_id.cmp(&b.case_id))
    });
}

/// The forecasts of a team's running processes (only those at risk of exceeding their model's
/// case target, if asked): each by its playbook's newest model where it has one (a playbook's own
/// model knows its input fields and versions), the others by the team's model of all its
/// processes; `None` when the team has neither. A playbook model that cannot be read leaves its
/// cases to the team's model (and says so in the log).
pub async fn team_predictions(
    warehouse: &Warehouse,
    team: &str,
    at_risk_only: bool,
    now: DateTime<Utc>,
) -> Result<Option<Predictions>, ReportError> {
    let source = orgata_warehouse::tables::ENGINE_SOURCE;
    let mut cases: Vec<CasePrediction> = Vec::new();
    let mut playbook_models = Vec::new();
    for playbook in registry::playbooks_with_models(warehouse, team, source).await? {
        let subject = Subject { team, source, playbook_id: Some(&playbook) };
        match predictions(warehouse, &subject, &|_| true, now).await {
            Ok(Some(found)) => {
                cases.extend(found.cases);
                playbook_models.push(found.model);
            }
            Ok(None) => {}
            Err(ReportError::ModelUnreadable(why)) => {
                tracing::warn!(team, playbook, %why, "a playbook's model cannot be read; its team's forecasts its cases");
            }
            Err(e) => return Err(e),
        }
    }
    // The team's model forecasts only the cases no playbook model did.
    let covered: std::collections::HashSet<String> = cases.iter().map(|c| c.case_id.clone()).collect();
    let rest = |id: &str| !covered.contains(id);
    let model = match predictions(warehouse, &Subject { team, source, playbook_id: None }, &rest, now).await? {
        Some(found) => {
            cases.extend(found.cases);
            found.model
        }
        None if playbook_models.is_empty() => return Ok(None),
        None => playbook_models.remove(0),
    };
    if at_risk_only {
        cases.retain(|case| case.at_risk);
    }
    sort(&mut cases);
    Ok(Some(Predictions { model, playbook_models, cases }))
}

/// The risk of every open task with a due time, by its process's id.
fn task_forecasts(
    models: &Models,
    tasks: &[DueTask],
    now: DateTime<Utc>,
) -> Result<Vec<(String, TaskForecast)>, LearnError> {
    let Some(model) = &models.task_risk else { return Ok(Vec::new()) };
    let open: Vec<&DueTask> = tasks.iter().filter(|t| t.completed.is_none()).collect();
    let assessed = model.assess(&open, &Load::of(tasks), now.timestamp_micros())?;
    Ok(open
        .iter()
        .zip(assessed)
        .map(|(task, a)| {
            let forecast = TaskForecast {
                task_id: task.id.clone(),
                step: task.step.clone(),
                due_at: time_of(task.due),
                risk: a.risk,
                reason: a.reason,
                queue: a.queue,
                usual_queue: a.usual_queue,
            };
            (task.instance_id.clone(), forecast)
        })
        .collect())
}

/// One open case's forecast, from its row `i` of `rows`, seen at `now`.
#[allow(clippy::too_many_arguments)]
fn prediction(
    models: &Models,
    rows: &Prefixes,
    i: usize,
    row: &[f64],
    forecast: &Forecast,
    case_id: String,
    started: DateTime<Utc>,
    last_at: DateTime<Utc>,
    now: DateTime<Utc>,
    used: &ModelUsed,
) -> CasePrediction {
    // A file's times may lie near the last representable one: an end past it is that one.
    let at = |seconds: f64| {
        let later = Duration::milliseconds((seconds.clamp(0.0, 1e12) * 1000.0) as i64);
        last_at.checked_add_signed(later).unwrap_or(DateTime::<Utc>::MAX_UTC)
    };
    let (expected_end, earliest_end, latest_end) =
        (at(forecast.remaining_s), at(forecast.remaining_low_s), at(forecast.remaining_high_s));
    let from_now = |end: DateTime<Utc>| ((end - now).num_milliseconds() as f64 / 1000.0).max(0.0);
    let name = |class: u32| match class as usize {
        c if c < models.encoding.activities.len() => models.encoding.activities[c].clone(),
        c if c == models.encoding.activities.len() => "(another activity)".to_string(),
        _ => END.to_string(),
    };
    let last = rows.last[i];
    let typical = models.typical.get(last as usize).cloned().unwrap_or_default();
    CasePrediction {
        case_id,
        events: u64::from(rows.length[i]),
        last_activity: name(last),
        last_at,
        elapsed_s: ((now - started).num_milliseconds() as f64 / 1000.0).max(0.0),
        remaining_s: from_now(expected_end),
        remaining_low_s: from_now(earliest_end),
        remaining_high_s: from_now(latest_end),
        expected_end,
        earliest_end,
        latest_end,
        next: forecast
            .next
            .iter()
            .take(NEXT_LISTED)
            .map(|&(class, probability)| NextActivity { activity: name(class), probability })
            .collect(),
        next_in_s: forecast.next_in_s,
        risk: forecast.risk,
        at_risk: forecast.risk.is_some_and(|r| r >= AT_RISK),
        reason: reason(row, forecast.remaining_s, &typical, forecast.risk.zip(models.case_target_s())),
        tasks: Vec::new(),
        model: used.clone(),
    }
}

/// Why a forecast is what it is, in one sentence: at risk of exceeding the target (`risk`: the
/// probability and the target), then slower, faster or as usual against the cases that were at the
/// same step, and what about this one stands out.
fn reason(row: &[f64], remaining_s: f64, typical: &Typical, risk: Option<(f64, f64)>) -> String {
    let lead = match risk {
        Some((p, target)) if p >= AT_RISK => {
            format!("At risk: {} likely to take longer than {}; ", whole_percent(p), duration(target))
        }
        _ => String::new(),
    };
    if typical.prefixes == 0 {
        let sentence =
            "no case in the history was at this step, so the forecast leans on cases elsewhere in the process.";
        return capitalised(&format!("{lead}{sentence}"));
    }
    let mut notes = Vec::new();
    let repeats = row[REPEATS];
    if repeats > typical.repeats {
        notes.push(format!(
            "{} so far (usually {})",
            plural(repeats as u64, "repeated step", "repeated steps"),
            number(typical.repeats)
        ));
    }
    let in_progress = row[IN_PROGRESS];
    if typical.in_progress > 0.0 && in_progress >= 1.5 * typical.in_progress {
        notes.push(format!(
            "{} cases in progress, {:.1}× the usual {}",
            number(in_progress),
            in_progress / typical.in_progress,
            number(typical.in_progress)
        ));
    }
    if typical.since_last_s > 0.0 && row[SINCE_LAST] >= 2.0 * typical.since_last_s {
        notes.push(format!(
            "{} from the step before to this one (usually {})",
            duration(row[SINCE_LAST]),
            duration(typical.since_last_s)
        ));
    }
    if typical.elapsed_s > 0.0 && row[ELAPSED] >= 1.5 * typical.elapsed_s {
        notes.push(format!(
            "{} since it began (usually {} at this step)",
            duration(row[ELAPSED]),
            duration(typical.elapsed_s)
        ));
    }
    let pace = if remaining_s > 1.25 * typical.remaining_s {
        "slower than usual"
    } else if remaining_s < 0.8 * typical.remaining_s {
        "faster than usual"
    } else {
        "as usual"
    };
    let usual =
        format!("{} left against {} on average from this step", duration(remaining_s), duration(typical.remaining_s));
    let sentence = match notes.split_last() {
        None => format!("{lead}{pace}: {usual}."),
        Some((only, [])) => format!("{lead}{pace}: {usual}; {only}."),
        Some((last, rest)) => format!("{lead}{pace}: {usual}; {} and {last}.", rest.join(", ")),
    };
    capitalised(&sentence)
}

/// A case's reason with the queues of its open tasks where they are long: at least twice the
/// usual and two tasks ("“Fix” has 6 tasks waiting, 2.0× its usual 3").
fn with_queues(reason: &str, tasks: &[TaskForecast]) -> String {
    let long: Vec<String> = tasks
        .iter()
        .filter(|t| t.queue >= 2 && t.queue as f64 >= 2.0 * t.usual_queue)
        .map(|t| {
            let usual = if t.usual_queue > 0.0 {
                format!(", {:.1}× its usual {}", t.queue as f64 / t.usual_queue, number(t.usual_queue))
            } else {
                " (usually none)".to_string()
            };
            format!("“{}” has {} waiting{usual}", t.step, plural(t.queue, "task", "tasks"))
        })
        .collect();
    if long.is_empty() {
        return reason.to_string();
    }
    format!("{}; {}.", reason.trim_end_matches('.'), long.join("; "))
}

/// A sentence with its first letter in upper case.
fn capitalised(sentence: &str) -> String {
    let mut chars = sentence.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}
