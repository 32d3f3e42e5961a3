//! The organisation's page: how it keeps time (time zone, working days and hours, week start) and
//! its people, whom owners and admins remove from it. Everyone sees the page; only owners and
//! admins change it.

use super::WebState;
use super::problems::{Inputs, Problems};
use super::render::{PageResult, page};
use super::session::{Viewer, with_flash};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use orgata_engine::{OrgRole, OrganisationSettings, UserId, Weekday};
use serde_json::{Value, json};

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
    organisation_page(&s, &viewer, &settings, Problems::new()).await
}

/// The settings form's inputs, named as the engine names its fields.
const SETTINGS_INPUTS: Inputs = &[
    ("time_zone", "time_zone", "The time zone"),
    ("working_days", "working_days", "The working days"),
    ("workday_start", "workday_start", "The start of the working day"),
    ("workday_end", "workday_end", "The end of the working day"),
];

async fn organisation_page(
    s: &WebState,
    viewer: &Viewer,
    settings: &OrganisationSettings,
    problems: Problems,
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
        "problems": { "fields": problems.fields, "general": problems.general },
    });
    let mut response = page(viewer, None, "organisation", "organisation.html", context)?;
    if !problems.fields.is_empty() || !problems.general.is_empty() {
        *response.status_mut() = problems.status;
    }
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
                let problems = Problems::engine(e, &[])?;
                let settings = engine.organisation_settings(&viewer.scope).await?;
                organisation_page(&s, &viewer, &settings, problems).await
            }
        };
    }
    if let Some(unknown) = f.unknown_day {
        let mut problems = Problems::new();
        problems.general.push(format!("“{unknown}” is not a day of the week: reload the page and try again."));
        return organisation_page(&s, &viewer, &f.settings, problems).await;
    }
    match engine.update_organisation_settings(&viewer.scope, f.settings.clone()).await {
        Ok(_) => Ok(with_flash("/organisation", "The organisation's settings are saved.")),
        Err(e) => organisation_page(&s, &viewer, &f.settings, Problems::engine(e, SETTINGS_INPUTS)?).await,
    }
}
