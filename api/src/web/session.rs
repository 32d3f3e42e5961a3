//! Browser sessions: signing in (with the TOTP step), signing out, and the middleware that turns
//! the session cookies into a [`Viewer`] — renewing an expired access token with the refresh
//! token, or sending the browser to the sign-in page with a message when the session is over.
//!
//! Cookies are `HttpOnly` and `SameSite=Lax`, and every form must come from our own origin
//! ([`same_origin_forms`]), so another site can neither read a session nor post with it.

use super::WebState;
use super::render::{PageResult, render, see_other};
use crate::app::AppError;
use axum::extract::{ConnectInfo, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use orgata_engine::{EngineError, Login, LoginOutcome, Scope, Session, Team, User};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const ACCESS_COOKIE: &str = "orgata_access";
const REFRESH_COOKIE: &str = "orgata_refresh";
const CHALLENGE_COOKIE: &str = "orgata_challenge";
const FLASH_COOKIE: &str = "orgata_flash";
/// How long a renewed session is handed to other requests that present the same (now used)
/// refresh token: a page and its live stream renewing at once must not look like token theft.
const RENEWAL_GRACE: Duration = Duration::from_secs(30);

/// Renewals in flight and just done, by refresh token.
#[derive(Default)]
pub(super) struct Sessions {
    renewed: tokio::sync::Mutex<HashMap<String, (Instant, Session)>>,
}

impl Sessions {
    /// Renews with `refresh_token` once, however many requests present it at the same time.
    async fn renew(
        &self,
        engine: &orgata_engine::Engine,
        refresh_token: &str,
        source: Option<&str>,
    ) -> Option<Session> {
        let mut renewed = self.renewed.lock().await;
        renewed.retain(|_, (at, _)| at.elapsed() < RENEWAL_GRACE);
        if let Some((_, session)) = renewed.get(refresh_token) {
            return Some(session.clone());
        }
        let session = engine.refresh(refresh_token, source).await.ok()?;
        renewed.insert(refresh_token.to_string(), (Instant::now(), session.clone()));
        Some(session)
    }
}

/// The signed-in person a page is for.
#[derive(Clone)]
pub struct Viewer {
    pub scope: Scope,
    pub user: User,
    /// Their teams, by name.
    pub teams: Vec<Team>,
    /// A message from the previous request (shown once).
    pub flash: Option<String>,
}

impl Viewer {
    /// The frame's view of the viewer.
    pub fn context(&self) -> Value {
        let teams: Vec<Value> = self.teams.iter().map(|t| json!({ "id": t.id, "name": t.name })).collect();
        json!({ "id": self.user.id, "name": self.user.display_name, "email": self.user.email, "teams": teams })
    }

    /// One of the viewer's teams; another is not found.
    pub fn team(&self, id: &orgata_engine::TeamId) -> Result<&Team, AppError> {
        self.teams.iter().find(|t| t.id == *id).ok_or_else(|| EngineError::not_found("team", id).into())
    }
}

impl FromRequestParts<WebState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &WebState) -> Result<Self, Response> {
        parts.extensions.get::<Viewer>().cloned().ok_or_else(|| expired_redirect(parts.uri.path()))
    }
}

/// The cookies of a request, by name.
fn cookies(headers: &HeaderMap) -> HashMap<String, String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// A `Set-Cookie` value: HTTP-only, same-site, for the whole site; `max_age` 0 deletes it.
fn cookie(name: &str, value: &str, max_age: i64) -> HeaderValue {
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("orgata_invalid=; Max-Age=0"))
}

/// Sets the session cookies of `session` on `response`.
fn set_session(response: &mut Response, session: &Session) {
    let now = chrono::Utc::now();
    let headers = response.headers_mut();
    let refresh_age = (session.refresh_expires_at - now).num_seconds().max(0);
    // The access cookie lives as long as the refresh token, so an expired access token is
    // still presented and renewed rather than looking like no session at all.
    headers.append(header::SET_COOKIE, cookie(ACCESS_COOKIE, &session.access_token, refresh_age));
    headers.append(header::SET_COOKIE, cookie(REFRESH_COOKIE, &session.refresh_token, refresh_age));
}

/// Clears the session cookies on `response`.
fn clear_session(response: &mut Response) {
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, cookie(ACCESS_COOKIE, "", 0));
    headers.append(header::SET_COOKIE, cookie(REFRESH_COOKIE, "", 0));
}

