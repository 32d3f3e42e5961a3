//! What will happen and what departs from history (design.md: "what will happen"): predictions
//! of open cases, their evaluation, the temporal profile of a process with its deviations, and
//! anomalies among cases and steps.
//!
//! - `temporal_profile`: per pair of activities, the mean and standard deviation of the time
//!   between them, and the cases beyond ζ standard deviations (PM4Py's figures).
//! - `anomalies`: unusual cases (timing, duration, rework, a new path) and steps slower than their
//!   history, in words.
//! - `features`: a case's prefix as a row of numbers; `prefixes`: a log's prefixes as rows with
//!   what followed each; `forest`: smartcore's learners, deterministic and refusing NaN;
//!   `model`: the trained models (remaining time with an interval, next activity, time to it,
//!   risk of exceeding a target); `evaluation`: the temporal split against the baselines;
//!   `registry`: trained models and their cards in the warehouse's object store; `forecast`:
//!   open cases asked of their newest model, with the reasons in words.

mod anomalies;
mod evaluation;
mod features;
mod forecast;
mod forest;
mod model;
mod prefixes;
mod registry;
mod task_risk;
mod temporal_profile;

pub use anomalies::{
    AnomalyReport, CaseOutlier, MIN_HISTORY, OUTLIERS_LISTED, OutlierCounts, OutlierKind, RECENT_DAYS, StepChange,
    anomalies,
};
pub use evaluation::{
    Evaluation, EvaluationError, LENGTHS_LISTED, LengthScore, NextScore, RemainingScore, RiskScore, TRAINING_SHARE,
    TimeScore,
};
pub use features::{ContextColumn, Encoding, MAX_ACTIVITIES, MAX_CATEGORIES, MAX_RESOURCES};
pub use forecast::{
    AT_RISK, CasePrediction, END, ModelUsed, NEXT_LISTED, NextActivity, Predictions, TaskForecast, predictions,
    team_predictions,
};
pub use model::{TYPICAL_TARGET, TrainingOptions};
pub use registry::{
    MODELS_PREFIX, ModelCard, PlaybookHistory, Subject, engine_playbooks, engine_teams, model_card, models,
    newest_readable, playbooks_with_models, train,
};
pub use task_risk::{MIN_TASKS, TaskRiskScore};
pub use temporal_profile::{
    CaseDeviations, DEFAULT_ZETA, DEVIATING_CASES_LISTED, Deviation, MAX_PAIRS, PairTime, TemporalProfile,
    temporal_profile,
};

use crate::caselog::{CaseContext, CaseLog, Order, PLAYBOOK_FIELD, VERSION_FIELD};
use crate::sql::running_join;
use crate::{Events, ReportError};
use datafusion::common::{HashMap, HashSet};
use serde_json::Value;

/// Finished cases a model needs to learn from.
pub const MIN_TRAINING_CASES: usize = 50;

/// Evaluates the prediction models on `events`: learnt from the first [`TRAINING_SHARE`] of
/// the finished cases (by start), tested on the prefixes of the others.
pub async fn evaluate(events: &Events<'_>, options: TrainingOptions) -> Result<Evaluation, ReportError> {
    if let Some(target) = options.case_target_s
        && !(target.is_finite() && target > 0.0)
    {
        return Err(ReportError::InvalidFilter(format!("the case target must be a positive duration, not {target}")));
    }
    let History { log, running, tasks } = history(events).await?;
    let started = std::time::Instant::now();
    // Learning takes seconds of CPU: off the async workers.
    let work =
        tokio::task::spawn_blocking(move || evaluation::evaluate(&log, &running, &tasks, options, MIN_TRAINING_CASES));
    let evaluation =
        work.await.map_err(|e| ReportError::Model(format!("the evaluation stopped: {e}")))?.map_err(|e| match e {
            EvaluationError::NotEnough(why) => ReportError::NotEnoughHistory(why),
            EvaluationError::Learn(e) => ReportError::Model(e.to_string()),
        })?;
    tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, "models evaluated");
    Ok(evaluation)
}

