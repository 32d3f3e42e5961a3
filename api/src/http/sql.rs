//! `POST /v1/teams/{team}/sql`: read-only SQL over the team's warehouse data, for analysts and
//! tools. The answer is JSON (columns and rows) or, with `Accept: text/csv`, CSV.

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::{Caller, Json};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use orgata_engine::{Permission, Scope, TeamId};
use orgata_warehouse::{OutputFormat, QueryLimits, QueryResult, SqlEngine, TeamScope, Warehouse};
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/teams/{team}/sql", post(run))
}

/// The limits of a query over HTTP.
pub const MAX_ROWS: usize = 10_000;
pub const TIMEOUT: Duration = Duration::from_secs(30);
pub const MEMORY_BYTES: usize = 512 << 20;

/// A query.
#[derive(Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlRequest {
    /// One read-only query (SELECT, WITH, EXPLAIN …) over `events`, `instances`, `tasks`,
    /// `playbooks`, `playbook_versions`, `teams`, `memberships`, `users` and their `_history`.
    #[schema(min_length = 1, max_length = 100000)]
    #[schemars(length(min = 1, max = 100000))]
    pub sql: String,
    /// Rows returned at most (1 to 10,000; default 1,000).
    #[schema(minimum = 1, maximum = 10000)]
    #[schemars(range(min = 1, max = 10000))]
    pub max_rows: Option<u32>,
    /// `datafusion` (the default) or `duckdb`, over the same snapshot.
    #[schema(pattern = "^(datafusion|duckdb)$")]
    #[schemars(regex(pattern = "^(datafusion|duckdb)$"))]
    pub engine: Option<String>,
}

/// A column of the answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SqlColumn {
    pub name: String,
    /// The Arrow type, like `Utf8`, `Int64` or `Timestamp(µs, "UTC")`.
    #[serde(rename = "type")]
    pub data_type: String,
}

/// The answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SqlAnswer {
    pub columns: Vec<SqlColumn>,
    /// One object per row, keyed by column name (nulls left out).
    #[schema(value_type = Vec<Object>)]
    pub rows: serde_json::Value,
    pub row_count: usize,
    /// Whether rows beyond `max_rows` were left out.
    pub truncated: bool,
}

/// Runs `sql` for `scope` over `team`'s rows: the caller needs `sql.run` in the team. The one
/// function REST, the UI and MCP run analysts' SQL through.
pub async fn team_query(
    warehouse: &Warehouse,
    scope: &Scope,
    team: &TeamId,
    sql: &str,
    max_rows: usize,
    engine: SqlEngine,
) -> ApiResult<QueryResult> {
    scope.require(team, Permission::SqlRun)?;
    if sql.trim().is_empty() {
        return Err(ApiError::invalid_field("/sql", "must hold a query"));
    }
    let limits = QueryLimits { timeout: TIMEOUT, max_rows: max_rows.clamp(1, MAX_ROWS), memory_bytes: MEMORY_BYTES };
    Ok(warehouse.query_on(engine, sql, &TeamScope::Teams(vec![team.to_string()]), limits).await?)
}

#[utoipa::path(post, path = "/v1/teams/{team}/sql", params(("team" = String, Path, description = "A team id")), request_body = SqlRequest, responses((status = 200, description = "The answer (JSON, or CSV with `Accept: text/csv`)", body = SqlAnswer), (status = "default", description = "A problem (RFC 9457)", body = super::error::Problem, content_type = "application/problem+json")))]
async fn run(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(team): Path<TeamId>,
    headers: HeaderMap,
    Json(b): Json<SqlRequest>,
) -> ApiResult<Response> {
    let (max_rows, engine) = sql_options(b.max_rows, b.engine.as_deref())?;
    let result = team_query(&s.warehouse, &c, &team, &b.sql, max_rows, engine).await?;
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

/// A request's row limit (default 1,000; 1 to 10,000) and engine (default DataFusion).
pub fn sql_options(max_rows: Option<u32>, engine: Option<&str>) -> ApiResult<(usize, SqlEngine)> {
    let max_rows = match max_rows {
        None => 1_000,
        Some(n @ 1..=10_000) => n as usize,
        Some(_) => return Err(ApiError::invalid_field("/max_rows", "must be between 1 and 10000")),
    };
    let engine = match engine.map(str::parse::<SqlEngine>) {
        None => SqlEngine::DataFusion,
        Some(Ok(engine)) => engine,
        Some(Err(message)) => return Err(ApiError::invalid_field("/engine", message)),
    };
    Ok((max_rows, engine))
}

/// A result as JSON columns and rows: the answer of REST and MCP.
pub fn answer(result: &QueryResult) -> ApiResult<SqlAnswer> {
    let mut body = Vec::new();
    result.write(OutputFormat::Json, &mut body)?;
    let rows = serde_json::from_slice(&body)
        .map_err(|e| ApiError::from(orgata_warehouse::WarehouseError::Query(e.to_string())))?;
    let columns = result
        .schema
        .fields()
        .iter()
        .map(|f| SqlColumn { name: f.name().clone(), data_type: f.data_type().to_string() })
        .collect();
    Ok(SqlAnswer { columns, rows, row_count: result.rows, truncated: result.truncated })
}
