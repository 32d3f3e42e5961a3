//! `GET /v1/teams/{team}/events`: a Server-Sent Events stream of what changes in a team, resumable
//! with `Last-Event-ID` (each event's id is its change-log position, `XID:SEQ`).

use super::error::ApiResult;
use super::extract::Caller;
use crate::app::events::team_stream;
use crate::app::{App, AppError, visible};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, Sse};
use futures::Stream;
use orgata_engine::{LogPosition, TeamId};
use std::convert::Infallible;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// One event of the stream, as the OpenAPI document declares it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct StreamEvent {
    /// The change-log position (`XID:SEQ`); absent on an `error` event.
    #[schema(pattern = "^[0-9]{1,18}:[0-9]{1,18}$")]
    id: Option<String>,
    /// What happened, like `task.completed`; `error` when reading failed (reconnect with the last id).
    event: String,
    /// The record's new state as JSON; for `error`, what went wrong.
    data: String,
}

/// `Last-Event-ID`, as the OpenAPI document declares it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
struct LastEventIdHeader {
    /// Resume after this event: the `id` of the last event received (`XID:SEQ`).
    #[param(rename = "Last-Event-ID", value_type = String, required = false, pattern = "^[0-9]{1,18}:[0-9]{1,18}$")]
    #[allow(dead_code)]
    last_event_id: Option<String>,
}

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(events))
}

#[utoipa::path(get, path = "/v1/teams/{team}/events",
    params(("team" = String, Path, description = "A team id"),
        LastEventIdHeader),
    responses((status = 200, description = "Server-Sent Events", body = StreamEvent, content_type = "text/event-stream")))]
async fn events(
    State(s): State<App>,
    Caller(c): Caller,
    Path(team): Path<TeamId>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    visible(&c, &team)?;
    let start = match headers.get("last-event-id").and_then(|v| v.to_str().ok()) {
        Some(id) => id
            .parse::<LogPosition>()
            .map_err(|e| AppError::invalid_field("Last-Event-ID", format!("`{id}` is not an event id of ours: {e}")))?,
        None => s.engine.events_head().await?,
    };
    Ok(team_stream(s.engine.clone(), c, team, start))
}
