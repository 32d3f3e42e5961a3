//! `GET /v1/teams/{team}/analytics/{report}`: process analytics over the team's warehouse data —
//! the same reports, by the same functions, as `orgata report`.

use super::error::ApiResult;
use super::extract::{Caller, Query};
use crate::app::App;
use crate::app::AppError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use orgata_engine::{Permission, TeamId};
use orgata_reports::{Period, ReportKind, ReportOptions, ReportOutput, Versus};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(report))
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
    /// timeline: periods counted back from this time (RFC 3339; the last one ends there, e.g. now
    /// for "the last 7 days") instead of calendar days or weeks.
    periods_end: Option<DateTime<Utc>>,
    /// resources: the working hours per week utilisation is measured against (default 40).
    hours_per_week: Option<f64>,
    /// anomalies: standard deviations from its mean beyond which a time between two activities
    /// is unusual (default 3).
    #[param(minimum = 0)]
    zeta: Option<f64>,
    /// sla: the case duration target, like `5d` or `1d 12h` (units d, h, m, s).
    case_target: Option<String>,
    /// compare: the other side's team (the caller needs `analytics.read` there too).
    versus_team: Option<TeamId>,
    /// compare: the other side's source.
    versus_source: Option<String>,
    /// compare: the other side's playbook.
    versus_playbook_id: Option<String>,
    /// compare: the other side's playbook version.
    versus_version_id: Option<String>,
    /// compare: the other side's time range starts here (RFC 3339, inclusive).
    versus_from: Option<DateTime<Utc>>,
    /// compare: the other side's time range ends here (RFC 3339, exclusive).
    versus_to: Option<DateTime<Utc>>,
}

#[utoipa::path(get, path = "/v1/teams/{team}/analytics/{report}", params(("team" = String, Path, description = "A team id"), ("report" = String, Path, description = "cases, variants, dfg, activities, timeline, bottlenecks, compare, sla, resources or anomalies"), AnalyticsParams), responses((status = 200, description = "The report", body = ReportOutput)))]
async fn report(
    State(s): State<App>,
    Caller(c): Caller,
    Path((team, report)): Path<(TeamId, String)>,
    Query(p): Query<AnalyticsParams>,
) -> ApiResult<axum::Json<ReportOutput>> {
    c.require(&team, Permission::AnalyticsRead)?;
    let kind: ReportKind = report
        .parse()
        .map_err(|e: orgata_reports::ReportError| AppError::new(StatusCode::NOT_FOUND, "not-found", e.to_string()))?;
    let cases_started = match p.time_scope.as_deref() {
        None | Some("events") => false,
        Some("cases_started") => true,
        Some(_) => return Err(AppError::invalid_field("time_scope", "must be events or cases_started")),
    };
    let period: Period = match p.period.as_deref() {
        None => Period::Week,
        Some(name) => {
            name.parse().map_err(|e: orgata_reports::ReportError| AppError::invalid_field("period", e.to_string()))?
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
    let versus = Versus {
        team: p.versus_team.map(|t| t.to_string()),
        source: p.versus_source,
        playbook_id: p.versus_playbook_id,
        version_id: p.versus_version_id,
        from: p.versus_from,
        to: p.versus_to,
    };
    let case_target_s = match &p.case_target {
        Some(text) if kind == ReportKind::Sla => Some(
            orgata_engine::definition::Sla::parse(text).map_err(|e| AppError::invalid_field("case_target", e))?.seconds
                as f64,
        ),
        Some(_) => return Err(AppError::invalid_field("case_target", "case_target is for the sla report")),
        None => None,
    };
    if p.periods_end.is_some() && kind != ReportKind::Timeline {
        return Err(AppError::invalid_field("periods_end", "periods_end is for the timeline report"));
    }
    if p.zeta.is_some() && kind != ReportKind::Anomalies {
        return Err(AppError::invalid_field("zeta", "zeta is for the anomalies report"));
    }
    let hours_per_week = p.hours_per_week.unwrap_or(orgata_reports::DEFAULT_HOURS_PER_WEEK);
    let options = ReportOptions {
        period,
        periods_end: p.periods_end,
        versus,
        case_target_s,
        now: chrono::Utc::now(),
        hours_per_week,
        zeta: p.zeta.unwrap_or(orgata_reports::DEFAULT_ZETA),
    };
    Ok(axum::Json(s.team_report(&c, &team, kind, &filter, &options).await?))
}
