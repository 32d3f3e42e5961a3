//! Rendering pages: the template environment (templates compiled into the binary), the filters
//! the templates share, the signed-in page frame, and failures shown as pages in words.

use super::session::Viewer;
use crate::app::AppError;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use minijinja::value::Serde;
use minijinja::{Environment, Value as Jinja};
use orgata_engine::{EngineError, Permission, Team};
use orgata_reports::text;
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::LazyLock;

/// The templates, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("error.html", include_str!("../../templates/error.html")),
    ("sign_in.html", include_str!("../../templates/sign_in.html")),
    ("register.html", include_str!("../../templates/register.html")),
    ("profile.html", include_str!("../../templates/profile.html")),
    ("team_settings.html", include_str!("../../templates/team_settings.html")),
    ("dashboard.html", include_str!("../../templates/dashboard.html")),
    ("dashboard_live.html", include_str!("../../templates/dashboard_live.html")),
    ("dashboard_figures.html", include_str!("../../templates/dashboard_figures.html")),
    ("tasks.html", include_str!("../../templates/tasks.html")),
    ("task.html", include_str!("../../templates/task.html")),
    ("processes.html", include_str!("../../templates/processes.html")),
    ("process.html", include_str!("../../templates/process.html")),
    ("start.html", include_str!("../../templates/start.html")),
    ("playbooks.html", include_str!("../../templates/playbooks.html")),
    ("playbook.html", include_str!("../../templates/playbook.html")),
    ("playbook_edit.html", include_str!("../../templates/playbook_edit.html")),
    ("analytics.html", include_str!("../../templates/analytics.html")),
    ("analytics_report.html", include_str!("../../templates/analytics_report.html")),
    ("sql.html", include_str!("../../templates/sql.html")),
    ("audit.html", include_str!("../../templates/audit.html")),
    ("organisation.html", include_str!("../../templates/organisation.html")),
];

static ENVIRONMENT: LazyLock<Environment<'static>> = LazyLock::new(environment);

/// The environment: every template (a broken one is logged and left out, so its pages fail
/// with an error page rather than the process), HTML auto-escaping, and the shared filters.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    for (name, source) in TEMPLATES {
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(template = name, error = %e, "a template does not parse");
        }
    }
    env.add_filter("when", when);
    env.add_filter("day", day);
    env.add_filter("ago", ago);
    env.add_filter("duration", duration);
    env.add_filter("number", number);
    env.add_filter("percent", percent);
    env.add_filter("short", short);
    env.add_filter("fact", fact);
    env
}

/// Renders `template` with `context`.
pub fn render(template: &str, context: &Value) -> Result<String, PageError> {
    let t = ENVIRONMENT.get_template(template).map_err(|e| PageError::Template(format!("{e:#}")))?;
    t.render(Serde(context)).map_err(|e| PageError::Template(format!("{e:#}")))
}

/// A signed-in page: `context` plus the frame's own (who is signed in, their teams, the team
/// the page is about and what they may do there, the active section of the navigation).
pub fn page(viewer: &Viewer, team: Option<&Team>, active: &str, template: &str, mut context: Value) -> PageResult {
    if let Value::Object(map) = &mut context {
        map.insert("viewer".into(), viewer.context());
        map.insert("active".into(), json!(active));
        if let Some(team) = team {
            map.insert("team".into(), json!({ "id": team.id, "name": team.name }));
            map.insert("can".into(), permissions(viewer, team));
        }
        map.insert("flash".into(), json!(viewer.flash));
    }
    Ok(Html(render(template, &context)?).into_response())
}

/// What the viewer may do in `team`, as flags the templates test.
fn permissions(viewer: &Viewer, team: &Team) -> Value {
    let mut can = serde_json::Map::new();
    for p in Permission::ALL {
        can.insert(p.as_str().replace('.', "_"), json!(viewer.scope.can(&team.id, *p)));
    }
    Value::Object(can)
}

/// The outcome of a page handler.
pub type PageResult = Result<Response, PageError>;

/// A page that could not be shown, explained in words on an error page (never a bare status).
#[derive(Debug)]
pub enum PageError {
    /// An engine or API failure, with the status REST would give it.
    Api(AppError),
    /// A template failed to render (a bug: logged, and the page says so).
    Template(String),
}

impl From<EngineError> for PageError {
    fn from(e: EngineError) -> Self {
        PageError::Api(AppError::from(e))
    }
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError::Api(e)
    }
}

impl From<orgata_reports::ReportError> for PageError {
    fn from(e: orgata_reports::ReportError) -> Self {
        PageError::Api(AppError::from(e))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, heading, detail) = match self {
            PageError::Api(e) if e.status == StatusCode::UNAUTHORIZED => {
                return super::session::expired_redirect("/").into_response();
            }
            PageError::Api(e) => {
                let heading = match e.status {
                    StatusCode::NOT_FOUND => "Not found",
                    StatusCode::FORBIDDEN => "Not allowed",
                    StatusCode::CONFLICT | StatusCode::PRECONDITION_FAILED => "Someone else changed this first",
                    StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
                    s if s.is_server_error() => "Something went wrong on our side",
                    _ => "That did not work",
                };
                let mut detail = e.lines().join("\n");
                if e.status.is_server_error() {
                    tracing::error!(detail = %e.detail, "page failed");
                    detail = "The failure was logged. Try again in a moment.".to_string();
                }
                (e.status, heading, detail)
            }
            PageError::Template(e) => {
                tracing::error!(error = %e, "a page failed to render");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on our side",
                    "The failure was logged.".into(),
                )
            }
        };
        error_page(status, heading, &detail)
    }
}

