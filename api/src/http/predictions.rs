//! Predictions over REST: a team's models (`/v1/teams/{team}/models`), the forecasts of its
//! running processes (`/v1/teams/{team}/predictions`, `?at_risk=true` for those likely to miss
//! the model's case target) and one process's (`/v1/processes/{id}/prediction`) — the same
//! operations MCP, the web UI and the CLI call.

use super::error::ApiResult;
use super::extract::{Caller, Query};
use crate::app::App;
use axum::extract::{Path, State};
use orgata_engine::{InstanceId, TeamId};
use orgata_reports::{CasePrediction, ModelCard, Predictions};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(models)).routes(routes!(team_predictions)).routes(routes!(process_prediction))
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

/// Which forecasts.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct PredictionParams {
    /// Only the processes likely (50 % or more) to exceed the model's case target.
    at_risk: Option<bool>,
}

/// The forecasts of the team's running processes by its newest model: remaining time with an
/// interval, the likeliest next steps, the risk of exceeding the case target, and why — those at
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