/// What the models learn from and are asked about.
struct History {
    /// The cases with their ids and resources, each in order of time.
    log: CaseLog,
    /// Per case, whether it is an engine process still running.
    running: Vec<bool>,
    /// The engine's tasks with a due time (none for an imported log).
    tasks: Vec<task_risk::DueTask>,
}

/// The history of `events`.
async fn history(events: &Events<'_>) -> Result<History, ReportError> {
    let mut log = CaseLog::identified(events, Order::Time).await?;
    let running = running_cases(events).await?;
    let running = log.ids.iter().map(|case| running.contains(&(case.team.to_string(), case.id.to_string()))).collect();
    let tasks = if events.filter().is_engine() {
        let mut started_with = contexts(events).await?;
        log.context = log
            .ids
            .iter()
            .map(|case| started_with.remove(&(case.team.to_string(), case.id.to_string())).unwrap_or_default())
            .collect();
        task_risk::due_tasks(events).await?
    } else {
        Vec::new()
    };
    Ok(History { log, running, tasks })
}

/// What the engine's processes among `events`' cases were started with, by (team, case id) —
/// the team empty where the events are one team's: the playbook's name, the playbook version's
/// number and each input field (`input.{name}`).
async fn contexts(events: &Events<'_>) -> Result<HashMap<(String, String), CaseContext>, ReportError> {
    let sql = format!(
        "{ev} SELECT c.team_id, c.case_id, p.name AS playbook, v.number AS version, i.data
         FROM (SELECT DISTINCT {team}, case_id FROM ev) c
         JOIN instances i ON i.team_id = c.team_id AND i.id = c.case_id
         LEFT JOIN playbooks p ON p.team_id = i.team_id AND p.id = i.playbook_id
         LEFT JOIN playbook_versions v ON v.team_id = i.team_id AND v.id = i.version_id",
        ev = events.cte(),
        team = crate::events::TEAM_TEXT,
    );
    let rows = events.run(&sql).await?;
    let teams = if events.one_team() { vec![String::new(); rows.len()] } else { rows.strings("team_id")? };
    let (playbooks, versions, data) =
        (rows.optional_strings("playbook")?, rows.i64s("version")?, rows.optional_strings("data")?);
    let mut contexts = HashMap::new();
    for (i, case) in teams.into_iter().zip(rows.strings("case_id")?).enumerate() {
        let mut context: CaseContext = Vec::new();
        if let Some(playbook) = &playbooks[i] {
            context.push((PLAYBOOK_FIELD.into(), Value::from(playbook.as_str())));
        }
        if let Some(version) = versions[i] {
            context.push((VERSION_FIELD.into(), Value::from(version)));
        }
        // `{"input": …, "steps": …}`: only the input is known from the start (the steps' outputs
        // arrive as the case goes on, and a finished case's would tell its future).
        let data: Option<Value> = data[i].as_deref().and_then(|text| serde_json::from_str(text).ok());
        if let Some(Value::Object(fields)) = data.and_then(|mut d| d.get_mut("input").map(Value::take)) {
            context.extend(fields.into_iter().map(|(name, value)| (format!("input.{name}"), value)));
        }
        contexts.insert(case, context);
    }
    Ok(contexts)
}

/// The engine's processes among `events`' cases that are still running, as (team, case id) —
/// the team empty where the events are one team's; none for an imported log.
pub(crate) async fn running_cases(events: &Events<'_>) -> Result<HashSet<(String, String)>, ReportError> {
    if !events.filter().is_engine() {
        return Ok(HashSet::default());
    }
    let sql = format!(
        "{ev} SELECT c.team_id, c.case_id FROM (SELECT DISTINCT {team}, case_id FROM ev) c {running}",
        ev = events.cte(),
        team = crate::events::TEAM_TEXT,
        running = running_join("c", true),
    );
    let rows = events.run(&sql).await?;
    let teams = if events.one_team() { vec![String::new(); rows.len()] } else { rows.strings("team_id")? };
    Ok(teams.into_iter().zip(rows.strings("case_id")?).collect())
}
