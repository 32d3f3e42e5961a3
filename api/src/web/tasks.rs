//! Tasks: the team's task list with filters, and a task's page — its form drawn from the step's
//! JSON Schema and completed through the engine (its validation messages shown next to the
//! fields), claim, start, assign and comments.

use super::WebState;
use super::form;
use super::render::{PageResult, page, see_other, value};
use super::session::{Viewer, with_flash};
use super::view::{comment_views, failure, process_titles, user_names};
use crate::app::AppError;
use crate::app::paging::{decode_cursor, encode_cursor};
use crate::app::work::{TaskListing, task_statuses};
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use orgata_engine::definition::Step;
use orgata_engine::{CompleteTask, Decision, EngineError, Permission, Task, TaskId, TaskStatus, TeamId, UserId};
use serde::Deserialize;
use serde_json::{Value, json};

/// Tasks per page of the list.
const PAGE: i64 = 50;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/teams/{team}/tasks", get(list))
        .route("/tasks/{id}", get(show))
        .route("/tasks/{id}/complete", post(complete))
        .route("/tasks/{id}/claim", post(claim))
        .route("/tasks/{id}/start", post(start))
        .route("/tasks/{id}/assign", post(assign))
        .route("/tasks/{id}/comments", post(comment))
}

#[derive(Deserialize, Default)]
struct ListQuery {
    /// A status, `active` (the default: open, assigned or started) or `all`.
    status: Option<String>,
    /// `me`, `anyone` (the default) or a user id.
    assignee: Option<String>,
    overdue: Option<String>,
    cursor: Option<String>,
}

async fn list(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(team): Path<TeamId>,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let t = viewer.team(&team)?.clone();
    let status = q.status.clone().unwrap_or_else(|| "active".into());
    let statuses = match status.as_str() {
        "active" | "" => vec![TaskStatus::Open, TaskStatus::Assigned, TaskStatus::Started],
        "all" => Vec::new(),
        one => task_statuses([one])?,
    };
    let assignee = q.assignee.clone().filter(|a| !a.is_empty() && a != "anyone");
    let overdue = q.overdue.as_deref() == Some("true");
    let after = q.cursor.as_deref().filter(|c| !c.is_empty()).map(decode_cursor).transpose()?.map(TaskId::from);
    let listing = TaskListing {
        statuses,
        assignee: assignee.clone(),
        overdue,
        after,
        newest_first: true,
        limit: PAGE,
        ..Default::default()
    };
    let (tasks, names, members) = tokio::join!(
        s.app.team_tasks(&viewer.scope, &team, listing),
        user_names(&s, &viewer.scope),
        s.app.engine.members(&viewer.scope, &team)
    );
    let (tasks, names, members) = (tasks?, names?, members?);
    let titles = process_titles(&s, &viewer.scope, tasks.iter().map(|t| t.instance_id.clone())).await?;
    let next = (tasks.len() as i64 >= PAGE).then(|| tasks.last().map(|t| encode_cursor(&t.id.to_string()))).flatten();
    let people: Vec<Value> = members
        .iter()
        .map(|m| json!({ "id": m.user_id, "name": names.get(&m.user_id).cloned().unwrap_or_default() }))
        .collect();
    let context = json!({
        "tasks": value(&tasks), "names": value(&names), "titles": value(&titles), "people": people,
        "now": s.app.engine.clock().now(),
        "filter": { "status": status, "assignee": assignee.unwrap_or_else(|| "anyone".into()), "overdue": overdue },
        "next": next,
    });
    page(&viewer, Some(&t), "tasks", "tasks.html", context)
}

/// What the task page shows besides the task: its step, process, people and comments.
async fn task_context(
    s: &WebState,
    viewer: &Viewer,
    task: &Task,
) -> Result<(Value, Option<Step>), super::render::PageError> {
    let (version, detail, names, members) = tokio::join!(
        s.app.engine.version(&viewer.scope, &task.version_id),
        s.app.engine.instance(&viewer.scope, &task.instance_id),
        user_names(s, &viewer.scope),
        s.app.engine.members(&viewer.scope, &task.team_id),
    );
    let (version, detail, names, members) = (version?, detail?, names?, members?);
    let step = version.definition.steps.iter().find(|st| st.key == task.step_key).cloned();
    let on_task = detail.comments.iter().filter(|c| c.task_id.as_ref() == Some(&task.id));
    let comments = comment_views(on_task, &names, viewer.scope.user_id());
    let people: Vec<Value> = members
        .iter()
        .map(|m| json!({ "id": m.user_id, "name": names.get(&m.user_id).cloned().unwrap_or_default(), "role": m.role }))
        .collect();
    let context = json!({
        "task": value(task), "process": value(&detail.instance), "comments": comments, "people": people,
        "assignee": task.assignee_id.as_ref().and_then(|a| names.get(a)).cloned(),
        "mine": task.assignee_id.as_ref() == Some(viewer.scope.user_id()),
        "active": matches!(task.status, TaskStatus::Open | TaskStatus::Assigned | TaskStatus::Started),
        "now": s.app.engine.clock().now(),
        "step": step.as_ref().map(|st| json!({ "kind": st.kind.as_str(), "sla": st.sla.as_ref().map(|x| x.to_string()) })),
    });
    Ok((context, step))
}

