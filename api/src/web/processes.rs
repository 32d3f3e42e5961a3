//! Processes: the team's list with filters, a process's page (its step graph coloured by state,
//! timeline, data and comments; cancel), and starting a process from a playbook's start form.

use super::WebState;
use super::form;
use super::render::{PageResult, page, value};
use super::session::{Viewer, with_flash};
use super::view::{comment_views, failure, step_graph, user_names};
use crate::app::AppError;
use crate::app::paging::{decode_cursor, encode_cursor};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use orgata_engine::{
    CommentId, EngineError, InstanceFilter, InstanceId, InstanceStatus, Permission, PlaybookId, StartInstance,
    TaskStatus, TeamId,
};
use orgata_reports::text;
use serde::Deserialize;
use serde_json::{Value, json};

/// Processes per page of the list.
const PAGE: i64 = 50;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/teams/{team}/processes", get(list))
        .route("/teams/{team}/processes/new", get(start_page).post(start))
        .route("/processes/{id}", get(show))
        .route("/processes/{id}/comments", post(comment))
        .route("/processes/{id}/cancel", post(cancel))
        .route("/comments/{id}", post(change_comment))
}

#[derive(Deserialize, Default)]
struct ListQuery {
    status: Option<String>,
    playbook: Option<String>,
    mine: Option<String>,
    cursor: Option<String>,
}

async fn list(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(team): Path<TeamId>,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let t = viewer.team(&team)?.clone();
    let status_name = q.status.clone().unwrap_or_else(|| "running".into());
    let status = match status_name.as_str() {
        "all" | "" => None,
        name => Some(InstanceStatus::try_from(name.to_string()).map_err(AppError::bad_request)?),
    };
    let playbook = q.playbook.clone().filter(|p| !p.is_empty());
    let mine = q.mine.as_deref() == Some("true");
    let filter = InstanceFilter {
        team_id: Some(team.clone()),
        playbook_id: playbook.clone().map(PlaybookId::from),
        status,
        assignee_id: mine.then(|| viewer.scope.user_id().clone()),
        after: q.cursor.as_deref().filter(|c| !c.is_empty()).map(decode_cursor).transpose()?.map(InstanceId::from),
        newest_first: true,
        limit: PAGE,
        ..Default::default()
    };
    let (instances, playbooks) =
        tokio::join!(s.app.engine.instances(&viewer.scope, filter), s.app.engine.playbooks(&viewer.scope, Some(&team)));
    let (instances, playbooks) = (instances?, playbooks?);
    let next =
        (instances.len() as i64 >= PAGE).then(|| instances.last().map(|i| encode_cursor(&i.id.to_string()))).flatten();
    let names: serde_json::Map<String, Value> = playbooks.iter().map(|p| (p.id.to_string(), json!(p.name))).collect();
    let context = json!({
        "processes": value(&instances), "playbooks": value(&playbooks), "playbook_names": names, "next": next,
        "filter": { "status": status_name, "playbook": playbook.unwrap_or_default(), "mine": mine },
    });
    page(&viewer, Some(&t), "processes", "processes.html", context)
}

/// One line of a process's timeline.
fn moment(at: Option<DateTime<Utc>>, text: String, link: Option<String>) -> Option<(DateTime<Utc>, Value)> {
    at.map(|at| (at, json!({ "at": at, "text": text, "link": link })))
}

