//! `/v1/teams`: the caller's teams, their settings and members.

use super::error::ApiResult;
use super::extract::{Caller, Json};
use crate::app::App;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use orgata_engine::{Membership, Team, TeamId, UserId};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(one, update, delete))
        .routes(routes!(members, add_member))
        .routes(routes!(change_role, remove_member))
}

#[utoipa::path(get, path = "/v1/teams", responses((status = 200, description = "OK", body = Vec<Team>)))]
async fn list(State(s): State<App>, Caller(c): Caller) -> ApiResult<axum::Json<Vec<Team>>> {
    Ok(axum::Json(s.engine.teams(&c).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct NewTeam {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
}

/// A new team in the caller's organisation (organisation owners and admins); the caller becomes
/// its owner (a new access token, or `POST /v1/auth/refresh`, acts in it).
#[utoipa::path(post, path = "/v1/teams", request_body = NewTeam, responses((status = 201, description = "Created", body = Team)))]
async fn create(
    State(s): State<App>,
    Caller(c): Caller,
    Json(b): Json<NewTeam>,
) -> ApiResult<(StatusCode, axum::Json<Team>)> {
    Ok((StatusCode::CREATED, axum::Json(s.engine.create_team(&c, &b.name).await?)))
}

#[utoipa::path(get, path = "/v1/teams/{team}", params(("team" = String, Path, description = "A team id")), responses((status = 200, description = "OK", body = Team)))]
async fn one(State(s): State<App>, Caller(c): Caller, Path(team): Path<TeamId>) -> ApiResult<axum::Json<Team>> {
    Ok(axum::Json(s.engine.team(&c, &team).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct TeamSettings {
    #[schema(min_length = 1)]
    name: String,
}

#[utoipa::path(patch, path = "/v1/teams/{team}", params(("team" = String, Path, description = "A team id")), request_body = TeamSettings, responses((status = 200, description = "OK", body = Team)))]
async fn update(
    State(s): State<App>,
    Caller(c): Caller,
    Path(team): Path<TeamId>,
    Json(b): Json<TeamSettings>,
) -> ApiResult<axum::Json<Team>> {
    Ok(axum::Json(s.engine.rename_team(&c, &team, &b.name).await?))
}

/// Deletes a team that holds no playbooks (organisation owners and admins who manage it); its
/// memberships and API keys go with it.
#[utoipa::path(delete, path = "/v1/teams/{team}", params(("team" = String, Path, description = "A team id")), responses((status = 204, description = "Deleted")))]
async fn delete(State(s): State<App>, Caller(c): Caller, Path(team): Path<TeamId>) -> ApiResult<StatusCode> {
    s.engine.delete_team(&c, &team).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/teams/{team}/members", params(("team" = String, Path, description = "A team id")), responses((status = 200, description = "OK", body = Vec<Membership>)))]
async fn members(
    State(s): State<App>,
    Caller(c): Caller,
    Path(team): Path<TeamId>,
) -> ApiResult<axum::Json<Vec<Membership>>> {
    Ok(axum::Json(s.engine.members(&c, &team).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct NewMember {
    user_id: UserId,
    /// A built-in or custom role's name.
    #[schema(pattern = "^[a-z0-9_-]{1,50}$")]
    role: String,
}

#[utoipa::path(post, path = "/v1/teams/{team}/members", params(("team" = String, Path, description = "A team id")), request_body = NewMember, responses((status = 201, description = "Created", body = Membership)))]
async fn add_member(
    State(s): State<App>,
    Caller(c): Caller,
    Path(team): Path<TeamId>,
    Json(b): Json<NewMember>,
) -> ApiResult<(StatusCode, axum::Json<Membership>)> {
    Ok((StatusCode::CREATED, axum::Json(s.engine.add_member(&c, &team, &b.user_id, &b.role).await?)))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct RoleChange {
    /// A built-in or custom role's name.
    #[schema(pattern = "^[a-z0-9_-]{1,50}$")]
    role: String,
}

#[utoipa::path(patch, path = "/v1/teams/{team}/members/{user}", params(("team" = String, Path, description = "A team id"), ("user" = String, Path, description = "A user id")), request_body = RoleChange, responses((status = 200, description = "OK", body = Membership)))]
async fn change_role(
    State(s): State<App>,
    Caller(c): Caller,
    Path((team, user)): Path<(TeamId, UserId)>,
    Json(b): Json<RoleChange>,
) -> ApiResult<axum::Json<Membership>> {
    Ok(axum::Json(s.engine.change_member_role(&c, &team, &user, &b.role).await?))
}

#[utoipa::path(delete, path = "/v1/teams/{team}/members/{user}", params(("team" = String, Path, description = "A team id"), ("user" = String, Path, description = "A user id")), responses((status = 204, description = "No content")))]
async fn remove_member(
    State(s): State<App>,
    Caller(c): Caller,
    Path((team, user)): Path<(TeamId, UserId)>,
) -> ApiResult<StatusCode> {
    s.engine.remove_member(&c, &team, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}