/// A redirect carrying a one-time message for the next page.
pub fn with_flash(to: &str, message: &str) -> Response {
    let mut response = see_other(to);
    let encoded = URL_SAFE_NO_PAD.encode(message.as_bytes());
    response.headers_mut().append(header::SET_COOKIE, cookie(FLASH_COOKIE, &encoded, 60));
    response
}

/// To the sign-in page, saying the session is over, and back to `next` afterwards.
pub fn expired_redirect(next: &str) -> Response {
    let mut response = with_flash(&sign_in_link(next), "Your session has ended. Sign in again to continue.");
    clear_session(&mut response);
    response
}

fn sign_in_link(next: &str) -> String {
    if next == "/" || !is_local_path(next) { "/sign-in".into() } else { format!("/sign-in?next={}", url_encode(next)) }
}

/// Only our own paths are followed after sign-in (never another site): an absolute-path
/// reference (RFC 3986: one `/`, then no `/`), which always resolves on this site, made of
/// visible ASCII only — browsers drop tabs and newlines (`/\t/evil.example` would become
/// `//evil.example`) and read a backslash as `/`.
fn is_local_path(path: &str) -> bool {
    path.starts_with('/') && !path.starts_with("//") && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
}

/// Percent-encodes a query value.
pub fn url_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The path (and query) of the page a form was sent from.
fn referer_path(headers: &HeaderMap) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let after_scheme = referer.split_once("://")?.1;
    let path = &after_scheme[after_scheme.find('/')?..];
    is_local_path(path).then(|| path.to_string())
}

fn client_address(request: &Request) -> Option<String> {
    request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(a)| a.ip().to_string())
}

/// The viewer of a signed-in request, renewing an expired access token once; `None` when the
/// session is over.
async fn resolve(
    state: &WebState,
    jar: &HashMap<String, String>,
    source: Option<&str>,
) -> Option<(Scope, Option<Session>)> {
    if let Some(access) = jar.get(ACCESS_COOKIE).filter(|t| !t.is_empty()) {
        match state.app.engine.authenticate(access).await {
            Ok(scope) => return Some((scope, None)),
            Err(EngineError::Unauthenticated(_)) => {}
            Err(e) => {
                tracing::warn!(error = %e, "session check failed");
                return None;
            }
        }
    }
    let refresh = jar.get(REFRESH_COOKIE).filter(|t| !t.is_empty())?;
    let session = state.sessions.renew(&state.app.engine, refresh, source).await?;
    let scope = state.app.engine.authenticate(&session.access_token).await.ok()?;
    Some((scope, Some(session)))
}

/// Middleware of the signed-in pages: puts the [`Viewer`] in the request, renews its session
/// when the access token has expired, and sends anyone without a session to the sign-in page.
pub async fn require(State(state): State<WebState>, mut request: Request, next: Next) -> Response {
    let jar = cookies(request.headers());
    let source = client_address(&request);
    // After signing in, a page is shown again; a form's target (which only takes POST) is not.
    let path_and_query = if request.method() == Method::GET {
        request.uri().path_and_query().map_or("/", |p| p.as_str()).to_string()
    } else {
        referer_path(request.headers()).unwrap_or_else(|| "/".into())
    };
    let Some((scope, renewed)) = resolve(&state, &jar, source.as_deref()).await else {
        return if jar.contains_key(ACCESS_COOKIE) || jar.contains_key(REFRESH_COOKIE) {
            expired_redirect(&path_and_query)
        } else {
            see_other(&sign_in_link(&path_and_query))
        };
    };
    let scope = match source {
        Some(a) => scope.with_source(a),
        None => scope,
    };
    let viewer = match viewer(&state, scope, request.extensions().get::<Flash>()).await {
        Ok(v) => v,
        Err(e) => return super::render::PageError::from(e).into_response(),
    };
    request.extensions_mut().insert(viewer);
    let mut response = next.run(request).await;
    if let Some(session) = renewed {
        set_session(&mut response, &session);
    }
    response
}

async fn viewer(state: &WebState, scope: Scope, flash: Option<&Flash>) -> Result<Viewer, EngineError> {
    let user = state.app.engine.me(&scope).await?;
    let mut teams = state.app.engine.teams(&scope).await?;
    teams.retain(|t| scope.grant(&t.id).is_some());
    teams.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Viewer { scope, user, teams, flash: flash.map(|f| f.0.clone()) })
}

