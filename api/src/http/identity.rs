//! `/v1/auth`, `/v1/me`, API keys, users, roles and sign-in locks.

use super::error::ApiResult;
use super::extract::{Caller, Json};
use crate::app::App;
use crate::app::request::ClientAddress;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use orgata_engine::{
    ApiKey, ApiKeySecret, Login, LoginOutcome, NewUser, OrgRole, OrganisationSettings, Registered, Registration,
    RoleInfo, Session, TeamGrant, TeamId, Throttle, TotpEnrolment, User, UserId,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(second_factor))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
        .routes(routes!(enrol_totp, disable_totp))
        .routes(routes!(confirm_totp))
        .routes(routes!(list_api_keys, create_api_key))
        .routes(routes!(revoke_api_key))
        .routes(routes!(list_users, create_user))
        .routes(routes!(remove_user))
        .routes(routes!(set_org_role))
        .routes(routes!(organisation_settings, update_organisation_settings))
        .routes(routes!(list_roles, create_role))
        .routes(routes!(update_role, delete_role))
        .routes(routes!(login_locks))
        .routes(routes!(unlock))
}

#[utoipa::path(post, path = "/v1/auth/register", request_body = Registration, responses((status = 201, description = "Created", body = Registered)), security(()))]
async fn register(
    State(s): State<App>,
    Json(r): Json<Registration>,
) -> ApiResult<(StatusCode, axum::Json<Registered>)> {
    Ok((StatusCode::CREATED, axum::Json(s.engine.register(r).await?)))
}

