//! The dashboard: my open and overdue tasks, active processes and recent activity (live: the
//! page follows the team's event stream and reloads these panels when something changes), this
//! week's key figures with their trend, the throughput chart and the top bottleneck (from the
//! warehouse, through the same reports as REST and MCP).

use super::WebState;
use super::render::{PageError, PageResult, page, render, value};
use super::session::{Viewer, home};
use super::svg;
use super::view::{describe, link, user_names};
use crate::app::work::TaskListing;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::{Duration, Utc};
use orgata_engine::{AuditFilter, InstanceFilter, InstanceStatus, Permission, Scope, TaskStatus, TeamId};
use orgata_reports::{Filter, Period, Report, ReportKind, ReportOptions};
use serde_json::{Value, json};

/// The most items a dashboard list shows, and counts beyond which it says "N+".
const LIST_ITEMS: usize = 8;
const COUNT_LIMIT: i64 = 500;
/// Weeks the throughput chart covers.
const CHART_WEEKS: i64 = 12;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/", get(start))
        .route("/teams/{team}", get(dashboard))
        .route("/teams/{team}/live", get(live))
        .route("/teams/{team}/panels", get(panels))
        .route("/teams/{team}/figures", get(figures))
}

async fn start(viewer: Viewer) -> Response {
    home(&viewer)
}

async fn dashboard(State(s): State<WebState>, viewer: Viewer, Path(team): Path<TeamId>) -> PageResult {
    let t = viewer.team(&team)?.clone();
    let (live, insights) = tokio::join!(live_panels(&s, &viewer, &team), insights(&s, &viewer.scope, &team, false));
    page(&viewer, Some(&t), "dashboard", "dashboard.html", json!({ "live": live?, "insights": insights }))
}

/// The live panels alone, for the page to swap in when the team's stream says something changed.
async fn panels(State(s): State<WebState>, viewer: Viewer, Path(team): Path<TeamId>) -> PageResult {
    let t = viewer.team(&team)?.clone();
    let live = live_panels(&s, &viewer, &team).await?;
    let context = json!({ "live": live, "team": { "id": t.id, "name": t.name } });
    Ok(Html(render("dashboard_live.html", &context)?).into_response())
}

/// The team's event stream, for the live panels (the REST stream's events, over the session).
async fn live(State(s): State<WebState>, viewer: Viewer, Path(team): Path<TeamId>) -> Result<Response, PageError> {
    viewer.team(&team)?;
    let start = s.app.engine.events_head().await?;
    Ok(crate::app::events::team_stream(s.app.engine.clone(), viewer.scope.clone(), team, start).into_response())
}

/// Counts up to [`COUNT_LIMIT`], as text (`500+` beyond).
fn count(n: usize) -> String {
    if n as i64 >= COUNT_LIMIT { format!("{COUNT_LIMIT}+") } else { n.to_string() }
}

async fn live_panels(s: &WebState, viewer: &Viewer, team: &TeamId) -> Result<Value, PageError> {
    let scope = &viewer.scope;
    let active = vec![TaskStatus::Open, TaskStatus::Assigned, TaskStatus::Started];
    let mine =
        TaskListing { statuses: active.clone(), assignee: Some("me".into()), limit: COUNT_LIMIT, ..Default::default() };
    let overdue = TaskListing { overdue: true, limit: COUNT_LIMIT, ..Default::default() };
    let running = InstanceFilter {
        team_id: Some(team.clone()),
        status: Some(InstanceStatus::Running),
        limit: COUNT_LIMIT,
        ..Default::default()
    };
    let recent = AuditFilter { team_id: Some(team.clone()), newest_first: true, limit: 10, ..Default::default() };
    let (mine, overdue, running, recent, names) = tokio::join!(
        s.app.team_tasks(scope, team, mine),
        s.app.team_tasks(scope, team, overdue),
        s.app.engine.instances(scope, running),
        s.app.engine.audit_entries(scope, recent),
        user_names(s, scope),
    );
    let (mine, overdue, running, recent, names) = (mine?, overdue?, running?, recent?, names?);
    let now = s.app.engine.clock().now();
    let my_overdue = mine.iter().filter(|t| t.due_at.is_some_and(|d| d < now)).count();
    let activity: Vec<Value> = recent
        .iter()
        .map(|e| {
            let actor = e.actor_id.as_ref().and_then(|a| names.get(a)).cloned().unwrap_or_else(|| "Orgata".into());
            json!({ "at": e.at, "actor": actor, "what": describe(&e.action), "link": link(&e.entity, &e.entity_id) })
        })
        .collect();
    Ok(json!({
        "my_open": count(mine.len()), "my_overdue": my_overdue, "team_overdue": count(overdue.len()),
        "running": count(running.len()),
        "my_tasks": value(&mine.iter().take(LIST_ITEMS).collect::<Vec<_>>()),
        "overdue_tasks": value(&overdue.iter().take(LIST_ITEMS).collect::<Vec<_>>()),
        "activity": activity, "audit_visible": scope.can(team, Permission::AuditRead),
        "updated": now,
    }))
}