/// The one-time message a redirect left for this request.
#[derive(Clone)]
pub struct Flash(pub String);

/// Middleware: takes the flash cookie into the request (as [`Flash`]) and deletes it.
pub async fn flash(mut request: Request, next: Next) -> Response {
    let message = cookies(request.headers())
        .get(FLASH_COOKIE)
        .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|m| !m.is_empty());
    let Some(message) = message else { return next.run(request).await };
    request.extensions_mut().insert(Flash(message));
    let mut response = next.run(request).await;
    // A redirect may carry a new message; only clear the old one otherwise.
    let sets_flash = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.starts_with(&format!("{FLASH_COOKIE}="))));
    if !sets_flash {
        response.headers_mut().append(header::SET_COOKIE, cookie(FLASH_COOKIE, "", 0));
    }
    response
}

/// Middleware: a form (any method but GET and HEAD) must come from one of our own pages — its
/// `Origin` (or, without one, its `Referer`) names the host it was sent to.
pub async fn same_origin_forms(request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let sender = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split("://").nth(1).unwrap_or_default().split('/').next().unwrap_or_default().to_string());
    match sender {
        Some(from) if from != host => super::render::error_page(
            StatusCode::FORBIDDEN,
            "Not allowed",
            "This form was sent from another site, so it was not accepted. Open the page in Orgata and send it from there.",
        ),
        _ => next.run(request).await,
    }
}

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-in/code", get(code_page).post(code))
        .route("/sign-out", axum::routing::post(sign_out))
}

#[derive(Deserialize, Default)]
struct NextQuery {
    next: Option<String>,
}

/// Where to go after signing in: a local path, or home.
fn destination(next: Option<&str>) -> String {
    next.filter(|n| is_local_path(n)).unwrap_or("/").to_string()
}

fn sign_in_context(flash: Option<&Flash>, next: Option<&str>, error: Option<String>, form: &SignInForm) -> Value {
    json!({
        "flash": flash.map(|f| &f.0), "next": destination(next), "error": error,
        "organisation": form.organisation, "email": form.email,
    })
}

async fn sign_in_page(flash: Option<axum::Extension<Flash>>, Query(q): Query<NextQuery>) -> PageResult {
    let flash = flash.map(|f| f.0);
    let context = sign_in_context(flash.as_ref(), q.next.as_deref(), None, &SignInForm::default());
    Ok(Html(render("sign_in.html", &context)?).into_response())
}