#[utoipa::path(post, path = "/v1/auth/login", request_body = Login, responses((status = 200, description = "OK", body = LoginOutcome)), security(()))]
async fn login(
    State(s): State<App>,
    ClientAddress(addr): ClientAddress,
    Json(mut l): Json<Login>,
) -> ApiResult<axum::Json<LoginOutcome>> {
    l.source = addr;
    Ok(axum::Json(s.login(l).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct SecondFactor {
    challenge: String,
    code: String,
}

#[utoipa::path(post, path = "/v1/auth/login/second-factor", request_body = SecondFactor, responses((status = 200, description = "OK", body = Session)), security(()))]
async fn second_factor(
    State(s): State<App>,
    ClientAddress(addr): ClientAddress,
    Json(b): Json<SecondFactor>,
) -> ApiResult<axum::Json<Session>> {
    Ok(axum::Json(s.login_second_factor(&b.challenge, &b.code, addr.as_deref()).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct Refresh {
    refresh_token: String,
}

#[utoipa::path(post, path = "/v1/auth/refresh", request_body = Refresh, responses((status = 200, description = "OK", body = Session)), security(()))]
async fn refresh(
    State(s): State<App>,
    ClientAddress(addr): ClientAddress,
    Json(b): Json<Refresh>,
) -> ApiResult<axum::Json<Session>> {
    Ok(axum::Json(s.engine.refresh(&b.refresh_token, addr.as_deref()).await?))
}

#[utoipa::path(post, path = "/v1/auth/logout", responses((status = 204, description = "No content")))]
async fn logout(State(s): State<App>, Caller(c): Caller) -> ApiResult<StatusCode> {
    s.engine.logout(&c).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller: who they are, and their role and permissions in each of their teams.
#[derive(Serialize, utoipa::ToSchema)]
struct Me {
    user: User,
    api_key_id: Option<String>,
    teams: BTreeMap<TeamId, GrantView>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct GrantView {
    role: String,
    permissions: orgata_engine::Permissions,
}

impl From<&TeamGrant> for GrantView {
    fn from(g: &TeamGrant) -> Self {
        GrantView { role: g.role.clone(), permissions: g.permissions }
    }
}

#[utoipa::path(get, path = "/v1/me", responses((status = 200, description = "OK", body = Me)))]
async fn me(State(s): State<App>, Caller(c): Caller) -> ApiResult<axum::Json<Me>> {
    let user = s.engine.me(&c).await?;
    let teams = c.teams().iter().map(|(t, g)| (t.clone(), GrantView::from(g))).collect();
    Ok(axum::Json(Me { user, api_key_id: c.api_key_id().map(str::to_string), teams }))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct PasswordChange {
    current_password: String,
    /// At least 10 characters.
    #[schema(min_length = 10)]
    new_password: String,
}

#[utoipa::path(post, path = "/v1/me/password", request_body = PasswordChange, responses((status = 204, description = "No content")))]
async fn change_password(
    State(s): State<App>,
    Caller(c): Caller,
    Json(b): Json<PasswordChange>,
) -> ApiResult<StatusCode> {
    s.engine.change_password(&c, &b.current_password, &b.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/me/totp", responses((status = 200, description = "OK", body = TotpEnrolment)))]
async fn enrol_totp(State(s): State<App>, Caller(c): Caller) -> ApiResult<axum::Json<TotpEnrolment>> {
    Ok(axum::Json(s.engine.enrol_totp(&c).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct Code {
    /// The authenticator's current six-digit code.
    #[schema(pattern = "^[0-9]{6}$")]
    code: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct RecoveryCodes {
    recovery_codes: Vec<String>,
}

#[utoipa::path(post, path = "/v1/me/totp/confirm", request_body = Code, responses((status = 200, description = "OK", body = RecoveryCodes)))]
async fn confirm_totp(
    State(s): State<App>,
    Caller(c): Caller,
    Json(b): Json<Code>,
) -> ApiResult<axum::Json<RecoveryCodes>> {
    Ok(axum::Json(RecoveryCodes { recovery_codes: s.engine.confirm_totp(&c, &b.code).await? }))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct Password {
    password: String,
}

#[utoipa::path(delete, path = "/v1/me/totp", request_body = Password, responses((status = 204, description = "No content")))]
async fn disable_totp(State(s): State<App>, Caller(c): Caller, Json(b): Json<Password>) -> ApiResult<StatusCode> {
    s.engine.disable_totp(&c, &b.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/teams/{team}/api-keys", params(("team" = String, Path, description = "A team id")), responses((status = 200, description = "OK", body = Vec<ApiKey>)))]
async fn list_api_keys(
    State(s): State<App>,
    Caller(c): Caller,
    Path(team): Path<TeamId>,
) -> ApiResult<axum::Json<Vec<ApiKey>>> {
    Ok(axum::Json(s.engine.api_keys(&c, &team).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct NewApiKey {
    #[schema(min_length = 1)]
    name: String,
    /// At most the creator's own permissions in the team (all of them when absent).
    #[schema(value_type = Option<Vec<orgata_engine::Permission>>)]
    permissions: Option<Vec<String>>,
    expires_at: Option<DateTime<Utc>>,
}

#[utoipa::path(post, path = "/v1/teams/{team}/api-keys", params(("team" = String, Path, description = "A team id")), request_body = NewApiKey, responses((status = 201, description = "Created", body = ApiKeySecret)))]
async fn create_api_key(
    State(s): State<App>,
    Caller(c): Caller,
    Path(team): Path<TeamId>,
    Json(b): Json<NewApiKey>,
) -> ApiResult<(StatusCode, axum::Json<ApiKeySecret>)> {
    let key = s.engine.create_api_key(&c, &team, &b.name, b.permissions.as_deref(), b.expires_at).await?;
    Ok((StatusCode::CREATED, axum::Json(key)))
}

#[utoipa::path(delete, path = "/v1/api-keys/{id}", params(("id" = String, Path, description = "The record's id")), responses((status = 200, description = "OK", body = ApiKey)))]
async fn revoke_api_key(
    State(s): State<App>,
    Caller(c): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<ApiKey>> {
    Ok(axum::Json(s.engine.revoke_api_key(&c, &id).await?))
}

#[utoipa::path(get, path = "/v1/users", responses((status = 200, description = "OK", body = Vec<User>)))]
async fn list_users(State(s): State<App>, Caller(c): Caller) -> ApiResult<axum::Json<Vec<User>>> {
    Ok(axum::Json(s.engine.users(&c).await?))
}

#[utoipa::path(post, path = "/v1/users", request_body = NewUser, responses((status = 201, description = "Created", body = User)))]
async fn create_user(
    State(s): State<App>,
    Caller(c): Caller,
    Json(b): Json<NewUser>,
) -> ApiResult<(StatusCode, axum::Json<User>)> {
    Ok((StatusCode::CREATED, axum::Json(s.engine.create_user(&c, b).await?)))
}

/// Removes a user from the organisation (owners and admins): they leave every team, their sessions
/// and API keys end, and they can no longer sign in; what they did keeps their name. Someone with
/// unfinished tasks answers 409 until those are reassigned.
#[utoipa::path(delete, path = "/v1/users/{id}", params(("id" = String, Path, description = "The record's id")), responses((status = 200, description = "The removed user", body = User)))]
async fn remove_user(State(s): State<App>, Caller(c): Caller, Path(id): Path<UserId>) -> ApiResult<axum::Json<User>> {
    Ok(axum::Json(s.engine.remove_user(&c, &id).await?))
}

/// How the organisation keeps time: its time zone, working days and hours, and week start.
#[utoipa::path(get, path = "/v1/organisation/settings", responses((status = 200, description = "OK", body = OrganisationSettings)))]
async fn organisation_settings(State(s): State<App>, Caller(c): Caller) -> ApiResult<axum::Json<OrganisationSettings>> {
    Ok(axum::Json(s.engine.organisation_settings(&c).await?))
}

/// Replaces the organisation's settings (owners and admins); a field left out takes its default.
#[utoipa::path(put, path = "/v1/organisation/settings", request_body = OrganisationSettings, responses((status = 200, description = "OK", body = OrganisationSettings)))]
async fn update_organisation_settings(
    State(s): State<App>,
    Caller(c): Caller,
    Json(b): Json<OrganisationSettings>,
) -> ApiResult<axum::Json<OrganisationSettings>> {
    Ok(axum::Json(s.engine.update_organisation_settings(&c, b).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct OrgRoleChange {
    org_role: OrgRole,
}

#[utoipa::path(put, path = "/v1/users/{id}/org-role", params(("id" = String, Path, description = "The record's id")), request_body = OrgRoleChange, responses((status = 200, description = "OK", body = User)))]
async fn set_org_role(
    State(s): State<App>,
    Caller(c): Caller,
    Path(id): Path<UserId>,
    Json(b): Json<OrgRoleChange>,
) -> ApiResult<axum::Json<User>> {
    Ok(axum::Json(s.engine.set_org_role(&c, &id, b.org_role).await?))
}

#[utoipa::path(get, path = "/v1/roles", responses((status = 200, description = "OK", body = Vec<RoleInfo>)))]
async fn list_roles(State(s): State<App>, Caller(c): Caller) -> ApiResult<axum::Json<Vec<RoleInfo>>> {
    Ok(axum::Json(s.engine.roles(&c).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct NewRole {
    /// Lower-case letters, digits, `-` and `_`.
    #[schema(pattern = "^[a-z0-9_-]{1,50}$")]
    name: String,
    #[schema(value_type = Vec<orgata_engine::Permission>)]
    permissions: Vec<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
struct RolePermissions {
    #[schema(value_type = Vec<orgata_engine::Permission>)]
    permissions: Vec<String>,
}

#[utoipa::path(post, path = "/v1/roles", request_body = NewRole, responses((status = 201, description = "Created", body = orgata_engine::CustomRole)))]
async fn create_role(
    State(s): State<App>,
    Caller(c): Caller,
    Json(b): Json<NewRole>,
) -> ApiResult<(StatusCode, axum::Json<orgata_engine::CustomRole>)> {
    Ok((StatusCode::CREATED, axum::Json(s.engine.create_role(&c, &b.name, &b.permissions).await?)))
}

#[utoipa::path(put, path = "/v1/roles/{name}", params(("name" = String, Path, description = "A custom role's name")), request_body = RolePermissions, responses((status = 200, description = "OK", body = orgata_engine::CustomRole)))]
async fn update_role(
    State(s): State<App>,
    Caller(c): Caller,
    Path(name): Path<String>,
    Json(b): Json<RolePermissions>,
) -> ApiResult<axum::Json<orgata_engine::CustomRole>> {
    Ok(axum::Json(s.engine.update_role(&c, &name, &b.permissions).await?))
}

#[utoipa::path(delete, path = "/v1/roles/{name}", params(("name" = String, Path, description = "A custom role's name")), responses((status = 204, description = "No content")))]
async fn delete_role(State(s): State<App>, Caller(c): Caller, Path(name): Path<String>) -> ApiResult<StatusCode> {
    s.engine.delete_role(&c, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/login-locks", responses((status = 200, description = "OK", body = Vec<Throttle>)))]
async fn login_locks(State(s): State<App>, Caller(c): Caller) -> ApiResult<axum::Json<Vec<Throttle>>> {
    Ok(axum::Json(s.engine.login_locks(&c).await?))
}

#[utoipa::path(delete, path = "/v1/login-locks/{subject}", params(("subject" = String, Path, description = "A locked subject, `account:<user id>` or `address:<ip>`")), responses((status = 204, description = "No content")))]
async fn unlock(State(s): State<App>, Caller(c): Caller, Path(subject): Path<String>) -> ApiResult<StatusCode> {
    s.engine.unlock(&c, &subject).await?;
    Ok(StatusCode::NO_CONTENT)
}