/// The error page: a heading and what happened, one paragraph per line of `detail`.
pub fn error_page(status: StatusCode, heading: &str, detail: &str) -> Response {
    let context = json!({ "status": status.as_u16(), "heading": heading, "lines": detail.lines().collect::<Vec<_>>() });
    let body = render("error.html", &context).unwrap_or_else(|e| {
        tracing::error!(error = ?e, "the error page failed to render");
        format!("<!doctype html><title>{heading}</title><h1>{heading}</h1>")
    });
    (status, Html(body)).into_response()
}

/// A redirect after a successful form (303, so the browser follows with GET).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Serialises a record for a template.
pub fn value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn timestamp(v: &Jinja) -> Option<DateTime<Utc>> {
    let text = v.as_str()?;
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

/// `3 Mar 2024, 14:05` (UTC); empty for no time.
fn when(v: Jinja) -> String {
    timestamp(&v).map(|t| t.format("%-d %b %Y, %H:%M").to_string()).unwrap_or_default()
}

/// `3 Mar 2024`.
fn day(v: Jinja) -> String {
    timestamp(&v).map(|t| t.format("%-d %b %Y").to_string()).unwrap_or_default()
}

/// `5 min ago`, `in 2 h`; empty for no time.
fn ago(v: Jinja) -> String {
    let Some(t) = timestamp(&v) else { return String::new() };
    let secs = (Utc::now() - t).num_seconds();
    let span = text::duration(secs.unsigned_abs() as f64);
    if secs.abs() < 45 {
        "just now".into()
    } else if secs >= 0 {
        format!("{span} ago")
    } else {
        format!("in {span}")
    }
}

/// Seconds as `45s`, `12m 05s`, `3h 20m`, `4d 06h`.
fn duration(v: Jinja) -> String {
    match f64::try_from(v) {
        Ok(s) if s.is_finite() => text::duration(s),
        _ => String::new(),
    }
}

/// `12,345`, `12.3`, `3.25`.
fn number(v: Jinja) -> String {
    f64::try_from(v).map(text::number).unwrap_or_default()
}

/// A share (0.41) as `41%`.
fn percent(v: Jinja) -> String {
    match f64::try_from(v) {
        Ok(x) if x.is_finite() => text::whole_percent(x),
        _ => String::new(),
    }
}

/// A value entered in a form, as people read it: `yes`/`no` for booleans, text and numbers as
/// they are, lists as "a, b", anything else as JSON.
fn fact(v: Jinja) -> String {
    match v.kind() {
        minijinja::value::ValueKind::Bool => if v.is_true() { "yes" } else { "no" }.to_string(),
        minijinja::value::ValueKind::None | minijinja::value::ValueKind::Undefined => "—".to_string(),
        minijinja::value::ValueKind::Seq => {
            v.try_iter().map(|items| items.map(fact).collect::<Vec<_>>().join(", ")).unwrap_or_default()
        }
        minijinja::value::ValueKind::Map => serde_json::to_string(&v).unwrap_or_default(),
        _ => v.to_string(),
    }
}

/// The first 8 characters of an id.
fn short(v: Jinja) -> String {
    v.as_str().map(|s| s.chars().take(8).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        for (name, _) in TEMPLATES {
            assert!(ENVIRONMENT.get_template(name).is_ok(), "template {name} does not parse");
        }
    }

    #[test]
    fn every_template_renders_without_data() {
        for (name, _) in TEMPLATES {
            if let Err(e) = render(name, &json!({})) {
                panic!("template {name} fails to render: {e:?}");
            }
        }
    }

    #[test]
    fn the_error_page_shows_each_line() {
        let response = error_page(StatusCode::CONFLICT, "Someone else changed this first", "one\ntwo");
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let body = render("error.html", &json!({ "heading": "H", "lines": ["one", "two"] })).unwrap();
        assert!(
            body.contains("<h1 id=\"error-heading\">H</h1>")
                && body.contains("<p>one</p>")
                && body.contains("<p>two</p>")
        );
    }

    #[test]
    fn filters_format_numbers_and_spans() {
        assert_eq!(number(Jinja::from(1234567)), "1,234,567");
        assert_eq!(number(Jinja::from(12.34)), "12.3");
        assert_eq!(number(Jinja::from(-999)), "-999");
        assert_eq!(duration(Jinja::from(30.0)), "30s");
        assert_eq!(fact(Jinja::from(true)), "yes");
        assert_eq!(fact(Jinja::from(false)), "no");
        assert_eq!(fact(Jinja::from(vec![Jinja::from("a"), Jinja::from(2)])), "a, 2");
        assert_eq!(fact(Jinja::from("sev1")), "sev1");
        assert_eq!(duration(Jinja::from(5400.0)), "1h 30m");
        assert_eq!(duration(Jinja::from(3.0 * 86_400.0)), "3d 00h");
        assert_eq!(percent(Jinja::from(0.414)), "41%");
        assert_eq!(when(Jinja::from("2024-03-03T14:05:09Z")), "3 Mar 2024, 14:05");
        assert_eq!(when(Jinja::from("not a time")), "");
    }
}
