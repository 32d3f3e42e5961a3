//! `/v1` playbooks, processes, tasks and the audit trail.

use super::error::ApiResult;
use super::extract::{
    Caller, IdempotencyKeyHeader, IfMatch, IfMatchHeader, Json, OptionalIfMatch, OptionalIfMatchHeader, Query, etag,
};
use crate::app::AppError;
use crate::app::paging::{decode_cursor, foreign_cursor, page_limit};
use crate::app::visible;
use crate::app::work::{TaskListing, assignee, task_statuses};
use crate::app::{App, Page};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use orgata_engine::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_playbooks, create_playbook))
        .routes(routes!(validate_definition))
        .routes(routes!(get_playbook, update_playbook, delete_playbook))
        .routes(routes!(archive_playbook))
        .routes(routes!(restore_playbook))
        .routes(routes!(list_versions))
        .routes(routes!(get_version))
        .routes(routes!(list_processes, start_process))
        .routes(routes!(get_process))
        .routes(routes!(cancel_process))
        .routes(routes!(comment))
        .routes(routes!(edit_comment, delete_comment))
        .routes(routes!(list_tasks))
        .routes(routes!(get_task, update_task))
        .routes(routes!(complete_task))
        .routes(routes!(cancel_task))
        .routes(routes!(audit))
        .routes(routes!(verify_audit))
}

/// A JSON body with an `ETag`.
fn tagged<T: Serialize>(status: StatusCode, revision: i64, body: T) -> Response {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&etag(revision)) {
        headers.insert(header::ETAG, v);
    }
    (status, headers, axum::Json(body)).into_response()
}

/// A conflict on a write that carried `If-Match` is a failed precondition.
fn stale(e: EngineError) -> AppError {
    match e {
        EngineError::Conflict { .. } => AppError::precondition_failed(e.to_string()),
        other => other.into(),
    }
}

/// The revision of a playbook's `main` branch: its ETag.
fn main_revision(d: &PlaybookDetail) -> i64 {
    d.branches.iter().find(|b| b.name == service::MAIN_BRANCH).map_or(0, |b| b.revision)
}

