//! The dashboard: my open and overdue tasks, active processes and recent activity (live: the
//! page follows the team's event stream and reloads these panels when something changes), this
//! week's key figures with their trend, the throughput chart, the top bottleneck and the unusual
//! processes (from the warehouse, through the same reports as REST and MCP).

use super::WebState;
use super::render::{PageError, PageResult, page, render, value};
use super::session::{Viewer, home, remember_team};
use super::svg;
use super::view::{describe, entity_labels, link, process_titles, user_names};
use crate::app::work::TaskListing;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::{Duration, Utc};
use orgata_engine::{AuditFilter, InstanceFilter, InstanceId, InstanceStatus, Permission, Scope, TaskStatus, TeamId};
use orgata_reports::{Filter, Period, Report, ReportKind, ReportOptions};
use serde_json::{Value, json};

/// The most items a dashboard list shows, and counts beyond which it says "N+".
const LIST_ITEMS: usize = 8;
const COUNT_LIMIT: i64 = 500;
/// Weeks the throughput chart covers.
const CHART_WEEKS: i32 = 12;
/// Unusual processes the anomalies panel lists.
const UNUSUAL_LISTED: usize = 5;
/// Processes at risk the panel lists.
const AT_RISK_LISTED: usize = 5;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/", get(start))
        .route("/teams/{team}", get(dashboard))
        .route("/teams/{team}/live", get(live))
        .route("/teams/{team}/panels", get(panels))
        .route("/teams/{team}/figures", get(figures))
}

async fn start(viewer: Viewer, headers: HeaderMap) -> Response {
    home(&viewer, &headers)
}