async fn process_page(
    s: &WebState,
    viewer: &Viewer,
    id: &InstanceId,
    problems: Vec<String>,
    status: StatusCode,
) -> PageResult {
    let detail = s.app.engine.instance(&viewer.scope, id).await?;
    // The forecast reads the warehouse: at the same time as the page's records.
    let (version, names, forecast) = tokio::join!(
        s.app.engine.version(&viewer.scope, &detail.instance.version_id),
        user_names(s, &viewer.scope),
        forecast(s, viewer, &detail.instance)
    );
    let (version, names) = (version?, names?);
    let name = |u: &Option<orgata_engine::UserId>| u.as_ref().and_then(|u| names.get(u)).cloned();
    let mut timeline: Vec<(DateTime<Utc>, Value)> = Vec::new();
    let i = &detail.instance;
    timeline.extend(moment(
        Some(i.started_at),
        format!("Started by {}", name(&Some(i.started_by.clone())).unwrap_or_default()),
        None,
    ));
    for t in &detail.tasks {
        let link = Some(format!("/tasks/{}", t.id));
        let who = name(&t.assignee_id).unwrap_or_else(|| "someone".into());
        timeline.extend(moment(t.ready_at, format!("{} became ready", t.name), link.clone()));
        timeline.extend(moment(t.assigned_at, format!("{} assigned to {who}", t.name), link.clone()));
        timeline.extend(moment(t.started_at, format!("{who} started {}", t.name), link.clone()));
        let ended = match t.status {
            TaskStatus::Completed => format!("{} completed by {who}", t.name),
            TaskStatus::Rejected => format!("{} rejected by {who}", t.name),
            TaskStatus::Skipped => format!("{} skipped", t.name),
            TaskStatus::Cancelled => format!("{} cancelled", t.name),
            _ => String::new(),
        };
        if !ended.is_empty() {
            timeline.extend(moment(t.completed_at.or(t.ready_at), ended, link));
        }
    }
    for c in &detail.comments {
        timeline.extend(moment(
            Some(c.created_at),
            format!("{} commented", name(&Some(c.author_id.clone())).unwrap_or_default()),
            None,
        ));
    }
    timeline.extend(moment(i.ended_at, format!("Process {}", i.status), None));
    timeline.sort_by_key(|(at, _)| *at);
    let comments = comment_views(&detail.comments, &names, viewer.scope.user_id());
    let graph = step_graph(&format!("Steps of {}", i.title), &version.definition, &detail.tasks);
    let team = viewer.team(&i.team_id)?.clone();
    let context = json!({
        "forecast": forecast,
        "process": value(i), "tasks": value(&detail.tasks), "comments": comments, "graph": graph,
        "timeline": timeline.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
        "version": { "id": version.id, "number": version.number, "playbook_id": version.playbook_id },
        "data": value(&i.data), "problems": problems, "now": s.app.engine.clock().now(),
        "names": value(&names),
    });
    let mut response = page(viewer, Some(&team), "processes", "process.html", context)?;
    *response.status_mut() = status;
    Ok(response)
}

/// A running process's forecast for its page: the prediction in words, or why there is none
/// (no model yet, its events not in the warehouse yet); nothing for an ended process or a viewer
/// without analytics.
async fn forecast(s: &WebState, viewer: &Viewer, i: &orgata_engine::Instance) -> Value {
    if i.status != InstanceStatus::Running || !viewer.scope.can(&i.team_id, Permission::AnalyticsRead) {
        return Value::Null;
    }
    match s.app.process_prediction(&viewer.scope, &i.id).await {
        Ok((model, p)) => {
            let day = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M").to_string();
            json!({
                "expected_end": day(p.expected_end), "earliest_end": day(p.earliest_end), "latest_end": day(p.latest_end),
                "remaining": text::duration(p.remaining_s),
                "next": p.next.iter().map(|n| json!({ "activity": n.activity, "probability": n.probability })).collect::<Vec<_>>(),
                "risk": p.risk, "at_risk": p.at_risk, "target": model.case_target_s.map(text::duration),
                "reason": p.reason, "model_version": model.version, "trained_at": day(model.trained_at),
                "own_model": model.playbook_id.is_some(),
                "tasks": p.tasks.iter().map(|t| json!({ "id": t.task_id, "step": t.step, "due": day(t.due_at), "risk": t.risk, "reason": t.reason })).collect::<Vec<_>>(),
            })
        }
        Err(e) => json!({ "unavailable": e.detail }),
    }
}

async fn show(State(s): State<WebState>, viewer: Viewer, Path(id): Path<InstanceId>) -> PageResult {
    process_page(&s, &viewer, &id, Vec::new(), StatusCode::OK).await
}

#[derive(Deserialize)]
struct CommentForm {
    #[serde(default)]
    body: String,
}

async fn comment(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(id): Path<InstanceId>,
    Form(f): Form<CommentForm>,
) -> PageResult {
    match s.app.engine.add_comment(&viewer.scope, &id, None, &f.body).await {
        Ok(_) => Ok(with_flash(&format!("/processes/{id}#comments"), "Your comment is saved.")),
        Err(e) => {
            let message = format!("The comment was not saved: {e}");
            process_page(&s, &viewer, &id, vec![message], AppError::from(e).status).await
        }
    }
}

#[derive(Deserialize)]
struct CommentChange {
    /// `edit` or `delete`.
    action: String,
    #[serde(default)]
    body: String,
    /// The process the comment is on, and the task when it was shown on the task's page: where
    /// the browser goes back to.
    process: InstanceId,
    task: Option<String>,
}

/// Edits or deletes one of the viewer's comments, then goes back to the page it was shown on.
async fn change_comment(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(id): Path<CommentId>,
    Form(f): Form<CommentChange>,
) -> PageResult {
    let outcome = match f.action.as_str() {
        "delete" => s.app.engine.delete_comment(&viewer.scope, &id).await.map(|()| "The comment is deleted."),
        _ => s.app.engine.edit_comment(&viewer.scope, &id, &f.body).await.map(|_| "Your comment is saved."),
    };
    let task = f.task.filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    match outcome {
        Ok(done) => {
            let back = match task {
                Some(t) => format!("/tasks/{t}#comments"),
                None => format!("/processes/{}#comments", f.process),
            };
            Ok(with_flash(&back, done))
        }
        Err(e) => {
            let message = format!("The comment was not changed: {}", failure(&e));
            process_page(&s, &viewer, &f.process, vec![message], AppError::from(e).status).await
        }
    }
}

