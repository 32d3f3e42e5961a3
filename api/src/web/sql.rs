//! The SQL console for analysts: a query box, the answer as a table, the same answer as a CSV
//! download, and query errors in words — through the function REST and MCP run SQL with
//! (`App::team_query`: read-only, scoped to the team, with a timeout and limits).

use super::WebState;
use super::render::{PageResult, page};
use super::session::Viewer;
use crate::app::AppError;
use crate::app::analytics::{MAX_ROWS, answer, sql_options};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Form, Router};
use orgata_engine::TeamId;
use orgata_warehouse::OutputFormat;
use serde::Deserialize;
use serde_json::{Value, json};

/// Rows shown on the page (the CSV download holds up to the API's limit).
const PAGE_ROWS: u32 = 500;

/// A query to start from on an empty console.
const EXAMPLE: &str = "select activity, count(*) as completed\nfrom events\nwhere lifecycle = 'complete'\ngroup by activity\norder by completed desc\nlimit 10";

pub fn routes() -> Router<WebState> {
    Router::new().route("/teams/{team}/sql", get(console).post(run)).route("/teams/{team}/sql.csv", get(csv))
}

#[derive(Deserialize, Default)]
struct SqlForm {
    #[serde(default)]
    sql: String,
    engine: Option<String>,
}

async fn console(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(team): Path<TeamId>,
    Query(q): Query<SqlForm>,
) -> PageResult {
    if q.sql.trim().is_empty() {
        let t = viewer.team(&team)?.clone();
        let tables = schema(&s, &viewer, &team).await;
        let context =
            json!({ "sql": EXAMPLE, "engine": "datafusion", "answer": null, "error": null, "tables": tables });
        return page(&viewer, Some(&t), "sql", "sql.html", context);
    }
    run(State(s), viewer, Path(team), Form(q)).await
}

/// The tables the team's analysts may query, each with its columns and their types and a query
/// to start from: the console's schema browser. Read through the sandbox the queries run in
/// (its `information_schema`), so it lists exactly what a query sees; kept for a minute.
async fn schema(s: &WebState, viewer: &Viewer, team: &TeamId) -> Value {
    let (state, scope, team) = (s.clone(), viewer.scope.clone(), team.clone());
    let key = format!("schema/{team}");
    s.figures
        .get(key, move || async move {
            let sql = "SELECT table_name, column_name, data_type FROM information_schema.columns \
                       WHERE table_schema = 'public' ORDER BY table_name, ordinal_position";
            let outcome = async {
                let result =
                    state.app.team_query(&scope, &team, sql, MAX_ROWS, orgata_warehouse::SqlEngine::DataFusion).await?;
                answer(&result)
            }
            .await;
            let Ok(answer) = outcome else { return Value::Null };
            let mut tables: Vec<(String, Vec<Value>)> = Vec::new();
            for row in answer.rows.as_array().into_iter().flatten() {
                let (Some(table), Some(column)) = (row["table_name"].as_str(), row["column_name"].as_str()) else {
                    continue;
                };
                let column = json!({ "name": column, "type": row["data_type"] });
                match tables.last_mut() {
                    Some((name, columns)) if name == table => columns.push(column),
                    _ => tables.push((table.to_string(), vec![column])),
                }
            }
            let tables: Vec<Value> = tables
                .into_iter()
                .map(|(name, columns)| {
                    let sample = format!("select *\nfrom {name}\nlimit 20");
                    json!({ "name": name, "columns": columns, "sample": super::session::url_encode(&sample) })
                })
                .collect();
            json!(tables)
        })
        .await
}

async fn run(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(team): Path<TeamId>,
    Form(f): Form<SqlForm>,
) -> PageResult {
    let t = viewer.team(&team)?.clone();
    let engine_name = f.engine.clone().filter(|e| !e.is_empty()).unwrap_or_else(|| "datafusion".into());
    let started = std::time::Instant::now();
    let outcome = async {
        let (rows, engine) = sql_options(Some(PAGE_ROWS), Some(&engine_name))?;
        let result = s.app.team_query(&viewer.scope, &team, &f.sql, rows, engine).await?;
        answer(&result)
    }
    .await;
    let elapsed_ms = started.elapsed().as_millis();
    let (answer, error, status) = match outcome {
        Ok(a) => (Some(a), None, StatusCode::OK),
        Err(e) => (
            None,
            Some(e.detail.clone()),
            if e.status.is_server_error() { e.status } else { StatusCode::UNPROCESSABLE_ENTITY },
        ),
    };
    let tables = schema(&s, &viewer, &team).await;
    let context = json!({
        "sql": f.sql, "engine": engine_name, "answer": answer, "error": error, "elapsed_ms": elapsed_ms,
        "tables": tables,
        "csv": format!("/teams/{team}/sql.csv?engine={}&sql={}", engine_name, super::session::url_encode(&f.sql)),
    });
    let mut response = page(&viewer, Some(&t), "sql", "sql.html", context)?;
    *response.status_mut() = status;
    Ok(response)
}

/// The answer as a CSV file (up to the API's row limit).
async fn csv(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(team): Path<TeamId>,
    Query(q): Query<SqlForm>,
) -> PageResult {
    viewer.team(&team)?;
    let (rows, engine) = sql_options(Some(MAX_ROWS as u32), q.engine.as_deref().filter(|e| !e.is_empty()))?;
    let result = s.app.team_query(&viewer.scope, &team, &q.sql, rows, engine).await?;
    let mut body = Vec::new();
    result.write(OutputFormat::Csv, &mut body).map_err(AppError::from)?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"orgata-query.csv\""));
    Ok(response)
}
