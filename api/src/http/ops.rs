//! Operations endpoints: liveness and readiness.

use super::AppState;
use super::error::{ApiError, ApiResult};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

/// The process is up.
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The database answers (and, since the store migrates at connect, its migrations are applied).
async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    match state.engine.store().ping().await {
        Ok(()) => Ok(Json(json!({ "status": "ready", "database": "ok" }))),
        Err(e) => Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not-ready", format!("database: {e}"))),
    }
}
