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

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/teams/{team}/events", get(events))
}

#[utoipa::path(get, path = "/v1/teams/{team}/events",
    params(("team" = String, Path, description = "A team id"),
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event (XID:SEQ)")),
    responses((status = 200, description = "Server-Sent Events", body = String, content_type = "text/event-stream"),
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
            .map_err(|e| ApiError::bad_request(format!("`Last-Event-ID: {id}` is not an event id of ours: {e}")))?,
        None => s.engine.events_head().await?,
    };
    let follower = Follower { engine: s.engine.clone(), scope: c, team, position: start, ready: VecDeque::new() };
    let stream = futures::stream::unfold(follower, |mut f| async move {
        let event = f.next().await;
        Some((Ok(event), f))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
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
