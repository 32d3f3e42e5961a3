//! `POST /v1/teams/{team}/imports`: an event log (XES, plain or gzip; or CSV) as the request body,
//! imported into the warehouse's `events` under the team and a source name — the same import as
//! `orgata import`.

use super::error::ApiResult;
use super::extract::{Caller, Query};
use crate::app::App;
use crate::app::AppError;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use orgata_engine::{Permission, TeamId};
use orgata_ingest::import::{CsvColumns, LogFormat};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The largest log accepted over HTTP (larger ones: `orgata import`).
pub const MAX_LOG_BYTES: usize = 256 << 20;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(import_log)).layer(DefaultBodyLimit::max(MAX_LOG_BYTES))
}

/// How to read the log.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ImportParams {
    /// The source name the events are kept under (letters, digits, `.`, `_`, `-`); importing the
    /// same source again replaces it.
    #[param(pattern = "^[A-Za-z0-9._-]{1,100}$")]
    source: String,
    /// `xes` or `csv`.
    #[param(pattern = "^(xes|csv)$")]
    format: String,
    /// CSV: the case id column [default: detected].
    case_column: Option<String>,
    /// CSV: the activity column [default: detected].
    activity_column: Option<String>,
    /// CSV: the (completion) time column [default: detected].
    timestamp_column: Option<String>,
    /// CSV: the start time column [default: detected].
    start_column: Option<String>,
    /// CSV: the resource column [default: detected].
    resource_column: Option<String>,
    /// CSV: the lifecycle transition column [default: detected].
    lifecycle_column: Option<String>,
}

/// What was imported.
#[derive(Serialize, utoipa::ToSchema)]
struct ImportReport {
    team_id: String,
    source: String,
    events: usize,
    cases: usize,
}

#[utoipa::path(post, path = "/v1/teams/{team}/imports", params(("team" = String, Path, description = "A team id"), ImportParams), request_body(content = Vec<u8>, description = "The log file (gzip-compressed or not)", content_type = "application/octet-stream"), responses((status = 201, description = "Imported", body = ImportReport)))]
async fn import_log(
    State(s): State<App>,
    Caller(c): Caller,
    Path(team): Path<TeamId>,
    Query(p): Query<ImportParams>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<(StatusCode, axum::Json<ImportReport>)> {
    // A caller without the permission hears so before anything about its request.
    c.require(&team, Permission::TeamManage)?;
    let body = body.map_err(|rejection| {
        let detail = format!("the log could not be read: {}", rejection.body_text());
        let kind = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE { "too-large" } else { "bad-request" };
        AppError::new(rejection.status(), kind, detail)
    })?;
    let format = match p.format.as_str() {
        "xes" => LogFormat::Xes,
        "csv" => LogFormat::Csv(CsvColumns {
            case: p.case_column,
            activity: p.activity_column,
            timestamp: p.timestamp_column,
            start: p.start_column,
            resource: p.resource_column,
            lifecycle: p.lifecycle_column,
        }),
        _ => return Err(AppError::invalid_field("format", "must be xes or csv")),
    };
    if body.is_empty() {
        return Err(AppError::invalid_field("body", "the log is empty"));
    }
    let gzip = body.starts_with(&[0x1f, 0x8b]);
    let input: Box<dyn std::io::BufRead + Send> = if gzip {
        Box::new(std::io::BufReader::new(flate2::bufread::MultiGzDecoder::new(std::io::Cursor::new(body))))
    } else {
        Box::new(std::io::Cursor::new(body))
    };
    let imported = s.import_log(&c, &team, input, &format, &p.source).await?;
    let report = ImportReport {
        team_id: imported.team_id,
        source: imported.source,
        events: imported.events,
        cases: imported.cases,
    };
    Ok((StatusCode::CREATED, axum::Json(report)))
}
