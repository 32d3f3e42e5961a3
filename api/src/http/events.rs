//! `GET /v1/teams/{team}/events`: a Server-Sent Events stream of what changes in a team, resumable
//! with `Last-Event-ID` (each event's id is its change-log position, `XID:SEQ`).

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::{Caller, visible};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures::Stream;
use orgata_engine::{LogPosition, Scope, TeamEvent, TeamId};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// How often a follower looks for new events when there were none.
const POLL: Duration = Duration::from_millis(250);

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

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/teams/{team}/events", get(events))
}

#[utoipa::path(get, path = "/v1/teams/{team}/events",
    params(("team" = String, Path, description = "A team id"),
        LastEventIdHeader),
    responses((status = 200, description = "Server-Sent Events", body = StreamEvent, content_type = "text/event-stream"),
        (status = "default", description = "A problem (RFC 9457)", body = super::error::Problem, content_type = "application/problem+json")))]
async fn events(
    State(s): State<AppState>,
    Caller(c): Caller,
    Path(team): Path<TeamId>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    visible(&c, &team)?;
    let start = match headers.get("last-event-id").and_then(|v| v.to_str().ok()) {
        Some(id) => id
            .parse::<LogPosition>()
            .map_err(|e| ApiError::invalid_field("Last-Event-ID", format!("`{id}` is not an event id of ours: {e}")))?,
        None => s.engine.events_head().await?,
    };
    Ok(team_stream(s.engine.clone(), c, team, start))
}

/// The server-sent events of `team` after `start`, as `scope` may see them: how REST and the
/// UI's live pages follow a team.
pub fn team_stream(
    engine: Arc<orgata_engine::Engine>,
    scope: Scope,
    team: TeamId,
    start: LogPosition,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let follower = Follower { engine, scope, team, position: start, ready: VecDeque::new() };
    let stream = futures::stream::unfold(follower, |mut f| async move {
        let event = f.next().await;
        Some((Ok(event), f))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// One client's place in the feed.
struct Follower {
    engine: Arc<orgata_engine::Engine>,
    scope: Scope,
    team: TeamId,
    position: LogPosition,
    ready: VecDeque<TeamEvent>,
}

impl Follower {
    /// The next event, waiting for one; a failure to read is sent as an `error` event (the
    /// client reconnects with its last id).
    async fn next(&mut self) -> Event {
        loop {
            if let Some(e) = self.ready.pop_front() {
                return Event::default()
                    .id(e.position.to_string())
                    .event(e.kind)
                    .json_data(&e.data)
                    .unwrap_or_else(|_| Event::default());
            }
            match self.engine.team_events(&self.scope, &self.team, self.position).await {
                Ok((events, next)) => {
                    let idle = events.is_empty() && next == self.position;
                    self.position = next;
                    self.ready.extend(events);
                    if idle {
                        tokio::time::sleep(POLL).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "event stream read failed");
                    tokio::time::sleep(POLL).await;
                    return Event::default().event("error").data(e.to_string());
                }
            }
        }
    }
}
