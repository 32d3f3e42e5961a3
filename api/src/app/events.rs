//! Following a team: the server-sent events of what changes in it, as a caller may see them —
//! how REST's `/v1/teams/{team}/events` and the web UI's live pages follow a team.

use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use orgata_engine::{LogPosition, Scope, TeamEvent, TeamId};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// How often a follower looks for new events when there were none.
const POLL: Duration = Duration::from_millis(250);

/// The server-sent events of `team` after `start`, as `scope` may see them.
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
