//! Predictions over REST: a team's models (`/v1/teams/{team}/models`: list, and train one), the
//! forecasts of its
//! running processes (`/v1/teams/{team}/predictions`, `?at_risk=true` for those likely to miss
//! the model's case target) and one process's (`/v1/processes/{id}/prediction`) — the same
//! operations MCP, the web UI and the CLI call.

use super::error::ApiResult;
use super::extract::{Caller, Json, Query};
use crate::app::{App, AppError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use orgata_engine::{InstanceId, PlaybookId, TeamId};
use orgata_reports::{CasePrediction, ModelCard, Predictions, TrainingOptions};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(models, train))
        .routes(routes!(team_predictions))
        .routes(routes!(process_prediction))
}

/// The team's prediction models in the registry: every version with its training window,
/// features and evaluation against the baselines, the newest first.
#[utoipa::path(get, path = "/v1/teams/{team}/models", params(("team" = String, Path, description = "A team id")), responses((status = 200, description = "OK", body = Vec<ModelCard>)))]
async fn models(
    State(s): State<App>,
    Caller(c): Caller,
    Path(team): Path<TeamId>,
) -> ApiResult<axum::Json<Vec<ModelCard>>> {
    Ok(axum::Json(s.team_models(&c, &team).await?))
}

/// How to train.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Training {
    /// Learn only this playbook's processes (a model of its own, which knows its input fields and
    /// versions; its processes' forecasts then come from it). Default: every process of the team.
    #[schema(value_type = Option<String>)]
    playbook_id: Option<PlaybookId>,
    /// The case duration target the risk model foresees, like `5d` or `1d 12h`.
    case_target: Option<String>,
    /// Without `case_target`: the target is this quantile of the finished processes' durations
    /// (default 0.8: longer than 80 % of them took).
    #[schema(exclusive_minimum = 0.0, exclusive_maximum = 1.0)]
    case_target_quantile: Option<f64>,
    /// Makes training repeatable (default 42).
    seed: Option<u64>,
}

/// Learns the team's model of its processes (or of one playbook's) from every finished one,
/// evaluates it and stores it as the next version (`team.manage`); takes seconds to minutes.
/// `422 not-enough-history` with fewer than 50 finished processes to learn from; `404` for a
/// playbook not of the team.
#[utoipa::path(post, path = "/v1/teams/{team}/models", params(("team" = String, Path, description = "A team id")), request_body = Training, responses((status = 201, description = "Trained", body = ModelCard)))]
async fn train(
    State(s): State<App>,
    Caller(c): Caller,
    Path(team): Path<TeamId>,
    Json(b): Json<Training>,
) -> ApiResult<(StatusCode, axum::Json<ModelCard>)> {
    let case_target_s = match &b.case_target {
        Some(text) => Some(
            orgata_engine::definition::Sla::parse(text).map_err(|e| AppError::invalid_field("/case_target", e))?.seconds
                as f64,
        ),
        None => None,
    };
    let quantile = match b.case_target_quantile {
        Some(q) if !(q > 0.0 && q < 1.0) => {
            return Err(AppError::invalid_field("/case_target_quantile", "must be between 0 and 1"));
        }
        Some(q) => Some(q),
        None if case_target_s.is_none() => Some(orgata_reports::TYPICAL_TARGET),
        None => None,
    };
    let options = TrainingOptions { seed: b.seed.unwrap_or(42), case_target_s, target_quantile: quantile };
    Ok((StatusCode::CREATED, axum::Json(s.train_team_model(&c, &team, b.playbook_id.as_ref(), options).await?)))
}

/// Which forecasts.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct PredictionParams {
    /// Only the processes likely (50 % or more) to exceed the model's case target.
    at_risk: Option<bool>,
}

/// The forecasts of the team's running processes — each by its playbook's newest model where it
/// has one, else by the team's: remaining time with an interval, the likeliest next steps, the risk of exceeding the case target, and why — those at
/// risk first. `404 no-model` until a model is trained.
#[utoipa::path(get, path = "/v1/teams/{team}/predictions", params(("team" = String, Path, description = "A team id"), PredictionParams), responses((status = 200, description = "OK", body = Predictions)))]
async fn team_predictions(
    State(s): State<App>,
    Caller(c): Caller,
    Path(team): Path<TeamId>,
    Query(p): Query<PredictionParams>,
) -> ApiResult<axum::Json<Predictions>> {
    Ok(axum::Json(s.team_predictions(&c, &team, p.at_risk.unwrap_or(false)).await?))
}

/// A running process's forecast and the model that made it.
#[derive(Serialize, utoipa::ToSchema)]
struct ProcessPrediction {
    prediction: CasePrediction,
    model: ModelCard,
}

/// A running process's forecast. `409 not-running` for one that has ended.
#[utoipa::path(get, path = "/v1/processes/{id}/prediction", params(("id" = String, Path, description = "A process id")), responses((status = 200, description = "OK", body = ProcessPrediction)))]
async fn process_prediction(
    State(s): State<App>,
    Caller(c): Caller,
    Path(id): Path<InstanceId>,
) -> ApiResult<axum::Json<ProcessPrediction>> {
    let (model, prediction) = s.process_prediction(&c, &id).await?;
    Ok(axum::Json(ProcessPrediction { prediction, model }))
}
