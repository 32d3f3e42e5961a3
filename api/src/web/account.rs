//! The viewer's account and their teams' administration: registering a new organisation (the one
//! public page here), the profile (password, two-factor sign-in, API keys), team settings (name
//! and members) and the team's audit log.
//!
//! Forms answer with a redirect and a one-time message, or with the page again showing what was
//! wrong, in words, next to the inputs concerned. A secret (a new API key, a TOTP secret, recovery
//! codes) is shown once, on the page that answers the form that made it.

use super::WebState;
use super::problems::{Inputs, Problems};
use super::render::{PageError, PageResult, page, render, see_other};
use super::session::{Viewer, signed_in_redirect, url_encode, with_flash};
use super::view::{describe, entity_labels, link};
use crate::app::request::ClientAddress;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use orgata_engine::{
    ApiKey, AuditEntry, AuditFilter, EngineError, Login, OrgRole, Permission, Registration, Team, TeamId, User, UserId,
};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Audit entries per page.
const AUDIT_PAGE: i64 = 50;

/// The signed-in pages: profile, team settings and the audit log.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/profile", get(profile).post(profile_form))
        .route("/profile/totp", get(to_profile).post(enrol_totp))
        .route("/profile/totp/confirm", get(to_profile).post(confirm_totp))
        .route("/profile/totp/disable", get(to_profile).post(disable_totp))
        .route("/teams/{team}/settings", get(settings).post(settings_form))
        .route("/teams/{team}/audit", get(audit))
}

/// The public pages: registering a new organisation (merge next to the sign-in routes).
pub fn public_routes() -> Router<WebState> {
    Router::new().route("/register", get(register_page).post(register))
}

/// A date input (`YYYY-MM-DD`, empty for none) as the start of that day in UTC, or with
/// `end_of_day` the start of the day after it; `subject` begins the message when it is no date.
fn day_bound(text: &str, end_of_day: bool, subject: &str) -> Result<Option<DateTime<Utc>>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let day =
        NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().and_then(|d| if end_of_day { d.succ_opt() } else { Some(d) });
    day.map(|d| Some(d.and_time(NaiveTime::MIN).and_utc()))
        .ok_or_else(|| format!("{subject} must be a date, like {}.", Utc::now().format("%Y-%m-%d")))
}

/// `context` with `overlay`'s keys put over its own.
fn merge(context: &mut Value, overlay: Value) {
    if let (Value::Object(base), Value::Object(extra)) = (context, overlay) {
        base.extend(extra);
    }
}

/// A signed-in page answering with `status`.
fn shown(
    viewer: &Viewer,
    team: Option<&Team>,
    active: &str,
    template: &str,
    context: Value,
    status: StatusCode,
) -> PageResult {
    let mut response = page(viewer, team, active, template, context)?;
    *response.status_mut() = status;
    Ok(response)
}

/// The display names of the organisation's people, by id.
fn names(users: &[User]) -> HashMap<&UserId, &str> {
    users.iter().map(|u| (&u.id, u.display_name.as_str())).collect()
}

// ---------------------------------------------------------------------------------------------
// Registration

#[derive(Deserialize, Default)]
struct RegisterForm {
    #[serde(default)]
    organisation_name: String,
    #[serde(default)]
    organisation_slug: String,
    #[serde(default)]
    team_name: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm_password: String,
}

const REGISTER_INPUTS: Inputs = &[
    ("organisation_name", "organisation_name", "The organisation's name"),
    ("organisation_slug", "organisation_slug", "The URL name"),
    ("team_name", "team_name", "The team's name"),
    ("display_name", "display_name", "Your name"),
    ("email", "email", "The email"),
    ("password", "password", "The password"),
];

/// The registration page, with what was typed and its problems.
fn register_form(f: &RegisterForm, problems: Option<&Problems>) -> PageResult {
    let typed = json!({
        "organisation_name": f.organisation_name, "organisation_slug": f.organisation_slug,
        "team_name": f.team_name, "display_name": f.display_name, "email": f.email,
    });
    let context = match problems {
        Some(p) => p.overlay("register", typed),
        None => json!({ "typed": typed }),
    };
    let status = problems.map_or(StatusCode::OK, |p| p.status);
    Ok((status, Html(render("register.html", &context)?)).into_response())
}

async fn register_page() -> PageResult {
    register_form(&RegisterForm::default(), None)
}

