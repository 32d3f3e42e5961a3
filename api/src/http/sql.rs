//! `POST /v1/teams/{team}/sql`: read-only SQL over the team's warehouse data, for analysts and
//! tools. The answer is JSON (columns and rows) or, with `Accept: text/csv`, CSV.

use super::error::ApiResult;
use super::extract::{Caller, Json};
use crate::app::App;
use crate::app::analytics::{SqlAnswer, SqlRequest, answer, sql_options};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use orgata_engine::TeamId;
use orgata_warehouse::OutputFormat;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(run))
}

#[utoipa::path(post, path = "/v1/teams/{team}/sql", params(("team" = String, Path, description = "A team id")), request_body = SqlRequest, responses((status = 200, description = "The answer (JSON, or CSV with `Accept: text/csv`)", body = SqlAnswer)))]
async fn run(
    State(s): State<App>,
    Caller(c): Caller,
    Path(team): Path<TeamId>,
    headers: HeaderMap,
    Json(b): Json<SqlRequest>,
) -> ApiResult<Response> {
    let (max_rows, engine) = sql_options(b.max_rows, b.engine.as_deref())?;
    let result = s.team_query(&c, &team, &b.sql, max_rows, engine).await?;
    let wants_csv = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/csv"));
    let mut body = Vec::new();
    if wants_csv {
        result.write(OutputFormat::Csv, &mut body)?;
        let mut response = body.into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
        return Ok(response);
    }
    Ok(axum::Json(answer(&result)?).into_response())
}