#[derive(Deserialize, Default)]
struct SignInForm {
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn sign_in(
    State(s): State<WebState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Form(f): Form<SignInForm>,
) -> PageResult {
    let login = Login {
        organisation: f.organisation.clone(),
        email: f.email.clone(),
        password: f.password.clone(),
        code: None,
        source: Some(addr.ip().to_string()),
    };
    let next = destination(f.next.as_deref());
    match s.app.login(login).await {
        Ok(LoginOutcome::SignedIn(session)) => {
            let mut response = see_other(&next);
            set_session(&mut response, &session);
            Ok(response)
        }
        Ok(LoginOutcome::SecondFactorRequired { challenge, .. }) => {
            let mut response = see_other(&format!("/sign-in/code?next={}", url_encode(&next)));
            response.headers_mut().append(header::SET_COOKIE, cookie(CHALLENGE_COOKIE, &challenge, 300));
            Ok(response)
        }
        Err(e) => {
            let message = sign_in_failure(&e);
            let context = sign_in_context(None, Some(&next), Some(message), &f);
            let status = AppError::from(e).status;
            Ok((status, Html(render("sign_in.html", &context)?)).into_response())
        }
    }
}

/// A failed sign-in in words.
fn sign_in_failure(e: &EngineError) -> String {
    match e {
        EngineError::Throttled { retry_after_secs, locked_until: Some(_) } => format!(
            "Too many failed attempts: sign-in is locked for now. Try again in {} minutes.",
            (retry_after_secs + 59) / 60
        ),
        EngineError::Throttled { retry_after_secs, .. } => {
            format!("Too many failed attempts. Wait {retry_after_secs} seconds and try again.")
        }
        EngineError::Unauthenticated(why) if why.contains("code") => "That code is wrong or was already used.".into(),
        EngineError::Unauthenticated(_) => "The organisation, email or password is wrong.".into(),
        other => format!("Signing in failed: {other}"),
    }
}

async fn code_page(headers: HeaderMap, Query(q): Query<NextQuery>) -> PageResult {
    if !cookies(&headers).contains_key(CHALLENGE_COOKIE) {
        return Ok(with_flash("/sign-in", "Sign in with your password first."));
    }
    let context = json!({ "second_factor": true, "next": destination(q.next.as_deref()) });
    Ok(Html(render("sign_in.html", &context)?).into_response())
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    next: Option<String>,
}

async fn code(
    State(s): State<WebState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> PageResult {
    let next = destination(f.next.as_deref());
    let Some(challenge) = cookies(&headers).remove(CHALLENGE_COOKIE) else {
        return Ok(with_flash("/sign-in", "Sign in with your password first."));
    };
    match s.app.login_second_factor(&challenge, f.code.trim(), Some(&addr.ip().to_string())).await {
        Ok(session) => {
            let mut response = see_other(&next);
            set_session(&mut response, &session);
            response.headers_mut().append(header::SET_COOKIE, cookie(CHALLENGE_COOKIE, "", 0));
            Ok(response)
        }
        Err(e @ EngineError::Unauthenticated(_)) if !e.to_string().contains("code") => {
            // The challenge expired: start over.
            Ok(with_flash("/sign-in", "The sign-in took too long. Enter your password again."))
        }
        Err(e) => {
            let context = json!({ "second_factor": true, "next": next, "error": sign_in_failure(&e) });
            let status = AppError::from(e).status;
            Ok((status, Html(render("sign_in.html", &context)?)).into_response())
        }
    }
}

async fn sign_out(State(s): State<WebState>, headers: HeaderMap) -> Response {
    let jar = cookies(&headers);
    if let Some(access) = jar.get(ACCESS_COOKIE)
        && let Ok(scope) = s.app.engine.authenticate(access).await
        && let Err(e) = s.app.engine.logout(&scope).await
    {
        tracing::warn!(error = %e, "sign-out failed");
    }
    let mut response = with_flash("/sign-in", "You are signed out.");
    clear_session(&mut response);
    response
}

/// Signs a new registration's owner in and sends them home.
pub async fn signed_in_redirect(state: &WebState, login: Login, to: &str) -> Response {
    match state.app.login(login).await {
        Ok(LoginOutcome::SignedIn(session)) => {
            let mut response = see_other(to);
            set_session(&mut response, &session);
            response
        }
        _ => with_flash("/sign-in", "Your account is ready. Sign in to continue."),
    }
}

/// The first page after signing in: the dashboard of the viewer's first team.
/// The team whose dashboard the viewer last opened (kept in a cookie), if it is still theirs;
/// else their first team by name.
pub fn home(viewer: &Viewer, headers: &HeaderMap) -> Response {
    let last = cookies(headers).remove(LAST_TEAM_COOKIE);
    let team = last.and_then(|id| viewer.teams.iter().find(|t| t.id.as_str() == id)).or(viewer.teams.first());
    match team {
        Some(team) => Redirect::to(&format!("/teams/{}", team.id)).into_response(),
        None => see_other("/profile"),
    }
}

/// The cookie naming the team whose dashboard the viewer opened last.
const LAST_TEAM_COOKIE: &str = "orgata_team";

/// Remembers `team` as the one the viewer works in, for [`home`] (a year).
pub fn remember_team(response: &mut Response, team: &orgata_engine::TeamId) {
    response.headers_mut().append(header::SET_COOKIE, cookie(LAST_TEAM_COOKIE, team.as_str(), 365 * 86_400));
}

#[cfg(test)]
mod tests {
    use super::is_local_path;

    #[test]
    fn only_this_sites_paths_are_followed() {
        for path in ["/", "/teams/a/tasks?status=open", "/a/%2F%2Fb", "/.//x", "/@evil.example"] {
            assert!(is_local_path(path), "{path}");
        }
        for path in [
            "",
            "evil.example",
            "//evil.example",
            "/\tevil",
            "/\t/evil.example/",
            "/\\evil.example",
            "\\/evil",
            "/\n",
            "/\u{7f}",
            "/é",
            "/ x",
            "https://evil.example/",
            "javascript:alert(1)",
        ] {
            assert!(!is_local_path(path), "{path:?}");
        }
    }
}
