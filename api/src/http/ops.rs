//! Operations endpoints: liveness and readiness.

use super::error::ApiResult;
use crate::app::App;
use crate::app::AppError;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "Up", body = Object)), security(()))]
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The database answers (and, since the store migrates at connect, its migrations are applied).
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "Ready", body = Object),
    (status = 503, description = "Not ready", body = super::error::Problem, content_type = "application/problem+json")), security(()))]
async fn readyz(State(state): State<App>) -> ApiResult<Json<Value>> {
    match state.engine.store().ping().await {
        Ok(()) => Ok(Json(json!({ "status": "ready", "database": "ok" }))),
        Err(e) => Err(AppError::new(StatusCode::SERVICE_UNAVAILABLE, "not-ready", format!("database: {e}"))),
    }
}