#[utoipa::path(get, path = "/v1/teams/{team}/playbooks", params(("team" = String, Path, description = "A team id")), responses((status = 200, description = "OK", body = Vec<Playbook>)))]
async fn list_playbooks(
    State(s): State<App>,
    Caller(c): Caller,
    Path(team): Path<TeamId>,
) -> ApiResult<axum::Json<Vec<Playbook>>> {
    visible(&c, &team)?;
    Ok(axum::Json(s.engine.playbooks(&c, Some(&team)).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct NewPlaybook {
    #[schema(min_length = 1)]
    name: String,
    #[schema(value_type = orgata_engine::Definition)]
    definition: Value,
    #[serde(default)]
    message: String,
}

#[utoipa::path(post, path = "/v1/teams/{team}/playbooks", params(("team" = String, Path, description = "A team id"), IdempotencyKeyHeader), request_body = NewPlaybook, responses((status = 201, description = "Created", body = PlaybookDetail)))]
async fn create_playbook(
    State(s): State<App>,
    Caller(c): Caller,
    Path(team): Path<TeamId>,
    Json(b): Json<NewPlaybook>,
) -> ApiResult<Response> {
    let d = s.engine.create_playbook(&c, &team, &b.name, b.definition, &b.message).await?;
    Ok(tagged(StatusCode::CREATED, main_revision(&d), d))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct DefinitionBody {
    #[schema(value_type = orgata_engine::Definition)]
    definition: Value,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Validated {
    valid: bool,
    steps: usize,
}

#[utoipa::path(post, path = "/v1/playbooks/validate", request_body = DefinitionBody, responses((status = 200, description = "OK", body = Validated)))]
async fn validate_definition(
    State(s): State<App>,
    Caller(_): Caller,
    Json(b): Json<DefinitionBody>,
) -> ApiResult<axum::Json<Validated>> {
    let d = s.engine.validate_definition(b.definition)?;
    Ok(axum::Json(Validated { valid: true, steps: d.steps.len() }))
}

#[utoipa::path(get, path = "/v1/playbooks/{id}", params(("id" = String, Path, description = "The record's id")), responses((status = 200, description = "OK", body = PlaybookDetail)))]
async fn get_playbook(State(s): State<App>, Caller(c): Caller, Path(id): Path<PlaybookId>) -> ApiResult<Response> {
    let d = s.engine.playbook(&c, &id).await?;
    Ok(tagged(StatusCode::OK, main_revision(&d), d))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct PlaybookUpdate {
    #[schema(value_type = orgata_engine::Definition)]
    definition: Value,
    #[serde(default)]
    message: String,
}

/// A new version on `main`, if `main` is still at the revision the caller read.
#[utoipa::path(put, path = "/v1/playbooks/{id}", params(("id" = String, Path, description = "The record's id"), IfMatchHeader), request_body = PlaybookUpdate, responses((status = 200, description = "OK", body = PlaybookDetail)))]
async fn update_playbook(
    State(s): State<App>,
    Caller(c): Caller,
    Path(id): Path<PlaybookId>,
    IfMatch(revision): IfMatch,
    Json(b): Json<PlaybookUpdate>,
) -> ApiResult<Response> {
    let main = service::MAIN_BRANCH;
    s.commit_version(&c, &id, main, b.definition, &b.message, revision).await.map_err(stale)?;
    let d = s.engine.playbook(&c, &id).await?;
    Ok(tagged(StatusCode::OK, main_revision(&d), d))
}

/// Deletes a playbook no process ever ran on, with its versions (`playbook.publish`); one with
/// processes answers 409: archive it instead.
#[utoipa::path(delete, path = "/v1/playbooks/{id}", params(("id" = String, Path, description = "The record's id")), responses((status = 204, description = "Deleted")))]
async fn delete_playbook(State(s): State<App>, Caller(c): Caller, Path(id): Path<PlaybookId>) -> ApiResult<StatusCode> {
    s.engine.delete_playbook(&c, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Archives a playbook (`playbook.publish`): no process starts on it any more; running ones go on.
#[utoipa::path(post, path = "/v1/playbooks/{id}/archive", params(("id" = String, Path, description = "The record's id")), responses((status = 200, description = "OK", body = Playbook)))]
async fn archive_playbook(
    State(s): State<App>,
    Caller(c): Caller,
    Path(id): Path<PlaybookId>,
) -> ApiResult<axum::Json<Playbook>> {
    Ok(axum::Json(s.engine.archive_playbook(&c, &id).await?))
}

/// Takes a playbook out of the archive (`playbook.publish`).
#[utoipa::path(post, path = "/v1/playbooks/{id}/restore", params(("id" = String, Path, description = "The record's id")), responses((status = 200, description = "OK", body = Playbook)))]
async fn restore_playbook(
    State(s): State<App>,
    Caller(c): Caller,
    Path(id): Path<PlaybookId>,
) -> ApiResult<axum::Json<Playbook>> {
    Ok(axum::Json(s.engine.restore_playbook(&c, &id).await?))
}

#[utoipa::path(get, path = "/v1/playbooks/{id}/versions", params(("id" = String, Path, description = "The record's id")), responses((status = 200, description = "OK", body = Vec<PlaybookVersion>)))]
async fn list_versions(
    State(s): State<App>,
    Caller(c): Caller,
    Path(id): Path<PlaybookId>,
) -> ApiResult<axum::Json<Vec<PlaybookVersion>>> {
    Ok(axum::Json(s.engine.versions(&c, &id).await?))
}

#[utoipa::path(get, path = "/v1/versions/{id}", params(("id" = String, Path, description = "The record's id")), responses((status = 200, description = "OK", body = PlaybookVersion)))]
async fn get_version(
    State(s): State<App>,
    Caller(c): Caller,
    Path(id): Path<VersionId>,
) -> ApiResult<axum::Json<PlaybookVersion>> {
    Ok(axum::Json(s.engine.version(&c, &id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct StartBody {
    playbook_id: PlaybookId,
    branch: Option<String>,
    title: Option<String>,
    #[serde(default)]
    input: Value,
}

#[utoipa::path(post, path = "/v1/teams/{team}/processes", params(("team" = String, Path, description = "A team id"), IdempotencyKeyHeader), request_body = StartBody, responses((status = 201, description = "Created", body = InstanceDetail)))]
async fn start_process(
    State(s): State<App>,
    Caller(c): Caller,
    Path(team): Path<TeamId>,
    Json(b): Json<StartBody>,
) -> ApiResult<Response> {
    let req = StartInstance { playbook_id: b.playbook_id, branch: b.branch, title: b.title, input: b.input };
    let d = s.start_process(&c, &team, req).await?;
    Ok(tagged(StatusCode::CREATED, d.instance.revision, d))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ProcessQuery {
    playbook_id: Option<PlaybookId>,
    status: Option<InstanceStatus>,
    started_after: Option<DateTime<Utc>>,
    started_before: Option<DateTime<Utc>>,
    /// `me` or a user id: processes with a current task assigned to them.
    assignee: Option<String>,
    /// Items per page.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]+$")]
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/teams/{team}/processes", params(("team" = String, Path, description = "A team id"), ProcessQuery), responses((status = 200, description = "OK", body = Page<Instance>)))]
async fn list_processes(
    State(s): State<App>,
    Caller(c): Caller,
    Path(team): Path<TeamId>,
    Query(q): Query<ProcessQuery>,
) -> ApiResult<axum::Json<Page<Instance>>> {
    visible(&c, &team)?;
    let limit = page_limit(q.limit)?;
    let filter = InstanceFilter {
        team_id: Some(team),
        playbook_id: q.playbook_id,
        status: q.status,
        started_after: q.started_after,
        started_before: q.started_before,
        assignee_id: assignee(&c, q.assignee.as_deref()),
        after: q.cursor.as_deref().map(decode_cursor).transpose()?.map(InstanceId::from),
        limit,
        ..Default::default()
    };
    let items = s.engine.instances(&c, filter).await?;
    Ok(axum::Json(Page::of(items, limit, |i| i.id.to_string())))
}

#[utoipa::path(get, path = "/v1/processes/{id}", params(("id" = String, Path, description = "The record's id")), responses((status = 200, description = "OK", body = InstanceDetail)))]
async fn get_process(State(s): State<App>, Caller(c): Caller, Path(id): Path<InstanceId>) -> ApiResult<Response> {
    let d = s.engine.instance(&c, &id).await?;
    Ok(tagged(StatusCode::OK, d.instance.revision, d))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CancelBody {
    #[serde(default)]
    reason: String,
}

#[utoipa::path(post, path = "/v1/processes/{id}/cancel", params(("id" = String, Path, description = "The record's id"), OptionalIfMatchHeader), request_body = CancelBody, responses((status = 200, description = "OK", body = Instance)))]
async fn cancel_process(
    State(s): State<App>,
    Caller(c): Caller,
    Path(id): Path<InstanceId>,
    OptionalIfMatch(expected): OptionalIfMatch,
    Json(b): Json<CancelBody>,
) -> ApiResult<Response> {
    let i = s.engine.cancel_instance(&c, &id, expected, &b.reason).await.map_err(stale)?;
    Ok(tagged(StatusCode::OK, i.revision, i))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CommentBody {
    #[schema(min_length = 1)]
    body: String,
    task_id: Option<TaskId>,
}

#[utoipa::path(post, path = "/v1/processes/{id}/comments", params(("id" = String, Path, description = "The record's id")), request_body = CommentBody, responses((status = 201, description = "Created", body = Comment)))]
async fn comment(
    State(s): State<App>,
    Caller(c): Caller,
    Path(id): Path<InstanceId>,
    Json(b): Json<CommentBody>,
) -> ApiResult<(StatusCode, axum::Json<Comment>)> {
    let comment = s.engine.add_comment(&c, &id, b.task_id.as_ref(), &b.body).await?;
    Ok((StatusCode::CREATED, axum::Json(comment)))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CommentEdit {
    #[schema(min_length = 1)]
    body: String,
}

/// Changes the body of one of the caller's comments.
#[utoipa::path(patch, path = "/v1/comments/{id}", params(("id" = String, Path, description = "The record's id")), request_body = CommentEdit, responses((status = 200, description = "OK", body = Comment)))]
async fn edit_comment(
    State(s): State<App>,
    Caller(c): Caller,
    Path(id): Path<CommentId>,
    Json(b): Json<CommentEdit>,
) -> ApiResult<axum::Json<Comment>> {
    Ok(axum::Json(s.engine.edit_comment(&c, &id, &b.body).await?))
}

/// Deletes a comment: the caller's own, or anyone's in a team they manage (`team.manage`).
#[utoipa::path(delete, path = "/v1/comments/{id}", params(("id" = String, Path, description = "The record's id")), responses((status = 204, description = "Deleted")))]
async fn delete_comment(State(s): State<App>, Caller(c): Caller, Path(id): Path<CommentId>) -> ApiResult<StatusCode> {
    s.engine.delete_comment(&c, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct TaskQuery {
    /// Comma-separated statuses.
    #[param(
        pattern = "^(open|assigned|started|completed|rejected|skipped|cancelled)(,(open|assigned|started|completed|rejected|skipped|cancelled))*$"
    )]
    status: Option<String>,
    /// `me` or a user id.
    assignee: Option<String>,
    due_before: Option<DateTime<Utc>>,
    /// Only active tasks past their due time.
    #[serde(default)]
    overdue: bool,
    instance_id: Option<InstanceId>,
    /// Items per page.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]+$")]
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/teams/{team}/tasks", params(("team" = String, Path, description = "A team id"), TaskQuery), responses((status = 200, description = "OK", body = Page<Task>)))]
async fn list_tasks(
    State(s): State<App>,
    Caller(c): Caller,
    Path(team): Path<TeamId>,
    Query(q): Query<TaskQuery>,
) -> ApiResult<axum::Json<Page<Task>>> {
    let statuses = match &q.status {
        Some(list) => task_statuses(list.split(','))?,
        None => Vec::new(),
    };
    let limit = page_limit(q.limit)?;
    let listing = TaskListing {
        statuses,
        assignee: q.assignee,
        due_before: q.due_before,
        overdue: q.overdue,
        instance_id: q.instance_id,
        after: q.cursor.as_deref().map(decode_cursor).transpose()?.map(TaskId::from),
        limit,
        ..Default::default()
    };
    let items = s.team_tasks(&c, &team, listing).await?;
    Ok(axum::Json(Page::of(items, limit, |t| t.id.to_string())))
}

#[utoipa::path(get, path = "/v1/tasks/{id}", params(("id" = String, Path, description = "The record's id")), responses((status = 200, description = "OK", body = Task)))]
async fn get_task(State(s): State<App>, Caller(c): Caller, Path(id): Path<TaskId>) -> ApiResult<Response> {
    let t = s.engine.task(&c, &id).await?;
    Ok(tagged(StatusCode::OK, t.revision, t))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
enum TaskUpdate {
    /// Assign (or reassign) to a member of the team.
    Assign { assignee_id: UserId },
    /// Take it yourself.
    Claim,
    /// Start working on it.
    Start,
}

#[utoipa::path(patch, path = "/v1/tasks/{id}", params(("id" = String, Path, description = "The record's id"), IfMatchHeader), request_body = TaskUpdate, responses((status = 200, description = "OK", body = Task)))]
async fn update_task(
    State(s): State<App>,
    Caller(c): Caller,
    Path(id): Path<TaskId>,
    IfMatch(revision): IfMatch,
    Json(b): Json<TaskUpdate>,
) -> ApiResult<Response> {
    let expected = revision;
    let t = match b {
        TaskUpdate::Assign { assignee_id } => s.engine.assign_task(&c, &id, &assignee_id, expected).await,
        TaskUpdate::Claim => s.engine.claim_task(&c, &id, expected).await,
        TaskUpdate::Start => s.engine.start_task(&c, &id, expected).await,
    }
    .map_err(stale)?;
    Ok(tagged(StatusCode::OK, t.revision, t))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CompleteBody {
    #[serde(default)]
    output: Value,
    decision: Option<Decision>,
}

#[utoipa::path(post, path = "/v1/tasks/{id}/complete", params(("id" = String, Path, description = "The record's id"), IfMatchHeader, IdempotencyKeyHeader), request_body = CompleteBody, responses((status = 200, description = "OK", body = TaskOutcome)))]
async fn complete_task(
    State(s): State<App>,
    Caller(c): Caller,
    Path(id): Path<TaskId>,
    IfMatch(revision): IfMatch,
    Json(b): Json<CompleteBody>,
) -> ApiResult<Response> {
    let req = CompleteTask { output: b.output, decision: b.decision, expected_revision: revision };
    let outcome = s.complete_task(&c, &id, req).await.map_err(stale)?;
    Ok(tagged(StatusCode::OK, outcome.task.revision, outcome))
}

#[utoipa::path(post, path = "/v1/tasks/{id}/cancel", params(("id" = String, Path, description = "The record's id"), IfMatchHeader), responses((status = 200, description = "OK", body = TaskOutcome)))]
async fn cancel_task(
    State(s): State<App>,
    Caller(c): Caller,
    Path(id): Path<TaskId>,
    IfMatch(revision): IfMatch,
) -> ApiResult<Response> {
    let outcome = s.engine.cancel_task(&c, &id, revision).await.map_err(stale)?;
    Ok(tagged(StatusCode::OK, outcome.task.revision, outcome))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    actor_id: Option<UserId>,
    entity_id: Option<String>,
    action: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    /// Items per page.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]+$")]
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/audit", params(AuditQuery), responses((status = 200, description = "OK", body = Page<AuditEntry>)))]
async fn audit(
    State(s): State<App>,
    Caller(c): Caller,
    Query(q): Query<AuditQuery>,
) -> ApiResult<axum::Json<Page<AuditEntry>>> {
    let after = match q.cursor.as_deref().map(decode_cursor).transpose()? {
        Some(id) => Some(id.parse::<i64>().map_err(|_| foreign_cursor())?),
        None => None,
    };
    let limit = page_limit(q.limit)?;
    let filter = AuditFilter {
        actor_id: q.actor_id,
        entity_id: q.entity_id,
        action: q.action,
        since: q.since,
        until: q.until,
        after,
        limit,
        ..Default::default()
    };
    let items = s.engine.audit_entries(&c, filter).await?;
    Ok(axum::Json(Page::of(items, limit, |e| e.id.to_string())))
}

#[utoipa::path(get, path = "/v1/audit/verify", responses((status = 200, description = "OK", body = AuditVerification)))]
async fn verify_audit(State(s): State<App>, Caller(c): Caller) -> ApiResult<axum::Json<AuditVerification>> {
    Ok(axum::Json(s.engine.verify_audit(&c).await?))
}