/// This week's figures, the throughput chart and the top bottleneck — or why they are missing,
/// or `{"pending": true}` while they are first computed (the page then fetches [`figures`]).
async fn insights(s: &WebState, scope: &Scope, team: &TeamId, wait: bool) -> Value {
    if !scope.can(team, Permission::AnalyticsRead) {
        return json!({ "unavailable": "Your role in this team does not include analytics." });
    }
    let (state, scope, team) = (s.clone(), scope.clone(), team.clone());
    let key = format!("dashboard/{team}");
    let compute = move || async move { insights_or_reason(&state, &scope, &team).await };
    if wait {
        s.figures.get(key, compute).await
    } else {
        s.figures.peek(key, compute).await.unwrap_or_else(|| json!({ "pending": true }))
    }
}

/// The week's figures alone, once computed: what a dashboard showing "computing" fetches.
async fn figures(State(s): State<WebState>, viewer: Viewer, Path(team): Path<TeamId>) -> PageResult {
    let t = viewer.team(&team)?.clone();
    let insights = insights(&s, &viewer.scope, &team, true).await;
    let context = json!({ "insights": insights, "team": { "id": t.id, "name": t.name } });
    Ok(Html(render("dashboard_figures.html", &context)?).into_response())
}

/// The insights, or the reason there are none, in words.
async fn insights_or_reason(s: &WebState, scope: &Scope, team: &TeamId) -> Value {
    compute_insights(s, scope, team).await.unwrap_or_else(|e| {
        let detail = match e {
            PageError::Api(e) => e.detail,
            PageError::Template(e) => e,
        };
        json!({ "unavailable": format!("Analytics are not available yet: {detail}") })
    })
}

async fn compute_insights(s: &WebState, scope: &Scope, team: &TeamId) -> Result<Value, PageError> {
    let now = Utc::now();
    let options = ReportOptions { period: Period::Week, now, ..Default::default() };
    let weeks = orgata_reports::filter_of(None, None, None, Some(now - Duration::weeks(CHART_WEEKS)), None, false)?;
    let month = orgata_reports::filter_of(None, None, None, Some(now - Duration::days(30)), None, false)?;
    let report = |kind, filter: Filter| {
        let options = options.clone();
        async move { s.app.team_report(scope, team, kind, &filter, &options).await }
    };
    let (timeline, bottlenecks) =
        tokio::join!(report(ReportKind::Timeline, weeks), report(ReportKind::Bottlenecks, month));
    let (Report::Timeline(timeline), Report::Bottlenecks(bottlenecks)) = (timeline?.report, bottlenecks?.report) else {
        return Ok(json!({ "unavailable": "Analytics gave an unexpected answer." }));
    };
    let periods = &timeline.periods;
    let week = |back: usize| periods.len().checked_sub(back + 1).and_then(|i| periods.get(i));
    let figures = |p: Option<&orgata_reports::PeriodCounts>| match p {
        Some(p) => json!({ "started": p.started, "completed": p.completed, "open": p.open_at_end }),
        None => json!({ "started": 0, "completed": 0, "open": 0 }),
    };
    let chart = svg::line_chart(&svg::LineChart {
        title: format!("Cases started and completed per week, last {CHART_WEEKS} weeks"),
        x_labels: periods.iter().map(|p| p.start.format("%-d %b").to_string()).collect(),
        series: vec![
            svg::Series { name: "Started".into(), values: periods.iter().map(|p| p.started as f64).collect() },
            svg::Series { name: "Completed".into(), values: periods.iter().map(|p| p.completed as f64).collect() },
            svg::Series { name: "In progress".into(), values: periods.iter().map(|p| p.open_at_end as f64).collect() },
        ],
        unit: "cases".into(),
    });
    let top = bottlenecks.activities.first().map(|a| json!({ "activity": a.times.activity, "sentence": a.sentence }));
    Ok(json!({
        "this_week": figures(week(0)), "last_week": figures(week(1)),
        "chart": chart, "top_bottleneck": top,
        "findings": bottlenecks.findings.iter().take(3).collect::<Vec<_>>(),
        "computed_at": now,
    }))
}