#[derive(Deserialize)]
struct CancelForm {
    #[serde(rename = "_revision")]
    revision: Option<i64>,
    #[serde(default)]
    reason: String,
}

async fn cancel(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(id): Path<InstanceId>,
    Form(f): Form<CancelForm>,
) -> PageResult {
    match s.app.engine.cancel_instance(&viewer.scope, &id, f.revision, &f.reason).await {
        Ok(_) => Ok(with_flash(&format!("/processes/{id}"), "The process is cancelled.")),
        Err(e) => {
            let message = failure(&e);
            process_page(&s, &viewer, &id, vec![message], AppError::from(e).status).await
        }
    }
}

#[derive(Deserialize, Default)]
struct StartQuery {
    playbook: Option<String>,
}

/// The start page: choose a playbook, then fill in its start form.
async fn start_page(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(team): Path<TeamId>,
    Query(q): Query<StartQuery>,
) -> PageResult {
    let playbook = q.playbook.filter(|p| !p.is_empty()).map(PlaybookId::from);
    start_form(&s, &viewer, &team, playbook, None, Vec::new(), StatusCode::OK).await
}

async fn start_form(
    s: &WebState,
    viewer: &Viewer,
    team: &TeamId,
    playbook: Option<PlaybookId>,
    filled: Option<(Vec<form::Field>, String)>,
    problems: Vec<String>,
    status: StatusCode,
) -> PageResult {
    let t = viewer.team(team)?.clone();
    let mut playbooks = s.app.engine.playbooks(&viewer.scope, Some(team)).await?;
    playbooks.retain(|p| p.archived_at.is_none());
    let chosen = match &playbook {
        Some(id) => Some(s.app.engine.playbook(&viewer.scope, id).await?).filter(|d| d.playbook.team_id == *team),
        None => None,
    };
    let (fields, title) = match (filled, &chosen) {
        (Some(filled), _) => filled,
        (None, Some(d)) => {
            (form::fields(d.head.definition.input_schema.as_ref().unwrap_or(&Value::Null), &Value::Null), String::new())
        }
        (None, None) => (Vec::new(), String::new()),
    };
    let context = json!({
        "playbooks": value(&playbooks), "fields": value(&fields), "title": title, "problems": problems,
        "chosen": chosen.as_ref().map(|d| json!({
            "id": d.playbook.id, "name": d.playbook.name, "description": d.head.definition.description,
            "version": d.head.number,
        })),
    });
    let mut response = page(viewer, Some(&t), "processes", "start.html", context)?;
    *response.status_mut() = status;
    Ok(response)
}

async fn start(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(team): Path<TeamId>,
    Form(submitted): Form<Vec<(String, String)>>,
) -> PageResult {
    let control = |name: &str| submitted.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_string());
    let Some(playbook) = control("_playbook").filter(|p| !p.is_empty()).map(PlaybookId::from) else {
        let problems = vec!["Choose the playbook to start.".to_string()];
        return start_form(&s, &viewer, &team, None, None, problems, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let title = control("_title").unwrap_or_default();
    let detail = s.app.engine.playbook(&viewer.scope, &playbook).await?;
    let schema = detail.head.definition.input_schema.clone().unwrap_or(Value::Null);
    let form::Submission { value: input, mut fields, parsed } = form::read(&schema, &submitted, "/input");
    let unprocessable = |fields, problems| {
        start_form(
            &s,
            &viewer,
            &team,
            Some(playbook.clone()),
            Some((fields, title.clone())),
            problems,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    if !parsed {
        return unprocessable(fields, vec!["Some fields need attention; nothing was started.".into()]).await;
    }
    let request = StartInstance {
        playbook_id: playbook.clone(),
        branch: None,
        title: Some(title.clone()).filter(|t| !t.is_empty()),
        input,
    };
    match s.app.start_process(&viewer.scope, &team, request).await {
        Ok(d) => {
            let message = format!("“{}” is started.", d.instance.title);
            Ok(with_flash(&format!("/processes/{}", d.instance.id), &message))
        }
        Err(EngineError::Validation(errors)) => {
            let problems = form::engine_problems(&mut fields, "/input", &errors, "started");
            unprocessable(fields, problems).await
        }
        Err(e) => Err(e.into()),
    }
}