/// The task page, with `fields` (the form) and `problems` (messages for the whole form).
async fn task_page(
    s: &WebState,
    viewer: &Viewer,
    task: &Task,
    fields: Option<Vec<form::Field>>,
    problems: Vec<String>,
    status: StatusCode,
) -> PageResult {
    let (mut context, step) = task_context(s, viewer, task).await?;
    let fields = fields.unwrap_or_else(|| form::fields(&schema_of(step.as_ref()), &task.output));
    context["fields"] = value(&fields);
    context["problems"] = json!(problems);
    let team = viewer.team(&task.team_id)?.clone();
    let mut response = page(viewer, Some(&team), "tasks", "task.html", context)?;
    *response.status_mut() = status;
    Ok(response)
}

fn schema_of(step: Option<&Step>) -> Value {
    step.and_then(|st| st.form.clone()).unwrap_or(Value::Null)
}

async fn show(State(s): State<WebState>, viewer: Viewer, Path(id): Path<TaskId>) -> PageResult {
    let task = s.app.engine.task(&viewer.scope, &id).await?;
    task_page(&s, &viewer, &task, None, Vec::new(), StatusCode::OK).await
}

async fn complete(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(id): Path<TaskId>,
    Form(submitted): Form<Vec<(String, String)>>,
) -> PageResult {
    let task = s.app.engine.task(&viewer.scope, &id).await?;
    let version = s.app.engine.version(&viewer.scope, &task.version_id).await?;
    let step = version.definition.steps.iter().find(|st| st.key == task.step_key).cloned();
    let schema = schema_of(step.as_ref());
    let control = |name: &str| submitted.iter().find(|(k, _)| k == &format!("_{name}")).map(|(_, v)| v.clone());
    let revision = control("revision").and_then(|r| r.parse::<i64>().ok());
    let decision = match control("decision").as_deref() {
        Some("approve") => Some(Decision::Approve),
        Some("reject") => Some(Decision::Reject),
        _ => None,
    };
    let form::Submission { value: output, mut fields, parsed } = form::read(&schema, &submitted, "/output");
    if !parsed {
        let problems = vec!["Some fields need attention; nothing was saved.".to_string()];
        return task_page(&s, &viewer, &task, Some(fields), problems, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    match s.app.complete_task(&viewer.scope, &id, CompleteTask { output, decision, expected_revision: revision }).await
    {
        Ok(outcome) => {
            let next: Vec<&str> = outcome.created.iter().map(|t| t.name.as_str()).collect();
            let message = if next.is_empty() {
                format!("“{}” is done.", task.name)
            } else {
                format!("“{}” is done. Next: {}.", task.name, next.join(", "))
            };
            Ok(with_flash(&format!("/processes/{}", task.instance_id), &message))
        }
        Err(EngineError::Validation(list)) => {
            let problems = form::engine_problems(&mut fields, "/output", &list, "saved");
            task_page(&s, &viewer, &task, Some(fields), problems, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => {
            let current = s.app.engine.task(&viewer.scope, &id).await?;
            let problems = vec![failure(&e)];
            task_page(&s, &viewer, &current, Some(fields), problems, AppError::from(e).status).await
        }
    }
}

#[derive(Deserialize)]
struct RevisionForm {
    #[serde(rename = "_revision")]
    revision: Option<i64>,
    assignee_id: Option<UserId>,
}

/// Runs a task action and returns to the task page, saying what happened.
async fn act(s: &WebState, viewer: &Viewer, id: &TaskId, done: &str, result: Result<Task, EngineError>) -> PageResult {
    match result {
        Ok(_) => Ok(with_flash(&format!("/tasks/{id}"), done)),
        Err(e) => {
            let task = s.app.engine.task(&viewer.scope, id).await?;
            let message = failure(&e);
            task_page(s, viewer, &task, None, vec![message], AppError::from(e).status).await
        }
    }
}

async fn claim(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(id): Path<TaskId>,
    Form(f): Form<RevisionForm>,
) -> PageResult {
    let result = s.app.engine.claim_task(&viewer.scope, &id, f.revision).await;
    act(&s, &viewer, &id, "The task is yours.", result).await
}

async fn start(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(id): Path<TaskId>,
    Form(f): Form<RevisionForm>,
) -> PageResult {
    let result = s.app.engine.start_task(&viewer.scope, &id, f.revision).await;
    act(&s, &viewer, &id, "Work on the task has started.", result).await
}

async fn assign(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(id): Path<TaskId>,
    Form(f): Form<RevisionForm>,
) -> PageResult {
    let Some(assignee) = f.assignee_id.filter(|a| !a.to_string().is_empty()) else {
        let task = s.app.engine.task(&viewer.scope, &id).await?;
        let problems = vec!["Choose the person to assign the task to.".to_string()];
        return task_page(&s, &viewer, &task, None, problems, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let result = s.app.engine.assign_task(&viewer.scope, &id, &assignee, f.revision).await;
    act(&s, &viewer, &id, "The task is assigned.", result).await
}

#[derive(Deserialize)]
struct CommentForm {
    #[serde(default)]
    body: String,
}

async fn comment(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(id): Path<TaskId>,
    Form(f): Form<CommentForm>,
) -> PageResult {
    let task = s.app.engine.task(&viewer.scope, &id).await?;
    if !viewer.scope.can(&task.team_id, Permission::ProcessComment) {
        return task_page(&s, &viewer, &task, None, vec!["You may not comment here.".into()], StatusCode::FORBIDDEN)
            .await;
    }
    match s.app.engine.add_comment(&viewer.scope, &task.instance_id, Some(&id), &f.body).await {
        Ok(_) => Ok(see_other(&format!("/tasks/{id}#comments"))),
        Err(e) => {
            let message = format!("The comment was not saved: {e}");
            task_page(&s, &viewer, &task, None, vec![message], AppError::from(e).status).await
        }
    }
}
