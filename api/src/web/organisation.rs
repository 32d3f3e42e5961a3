//! The organisation's page: how it keeps time (time zone, working days and hours, week start) and
//! its people, whom owners and admins remove from it. Everyone sees the page; only owners and
//! admins change it.

use super::WebState;
use super::render::{PageResult, page};
use super::session::{Viewer, with_flash};
use super::view::failure;
use crate::app::AppError;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use orgata_engine::{EngineError, OrgRole, OrganisationSettings, UserId, Weekday};
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub fn routes() -> Router<WebState> {
    Router::new().route("/organisation", get(show).post(change))
}

/// The days of the week, in order, with their names on the page.
const DAYS: [(Weekday, &str); 7] = [
    (Weekday::Monday, "Monday"),
    (Weekday::Tuesday, "Tuesday"),
    (Weekday::Wednesday, "Wednesday"),
    (Weekday::Thursday, "Thursday"),
    (Weekday::Friday, "Friday"),
    (Weekday::Saturday, "Saturday"),
    (Weekday::Sunday, "Sunday"),
];

async fn show(State(s): State<WebState>, viewer: Viewer) -> PageResult {
    let settings = s.app.engine.organisation_settings(&viewer.scope).await?;
    organisation_page(&s, &viewer, &settings, Refusal::default()).await
}

/// What was wrong with a form: messages by input, and for the whole form.
#[derive(Default)]
struct Refusal {
    fields: BTreeMap<String, String>,
    general: Vec<String>,
    status: Option<StatusCode>,
}

impl Refusal {
    fn of(e: EngineError) -> Self {
        let mut refusal = Refusal::default();
        match &e {
            EngineError::Validation(problems) => {
                for p in problems {
                    let subject = match p.field.as_str() {
                        "time_zone" => "The time zone",
                        "working_days" => "The working days",
                        "workday_start" => "The start of the working day",
                        "workday_end" => "The end of the working day",
                        _ => "This",
                    };
                    refusal.fields.insert(p.field.clone(), format!("{subject} {}.", p.message));
                }
            }
            other => refusal.general.push(failure(other)),
        }
        refusal.status = Some(AppError::from(e).status);
        refusal
    }
}

async fn organisation_page(
    s: &WebState,
    viewer: &Viewer,
    settings: &OrganisationSettings,
    refusal: Refusal,
) -> PageResult {
    let users = s.app.engine.users(&viewer.scope).await?;
    let people: Vec<Value> = users
        .iter()
        .map(|u| {
            json!({
                "id": u.id, "name": u.display_name, "email": u.email, "role": u.org_role,
                "removed": u.deactivated_at, "me": u.id == viewer.user.id,
            })
        })
        .collect();
    let days: Vec<Value> = DAYS
        .iter()
        .map(|(day, name)| json!({ "value": day, "name": name, "working": settings.working_days.contains(day) }))
        .collect();
    let context = json!({
        "settings": settings, "days": days, "people": people,
        "admin": viewer.scope.org_role() != OrgRole::Member,
        "problems": { "fields": refusal.fields, "general": refusal.general },
    });
    let mut response = page(viewer, None, "organisation", "organisation.html", context)?;
    *response.status_mut() = refusal.status.unwrap_or(StatusCode::OK);
    Ok(response)
}

/// The page's forms: `action` is `settings` (the time fields) or `remove` (a person, by
/// `user_id`). Read by hand: a checked box per working day repeats `working_days`, which serde's
/// form decoding does not gather into a list.
#[derive(Default)]
struct OrganisationForm {
    action: String,
    user_id: String,
    settings: OrganisationSettings,
    unknown_day: Option<String>,
}

impl OrganisationForm {
    fn parse(body: &[u8]) -> Self {
        let mut f = OrganisationForm {
            settings: OrganisationSettings { working_days: Vec::new(), ..Default::default() },
            ..Default::default()
        };
        for (key, value) in form_urlencoded::parse(body) {
            match key.as_ref() {
                "action" => f.action = value.into_owned(),
                "user_id" => f.user_id = value.into_owned(),
                "time_zone" => f.settings.time_zone = value.into_owned(),
                "workday_start" => f.settings.workday_start = value.into_owned(),
                "workday_end" => f.settings.workday_end = value.into_owned(),
                "working_days" | "week_start" => match day(&value) {
                    Some(d) if key == "week_start" => f.settings.week_start = d,
                    Some(d) => f.settings.working_days.push(d),
                    None => f.unknown_day = Some(value.into_owned()),
                },
                _ => {}
            }
        }
        f
    }
}

/// A day by its form value (`monday` …).
fn day(value: &str) -> Option<Weekday> {
    serde_json::from_value(json!(value)).ok()
}

async fn change(State(s): State<WebState>, viewer: Viewer, body: axum::body::Bytes) -> PageResult {
    let f = OrganisationForm::parse(&body);
    let engine = &s.app.engine;
    if f.action == "remove" {
        let user = UserId::from(f.user_id.trim());
        return match engine.remove_user(&viewer.scope, &user).await {
            Ok(u) => Ok(with_flash("/organisation", &format!("{} is no longer in the organisation.", u.display_name))),
            Err(e) => {
                let settings = engine.organisation_settings(&viewer.scope).await?;
                organisation_page(&s, &viewer, &settings, Refusal::of(e)).await
            }
        };
    }
    if let Some(unknown) = f.unknown_day {
        let refusal = Refusal {
            general: vec![format!("“{unknown}” is not a day of the week: reload the page and try again.")],
            status: Some(StatusCode::UNPROCESSABLE_ENTITY),
            ..Refusal::default()
        };
        return organisation_page(&s, &viewer, &f.settings, refusal).await;
    }
    match engine.update_organisation_settings(&viewer.scope, f.settings.clone()).await {
        Ok(_) => Ok(with_flash("/organisation", "The organisation's settings are saved.")),
        Err(e) => organisation_page(&s, &viewer, &f.settings, Refusal::of(e)).await,
    }
}