async fn register(
    State(s): State<WebState>,
    ClientAddress(source): ClientAddress,
    Form(f): Form<RegisterForm>,
) -> PageResult {
    if f.password != f.confirm_password {
        let problems = Problems::field("confirm_password", "The two passwords differ: type the same password twice.");
        return register_form(&f, Some(&problems));
    }
    let registration = Registration {
        organisation_name: f.organisation_name.clone(),
        organisation_slug: f.organisation_slug.clone(),
        team_name: f.team_name.clone(),
        email: f.email.clone(),
        display_name: f.display_name.clone(),
        password: f.password.clone(),
    };
    match s.app.engine.register(registration).await {
        Ok(done) => {
            let to = format!("/teams/{}", done.team.id);
            let login = Login {
                organisation: done.organisation.slug.clone(),
                email: done.user.email.clone(),
                password: f.password.clone(),
                code: None,
                source,
            };
            let response = signed_in_redirect(&s, login, &to).await;
            let welcome = format!(
                "Welcome to Orgata! “{}” is ready; you sign in to “{}” from now on. Add people in Team settings.",
                done.team.name, done.organisation.slug
            );
            Ok(with_message(response, &to, &welcome))
        }
        Err(EngineError::AlreadyExists { .. }) => {
            let mut problems = Problems::field("organisation_slug", "That URL name is taken: choose another.");
            problems.status = StatusCode::CONFLICT;
            register_form(&f, Some(&problems))
        }
        Err(e) => register_form(&f, Some(&Problems::engine(e, REGISTER_INPUTS)?)),
    }
}

/// `response`, a sign-in redirect, with a one-time message for `to` when it leads there (signed
/// in); a redirect elsewhere keeps its own message.
fn with_message(mut response: Response, to: &str, message: &str) -> Response {
    if response.headers().get(header::LOCATION).is_some_and(|l| l.as_bytes() == to.as_bytes()) {
        let flash = with_flash(to, message);
        for cookie in flash.headers().get_all(header::SET_COOKIE) {
            response.headers_mut().append(header::SET_COOKIE, cookie.clone());
        }
    }
    response
}

// ---------------------------------------------------------------------------------------------
// Profile: account, password, two-factor sign-in, API keys

