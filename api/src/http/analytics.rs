//! `GET /v1/teams/{team}/analytics/{report}`: process analytics over the team's warehouse data —
//! the same reports, by the same functions, as `orgata report`.

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::{Caller, Query};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use chrono::{DateTime, Utc};
use orgata_engine::{Permission, TeamId};
use orgata_reports::{Period, Report, ReportKind};
use orgata_warehouse::TeamScope;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/teams/{team}/analytics/{report}", get(report))
}

/// Which events a report covers.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AnalyticsParams {
    /// The events' source: `orgata` (the processes run here, the default) or an imported log's
    /// source name.
    #[param(pattern = "^[A-Za-z0-9._:-]{1,100}$")]
    source: Option<String>,
    /// Only this playbook's processes.
    playbook_id: Option<String>,
    /// Only this playbook version's processes.
    version_id: Option<String>,
    /// From this time on (RFC 3339, inclusive).
    from: Option<DateTime<Utc>>,
    /// Before this time (RFC 3339, exclusive).
    to: Option<DateTime<Utc>>,
    /// `events` (the default: the events within the range) or `cases_started` (whole cases whose
    /// first event is within it).
    #[param(pattern = "^(events|cases_started)$")]
    time_scope: Option<String>,
    /// The timeline's periods: `day` or `week` (the default).
    #[param(pattern = "^(day|week)$")]
    period: Option<String>,
}

#[utoipa::path(get, path = "/v1/teams/{team}/analytics/{report}", params(("team" = String, Path, description = "A team id"), ("report" = String, Path, description = "cases, variants, dfg, activities, timeline or bottlenecks"), AnalyticsParams), responses((status = 200, description = "The report", body = Report), (status = "default", description = "A problem (RFC 9457)", body = super::error::Problem, content_type = "application/problem+json")))]
async fn report(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path((team, report)): Path<(TeamId, String)>,
    Query(p): Query<AnalyticsParams>,
) -> ApiResult<axum::Json<Report>> {
    c.require(&team, Permission::AnalyticsRead)?;
    let kind: ReportKind = report
        .parse()
        .map_err(|e: orgata_reports::ReportError| ApiError::new(StatusCode::NOT_FOUND, "not-found", e.to_string()))?;
    let cases_started = match p.time_scope.as_deref() {
        None | Some("events") => false,
        Some("cases_started") => true,
        Some(_) => return Err(ApiError::invalid_field("time_scope", "must be events or cases_started")),
    };
    let period: Period = match p.period.as_deref() {
        None => Period::Week,
        Some(name) => {
            name.parse().map_err(|e: orgata_reports::ReportError| ApiError::invalid_field("period", e.to_string()))?
        }
    };
    let filter = orgata_reports::filter_of(
        p.source.as_deref(),
        p.playbook_id.as_deref(),
        p.version_id.as_deref(),
        p.from,
        p.to,
        cases_started,
    )?;
    let scope = TeamScope::Teams(vec![team.to_string()]);
    Ok(axum::Json(orgata_reports::run(kind, &s.warehouse, &scope, &filter, period).await?))
}