async fn dashboard(State(s): State<WebState>, viewer: Viewer, Path(team): Path<TeamId>) -> PageResult {
    let t = viewer.team(&team)?.clone();
    let (live, insights) = tokio::join!(live_panels(&s, &viewer, &team), insights(&s, &viewer.scope, &team, false));
    let mut response =
        page(&viewer, Some(&t), "dashboard", "dashboard.html", json!({ "live": live?, "insights": insights }))?;
    remember_team(&mut response, &team);
    Ok(response)
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
    let (my_listed, overdue_listed) = (&mine[..mine.len().min(LIST_ITEMS)], &overdue[..overdue.len().min(LIST_ITEMS)]);
    let listed = my_listed.iter().chain(overdue_listed).map(|t| t.instance_id.clone());
    let (titles, labels) = tokio::join!(process_titles(s, scope, listed), entity_labels(s, scope, &recent));
    let (titles, labels) = (titles?, labels?);
    let now = s.app.engine.clock().now();
    let my_overdue = mine.iter().filter(|t| t.due_at.is_some_and(|d| d < now)).count();
    let activity: Vec<Value> = recent
        .iter()
        .map(|e| {
            let actor = e.actor_id.as_ref().and_then(|a| names.get(a)).cloned().unwrap_or_else(|| "Orgata".into());
            let about = labels.get(&(e.entity.clone(), e.entity_id.clone()));
            json!({ "at": e.at, "actor": actor, "what": describe(&e.action), "about": about,
                    "link": link(&e.entity, &e.entity_id) })
        })
        .collect();
    Ok(json!({
        "my_open": count(mine.len()), "my_overdue": my_overdue, "team_overdue": count(overdue.len()),
        "running": count(running.len()),
        "my_tasks": value(&my_listed), "overdue_tasks": value(&overdue_listed), "titles": value(&titles),
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

/// The running processes most likely to miss the model's case target, most urgent first, by
/// title; or why there are no forecasts (no model yet, none with a target).
async fn at_risk(s: &WebState, scope: &Scope, team: &TeamId) -> Result<Value, PageError> {
    let predictions = match s.app.team_predictions(scope, team, true).await {
        Ok(predictions) => predictions,
        Err(e) => return Ok(json!({ "unavailable": e.detail })),
    };
    let Some(target) = predictions.model.case_target_s else {
        return Ok(
            json!({ "unavailable": "The prediction model was trained without a case target, so no risk is told." }),
        );
    };
    let count = predictions.cases.len();
    let mut cases = predictions.cases;
    cases.truncate(AT_RISK_LISTED);
    let titles = process_titles(s, scope, cases.iter().map(|c| InstanceId::from(c.case_id.as_str()))).await?;
    let listed: Vec<Value> = cases
        .iter()
        .filter_map(|c| {
            let title = titles.get(&InstanceId::from(c.case_id.as_str()))?;
            Some(json!({ "id": c.case_id, "title": title, "risk": c.risk, "reason": c.reason,
                         "expected_end": c.expected_end.format("%Y-%m-%d %H:%M").to_string() }))
        })
        .collect();
    let typical = predictions.model.case_target_quantile.map(orgata_reports::text::whole_percent);
    Ok(json!({ "target": orgata_reports::text::duration(target), "typical": typical, "count": count, "cases": listed }))
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
    let week = Duration::weeks(1);
    // Whole weeks counted back from now: the last 7 days against the 7 before, never a partial
    // week against a whole one.
    let options = ReportOptions { period: Period::Week, periods_end: Some(now), now, ..Default::default() };
    // One week more than charted: the first week's "started" would count every case that began
    // before the range and has an event in it.
    let weeks = orgata_reports::filter_of(None, None, None, Some(now - week * (CHART_WEEKS + 1)), None, false)?;
    let month = orgata_reports::filter_of(None, None, None, Some(now - Duration::days(30)), None, false)?;
    let report = |kind, filter: Filter| {
        let options = options.clone();
        async move { s.app.team_report(scope, team, kind, &filter, &options).await }
    };
    let (timeline, bottlenecks, anomalies) = tokio::join!(
        report(ReportKind::Timeline, weeks),
        report(ReportKind::Bottlenecks, month),
        report(ReportKind::Anomalies, Filter::engine())
    );
    let (Report::Timeline(timeline), Report::Bottlenecks(bottlenecks), Report::Anomalies(anomalies)) =
        (timeline?.report, bottlenecks?.report, anomalies?.report)
    else {
        return Ok(json!({ "unavailable": "Analytics gave an unexpected answer." }));
    };
    let periods = &timeline.periods;
    // The 7 days holding `t` (the engine's timeline runs on to now, quiet weeks included; none
    // before the first case).
    let figures = |t: chrono::DateTime<Utc>| match timeline.period_at(t) {
        Some(p) => json!({ "started": p.started, "completed": p.completed, "open": p.open_at_end }),
        None => json!({ "started": 0, "completed": 0, "open": 0 }),
    };
    let charted: Vec<&orgata_reports::PeriodCounts> =
        periods.iter().filter(|p| p.start + week > now - week * CHART_WEEKS).collect();
    let chart = svg::line_chart(&svg::LineChart {
        title: format!("Cases started and completed per 7 days, the last {CHART_WEEKS} weeks to now"),
        x_labels: charted.iter().map(|p| (p.start + week).format("to %-d %b").to_string()).collect(),
        series: vec![
            svg::Series { name: "Started".into(), values: charted.iter().map(|p| p.started as f64).collect() },
            svg::Series { name: "Completed".into(), values: charted.iter().map(|p| p.completed as f64).collect() },
            svg::Series { name: "In progress".into(), values: charted.iter().map(|p| p.open_at_end as f64).collect() },
        ],
        unit: "cases".into(),
        partial: charted.iter().map(|p| p.partial).collect(),
    });
    // One headline (what delays the outcome most), then at most two other findings.
    let headline = bottlenecks.headline.as_ref();
    let others: Vec<&String> = bottlenecks.findings.iter().filter(|f| Some(*f) != headline).take(2).collect();
    // The unusual processes, running ones first (they can still be helped), by title.
    let mut unusual: Vec<&orgata_reports::CaseOutlier> = anomalies.outliers.iter().collect();
    unusual.sort_by_key(|o| !o.running);
    unusual.truncate(UNUSUAL_LISTED);
    let titles = process_titles(s, scope, unusual.iter().map(|o| InstanceId::from(o.case_id.as_str()))).await?;
    let unusual: Vec<Value> = unusual
        .iter()
        .filter_map(|o| {
            let title = titles.get(&InstanceId::from(o.case_id.as_str()))?;
            Some(json!({ "id": o.case_id, "title": title, "running": o.running, "finding": o.finding }))
        })
        .collect();
    let anomaly_findings: Vec<&String> = anomalies.findings.iter().take(2).collect();
    let at_risk = at_risk(s, scope, team).await?;
    Ok(json!({
        "this_week": figures(now - week), "last_week": figures(now - week * 2),
        "chart": chart, "top_bottleneck": headline, "findings": others,
        "anomalies": { "findings": anomaly_findings, "cases": unusual, "count": anomalies.outlying_cases },
        "at_risk": at_risk,
        "computed_at": now,
    }))
}