/// The profile page: the account, its teams and their API keys, whether two-factor sign-in is on
/// (when known), and `overlay` (a refused form, a secret to show once) over it.
async fn profile_page(s: &WebState, viewer: &Viewer, overlay: Value, status: StatusCode) -> PageResult {
    let lists = futures::future::try_join_all(viewer.teams.iter().map(|t| s.app.engine.api_keys(&viewer.scope, &t.id)));
    let (lists, users, totp) = tokio::join!(lists, s.app.engine.users(&viewer.scope), totp_enabled(s, viewer));
    let (lists, users) = (lists?, users?);
    let names = names(&users);
    let now = s.app.engine.clock().now();
    let teams: Vec<Value> = viewer
        .teams
        .iter()
        .zip(lists)
        .map(|(t, keys)| {
            let grant = viewer.scope.grant(&t.id);
            json!({
                "id": t.id, "name": t.name, "role": grant.map(|g| g.role.as_str()),
                "all_keys": viewer.scope.can(&t.id, Permission::ApiKeysManage),
                "permissions": grant.map(|g| g.permissions.names()).unwrap_or_default(),
                "keys": keys.iter().map(|k| key_row(k, &names, viewer, now)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let user = &viewer.user;
    let mut context = json!({
        "account": {
            "name": user.display_name, "email": user.email, "org_role": user.org_role.as_str(), "since": user.created_at,
        },
        "teams": teams, "totp": totp,
    });
    merge(&mut context, overlay);
    shown(viewer, None, "profile", "profile.html", context, status)
}

/// An API key as the profile lists it.
fn key_row(k: &ApiKey, names: &HashMap<&UserId, &str>, viewer: &Viewer, now: DateTime<Utc>) -> Value {
    let state = if k.revoked_at.is_some() {
        "revoked"
    } else if k.expires_at.is_some_and(|e| e <= now) {
        "expired"
    } else {
        "active"
    };
    json!({
        "id": k.id, "name": k.name, "permissions": k.permissions.names(), "state": state,
        "created_at": k.created_at, "last_used_at": k.last_used_at, "expires_at": k.expires_at, "revoked_at": k.revoked_at,
        "owner": names.get(&k.user_id).copied().unwrap_or("A former member"), "mine": k.user_id == viewer.user.id,
    })
}

/// Whether the viewer's two-factor sign-in is on (`None` when the engine could not say).
async fn totp_enabled(s: &WebState, viewer: &Viewer) -> Option<bool> {
    s.app.engine.totp_enabled(&viewer.scope).await.ok()
}

async fn profile(State(s): State<WebState>, viewer: Viewer) -> PageResult {
    profile_page(&s, &viewer, json!({}), StatusCode::OK).await
}

/// After a form that showed a secret, its address leads back to the profile.
async fn to_profile() -> Response {
    see_other("/profile")
}

/// A submitted form's fields, in order (a name repeats for ticked checkboxes).
struct Submitted(Vec<(String, String)>);

impl Submitted {
    /// The first value of `name` (empty when absent).
    fn one(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name`.
    fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }
}

/// The profile's forms: `action` is `password`, `create_key` or `revoke_key`.
async fn profile_form(
    State(s): State<WebState>,
    viewer: Viewer,
    Form(fields): Form<Vec<(String, String)>>,
) -> PageResult {
    let form = Submitted(fields);
    match form.one("action") {
        "password" => change_password(&s, &viewer, &form).await,
        "create_key" => create_key(&s, &viewer, &form).await,
        "revoke_key" => revoke_key(&s, &viewer, &form).await,
        _ => {
            let mut problems = Problems::new();
            problems.general.push("This form is not known here: reload the page and try again.".into());
            problems.status = StatusCode::BAD_REQUEST;
            profile_page(&s, &viewer, problems.overlay("page", json!({})), problems.status).await
        }
    }
}

const PASSWORD_INPUTS: Inputs =
    &[("current_password", "current_password", "That"), ("password", "new_password", "The new password")];

async fn change_password(s: &WebState, viewer: &Viewer, form: &Submitted) -> PageResult {
    let new = form.one("new_password");
    let problems = if new != form.one("confirm_password") {
        Problems::field("confirm_password", "The two new passwords differ: type the same one twice.")
    } else {
        match s.app.engine.change_password(&viewer.scope, form.one("current_password"), new).await {
            // Changing the password ends every session, this one too.
            Ok(()) => {
                let message =
                    "Your password is changed, and all your sessions have ended. Sign in with the new password.";
                return Ok(with_flash("/sign-in?next=/profile", message));
            }
            Err(e) => Problems::engine(e, PASSWORD_INPUTS)?,
        }
    };
    profile_page(s, viewer, problems.overlay("password", json!({})), problems.status).await
}

const KEY_INPUTS: Inputs = &[
    ("name", "name", "The name"),
    ("expires_at", "expires", "The expiry date"),
    ("permissions", "permissions", "Permissions:"),
];

async fn create_key(s: &WebState, viewer: &Viewer, form: &Submitted) -> PageResult {
    let team = viewer.team(&TeamId::from(form.one("team")))?.clone();
    let permissions = form.all("permissions");
    let typed = json!({ "team": team.id, "name": form.one("name"), "permissions": permissions, "expires": form.one("expires") });
    let problems = match day_bound(form.one("expires"), true, "The expiry date") {
        Err(message) => Problems::field("expires", message),
        Ok(end) => {
            // The last second of the day chosen, so that the key shows as expiring on that day.
            let expires_at = end.map(|t| t - chrono::Duration::seconds(1));
            // None ticked: all of the creator's permissions in the team.
            let chosen = (!permissions.is_empty()).then_some(permissions.as_slice());
            match s.app.engine.create_api_key(&viewer.scope, &team.id, form.one("name"), chosen, expires_at).await {
                Ok(created) => {
                    let new_key = json!({ "team": team.id, "name": created.key.name, "secret": created.secret });
                    return profile_page(s, viewer, json!({ "new_key": new_key }), StatusCode::OK).await;
                }
                Err(e) => Problems::engine(e, KEY_INPUTS)?,
            }
        }
    };
    profile_page(s, viewer, problems.overlay("key", typed), problems.status).await
}

async fn revoke_key(s: &WebState, viewer: &Viewer, form: &Submitted) -> PageResult {
    match s.app.engine.revoke_api_key(&viewer.scope, form.one("key")).await {
        Ok(key) => {
            let message = format!("The API key “{}” is revoked: it no longer works.", key.name);
            Ok(with_flash("/profile#api-keys", &message))
        }
        Err(e) => {
            let problems = Problems::engine(e, NO_INPUTS)?;
            profile_page(s, viewer, problems.overlay("keys", json!({})), problems.status).await
        }
    }
}

/// The page context of a TOTP set-up in progress: its secret and QR code, and the problems of a
/// refused code.
fn enrolment(secret: &str, uri: &str, problems: Option<&Problems>) -> Value {
    let mut overlay = match problems {
        Some(p) => p.overlay("totp_confirm", json!({})),
        None => json!({}),
    };
    overlay["enrolment"] = json!({ "secret": secret, "uri": uri, "qr": qr_svg(uri) });
    overlay
}

/// `text` as an inline SVG QR code (without the XML declaration, labelled as an image).
fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let svg = code.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).build();
    let start = svg.find("<svg")?;
    let label = r#"<svg role="img" aria-label="QR code of your two-factor secret" focusable="false""#;
    Some(svg[start..].replacen("<svg", label, 1))
}

async fn enrol_totp(State(s): State<WebState>, viewer: Viewer) -> PageResult {
    match s.app.engine.enrol_totp(&viewer.scope).await {
        Ok(e) => profile_page(&s, &viewer, enrolment(&e.secret, &e.provisioning_uri, None), StatusCode::OK).await,
        Err(e) => {
            let already_on = matches!(e, EngineError::InvalidTransition { .. });
            let problems = Problems::engine(e, NO_INPUTS)?;
            let mut overlay = problems.overlay("totp", json!({}));
            if already_on {
                overlay["totp"] = json!(true);
            }
            profile_page(&s, &viewer, overlay, problems.status).await
        }
    }
}

#[derive(Deserialize, Default)]
struct ConfirmForm {
    #[serde(default)]
    code: String,
    /// The set-up's secret and URI, posted back to show them again after a wrong code.
    #[serde(default)]
    secret: String,
    #[serde(default)]
    uri: String,
}

async fn confirm_totp(State(s): State<WebState>, viewer: Viewer, Form(f): Form<ConfirmForm>) -> PageResult {
    match s.app.engine.confirm_totp(&viewer.scope, f.code.trim()).await {
        Ok(codes) => {
            let overlay = json!({ "recovery_codes": codes, "totp": true });
            profile_page(&s, &viewer, overlay, StatusCode::OK).await
        }
        Err(e) => {
            let problems = Problems::engine(e, &[("code", "code", "That code")])?;
            // A wrong code: the same set-up again. No set-up in progress: start over.
            let overlay = if problems.general.is_empty() && f.uri.starts_with("otpauth://") {
                enrolment(&f.secret, &f.uri, Some(&problems))
            } else {
                problems.overlay("totp", json!({}))
            };
            profile_page(&s, &viewer, overlay, problems.status).await
        }
    }
}

#[derive(Deserialize, Default)]
struct PasswordForm {
    #[serde(default)]
    password: String,
}

async fn disable_totp(State(s): State<WebState>, viewer: Viewer, Form(f): Form<PasswordForm>) -> PageResult {
    match s.app.engine.disable_totp(&viewer.scope, &f.password).await {
        Ok(()) => Ok(with_flash("/profile", "Two-factor sign-in is off: signing in now needs only your password.")),
        Err(e) => {
            let problems = Problems::engine(e, &[("password", "totp_password", "That")])?;
            profile_page(&s, &viewer, problems.overlay("totp_off", json!({})), problems.status).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Team settings

/// The team settings page: its name, its members and the people who could join, and `overlay`
/// (a refused form) over it.
async fn settings_page(s: &WebState, viewer: &Viewer, team: &Team, overlay: Value, status: StatusCode) -> PageResult {
    let (members, users, roles) = tokio::join!(
        s.app.engine.members(&viewer.scope, &team.id),
        s.app.engine.users(&viewer.scope),
        s.app.engine.roles(&viewer.scope),
    );
    let (members, users, roles) = (members?, users?, roles?);
    let by_id: HashMap<&UserId, &User> = users.iter().map(|u| (&u.id, u)).collect();
    let mut rows: Vec<(String, Value)> = members
        .iter()
        .map(|m| {
            let user = by_id.get(&m.user_id);
            let name = user.map_or("A former member", |u| u.display_name.as_str());
            let row = json!({
                "id": m.user_id, "name": name, "email": user.map(|u| u.email.as_str()), "role": m.role,
                "since": m.created_at, "me": m.user_id == viewer.user.id,
            });
            (name.to_lowercase(), row)
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let candidates: Vec<Value> = users
        .iter()
        .filter(|u| u.deactivated_at.is_none() && !members.iter().any(|m| m.user_id == u.id))
        .map(|u| json!({ "id": u.id, "name": u.display_name, "email": u.email }))
        .collect();
    let roles: Vec<Value> = roles.iter().map(|r| json!({ "name": r.name, "builtin": r.builtin })).collect();
    let members: Vec<Value> = rows.into_iter().map(|(_, row)| row).collect();
    let org_admin = viewer.scope.org_role() != OrgRole::Member;
    let mut context = json!({ "members": members, "candidates": candidates, "roles": roles, "org_admin": org_admin });
    merge(&mut context, overlay);
    shown(viewer, Some(team), "settings", "team_settings.html", context, status)
}

async fn settings(State(s): State<WebState>, viewer: Viewer, Path(team): Path<TeamId>) -> PageResult {
    let t = viewer.team(&team)?.clone();
    settings_page(&s, &viewer, &t, json!({}), StatusCode::OK).await
}

#[derive(Deserialize, Default)]
struct SettingsForm {
    /// `rename`, `add`, `role`, `remove` or `delete` (the team).
    #[serde(default)]
    action: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    role: String,
}

const RENAME_INPUTS: Inputs = &[("name", "name", "The name")];
/// (The engine says "no role `x` in this organisation".)
const MEMBER_INPUTS: Inputs = &[("role", "role", "There is"), ("user_id", "user_id", "The person")];
/// No input to put a problem next to: every problem is the whole form's.
const NO_INPUTS: Inputs = &[];

/// The team settings' forms: answered with the settings page and a message (or, for someone
/// leaving the team, their home page), or the settings again showing what was wrong.
async fn settings_form(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(team): Path<TeamId>,
    Form(f): Form<SettingsForm>,
) -> PageResult {
    let t = viewer.team(&team)?.clone();
    let scope = &viewer.scope;
    let here = format!("/teams/{team}/settings");
    let user = UserId::from(f.user_id.trim());
    let leaving = &user == scope.user_id();
    let who = match f.action.as_str() {
        "add" | "role" | "remove" if !f.user_id.trim().is_empty() => person(&s, &viewer, &user).await?,
        _ => String::new(),
    };
    let (section, inputs, done) = match f.action.as_str() {
        "rename" => {
            let done = s.app.engine.rename_team(scope, &team, &f.name).await;
            ("rename", RENAME_INPUTS, done.map(|t| (here, format!("The team is now called “{}”.", t.name))))
        }
        "add" if f.user_id.trim().is_empty() => {
            let problems = Problems::field("user_id", "Choose the person to add.");
            let overlay = problems.overlay("add", json!({ "role": f.role }));
            return settings_page(&s, &viewer, &t, overlay, problems.status).await;
        }
        "add" => {
            let done = s.app.engine.add_member(scope, &team, &user, &f.role).await;
            ("add", MEMBER_INPUTS, done.map(|m| (here, format!("{who} joined the team as {}.", m.role))))
        }
        "role" => {
            let done = s.app.engine.change_member_role(scope, &team, &user, &f.role).await;
            ("members", NO_INPUTS, done.map(|m| (here, format!("{who}’s role is now {}.", m.role))))
        }
        "remove" if leaving => {
            // Straight to another of their teams (a redirect through `/` would lose the message).
            let next =
                viewer.teams.iter().find(|o| o.id != team).map_or("/profile".into(), |o| format!("/teams/{}", o.id));
            let done = s.app.engine.remove_member(scope, &team, &user).await;
            ("members", NO_INPUTS, done.map(|()| (next, format!("You left “{}”.", t.name))))
        }
        "delete" => {
            let next =
                viewer.teams.iter().find(|o| o.id != team).map_or("/profile".into(), |o| format!("/teams/{}", o.id));
            let done = s.app.engine.delete_team(scope, &team).await;
            ("delete", NO_INPUTS, done.map(|()| (next, format!("The team “{}” is deleted.", t.name))))
        }
        "remove" => {
            let done = s.app.engine.remove_member(scope, &team, &user).await;
            ("members", NO_INPUTS, done.map(|()| (here, format!("{who} is no longer a member of “{}”.", t.name))))
        }
        _ => {
            let mut problems = Problems::new();
            problems.general.push("This form is not known here: reload the page and try again.".into());
            problems.status = StatusCode::BAD_REQUEST;
            return settings_page(&s, &viewer, &t, problems.overlay("page", json!({})), problems.status).await;
        }
    };
    match done {
        Ok((to, message)) => Ok(with_flash(&to, &message)),
        Err(e) => {
            let mut problems = Problems::engine(e, inputs)?;
            if section == "members" {
                // The members table has one form per person: say whom the message is about.
                problems.general = problems.general.iter().map(|m| format!("{who}: {m}")).collect();
            }
            let typed = json!({ "name": f.name, "user_id": f.user_id, "role": f.role });
            settings_page(&s, &viewer, &t, problems.overlay(section, typed), problems.status).await
        }
    }
}

/// A person's display name, for messages about them.
async fn person(s: &WebState, viewer: &Viewer, user: &UserId) -> Result<String, PageError> {
    let users = s.app.engine.users(&viewer.scope).await?;
    Ok(users.into_iter().find(|u| &u.id == user).map_or_else(|| "That person".to_string(), |u| u.display_name))
}

// ---------------------------------------------------------------------------------------------
// Audit log

#[derive(Deserialize, Default)]
struct AuditQuery {
    /// An exact action name, like `task.complete`.
    #[serde(default)]
    action: String,
    /// A user id.
    #[serde(default)]
    actor: String,
    #[serde(default)]
    entity: String,
    /// Days, `YYYY-MM-DD` (both included).
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    /// Entries older than this id (the next page).
    #[serde(default)]
    before: String,
}

/// The team's audit log, newest first, filtered, a page at a time.
async fn audit(
    State(s): State<WebState>,
    viewer: Viewer,
    Path(team): Path<TeamId>,
    Query(q): Query<AuditQuery>,
) -> PageResult {
    let t = viewer.team(&team)?.clone();
    if !viewer.scope.can(&team, Permission::AuditRead) {
        let role = viewer.scope.grant(&team).map(|g| g.role.clone());
        return shown(
            &viewer,
            Some(&t),
            "audit",
            "audit.html",
            json!({ "denied": true, "role": role }),
            StatusCode::FORBIDDEN,
        );
    }
    let mut problems = Problems::new();
    let mut bound = |input: &str, end_of_day: bool, subject: &str| {
        day_bound(input_value(&q, input), end_of_day, subject).unwrap_or_else(|m| {
            problems.add(input, m);
            None
        })
    };
    let since = bound("since", false, "The first day");
    let until = bound("until", true, "The last day");
    let before = match q.before.trim() {
        "" => None,
        b => b
            .parse::<i64>()
            .map_err(|_| problems.general.push("This page link is broken: showing the newest entries.".into()))
            .ok(),
    };
    let text = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    let users = s.app.engine.users(&viewer.scope).await?;
    let entries = if problems.fields.is_empty() {
        let filter = AuditFilter {
            actor_id: text(&q.actor).map(UserId::from),
            entity_id: text(&q.entity),
            action: text(&q.action),
            since,
            until,
            team_id: Some(team.clone()),
            before,
            newest_first: true,
            limit: AUDIT_PAGE,
            ..Default::default()
        };
        s.app.engine.audit_entries(&viewer.scope, filter).await?
    } else {
        Vec::new()
    };
    let names = names(&users);
    let labels = entity_labels(&s, &viewer.scope, &entries).await?;
    let rows: Vec<Value> = entries.iter().map(|e| audit_row(e, &names, &labels)).collect();
    let query: String = ["action", "actor", "entity", "since", "until"]
        .iter()
        .map(|k| (k, input_value(&q, k).trim()))
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}&", url_encode(v)))
        .collect();
    let older = entries
        .last()
        .filter(|_| entries.len() as i64 >= AUDIT_PAGE)
        .map(|e| format!("/teams/{team}/audit?{query}before={}", e.id));
    let newest = before.map(|_| match query.trim_end_matches('&') {
        "" => format!("/teams/{team}/audit"),
        filters => format!("/teams/{team}/audit?{filters}"),
    });
    let people: Vec<Value> = users.iter().map(|u| json!({ "id": u.id, "name": u.display_name })).collect();
    let status = if problems.is_empty() { StatusCode::OK } else { problems.status };
    let mut context = json!({
        "entries": rows, "people": people, "older": older, "newest": newest, "filtered": !query.is_empty(),
        "filter": { "action": q.action, "actor": q.actor, "entity": q.entity, "since": q.since, "until": q.until },
    });
    merge(&mut context, problems.overlay("filters", json!({})));
    shown(&viewer, Some(&t), "audit", "audit.html", context, status)
}

/// One of the audit query's filter values, by input name.
fn input_value<'a>(q: &'a AuditQuery, input: &str) -> &'a str {
    match input {
        "action" => &q.action,
        "actor" => &q.actor,
        "entity" => &q.entity,
        "since" => &q.since,
        "until" => &q.until,
        _ => "",
    }
}

/// An audit entry as the log shows it.
fn audit_row(e: &AuditEntry, names: &HashMap<&UserId, &str>, labels: &HashMap<(String, String), String>) -> Value {
    let actor = e.actor_id.as_ref().map_or("Orgata", |a| names.get(a).copied().unwrap_or("A former member"));
    let about = UserId::from(e.entity_id.as_str());
    let person = matches!(e.entity.as_str(), "user" | "membership").then(|| names.get(&about).copied()).flatten();
    let detail = match &e.detail {
        Value::Null => None,
        Value::Object(map) if map.is_empty() => None,
        other => Some(other.to_string()),
    };
    json!({
        "id": e.id, "at": e.at, "actor": actor, "by_key": e.api_key_id.is_some(), "what": describe(&e.action),
        "action": e.action, "entity": e.entity.replace('_', " "), "entity_id": e.entity_id,
        "link": link(&e.entity, &e.entity_id), "person": person, "source": e.source, "detail": detail,
        "label": labels.get(&(e.entity.clone(), e.entity_id.clone())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_problems_land_next_to_their_inputs() {
        let e = EngineError::Validation(vec![
            orgata_engine::FieldProblem::new("organisation_slug", "must be 1-63 letters, digits and `-`"),
            orgata_engine::FieldProblem::new("/permissions/0", "unknown permission `x`"),
            orgata_engine::FieldProblem::new("", "text must not contain NUL"),
        ]);
        let p = Problems::engine(e, REGISTER_INPUTS).ok().unwrap_or_else(Problems::new);
        assert_eq!(
            p.fields.get("organisation_slug").map(String::as_str),
            Some("The URL name must be 1-63 letters, digits and hyphens.")
        );
        assert_eq!(
            p.general,
            vec!["Permissions: unknown permission x.".to_string(), "Text must not contain NUL.".to_string()]
        );
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        let p = Problems::engine(EngineError::Forbidden("role `viewer` lacks it".into()), NO_INPUTS)
            .ok()
            .unwrap_or_else(Problems::new);
        assert_eq!(
            (p.general, p.status),
            (vec!["You may not do this: role viewer lacks it.".to_string()], StatusCode::FORBIDDEN)
        );
        assert!(Problems::engine(EngineError::Unauthenticated("gone".into()), NO_INPUTS).is_err());
    }

    #[test]
    fn dates_bound_whole_days() {
        let start = day_bound("2024-02-28", false, "The day");
        assert_eq!(start.ok().flatten().map(|d| d.to_rfc3339()), Some("2024-02-28T00:00:00+00:00".into()));
        let end = day_bound(" 2024-02-28 ", true, "The day");
        assert_eq!(end.ok().flatten().map(|d| d.to_rfc3339()), Some("2024-02-29T00:00:00+00:00".into()));
        assert_eq!(day_bound("", true, "The day"), Ok(None));
        assert!(day_bound("2024-02-30", false, "The day").is_err_and(|m| m.starts_with("The day must be a date")));
        assert!(day_bound("+262142-12-31", true, "The day").is_err());
    }

    #[test]
    fn qr_codes_are_inline_svg() {
        let svg = qr_svg("otpauth://totp/Orgata:ada%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Orgata");
        assert!(svg.is_some_and(|s| s.starts_with("<svg role=\"img\"") && s.ends_with("</svg>")));
    }
}
