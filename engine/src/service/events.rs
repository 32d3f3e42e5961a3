//! What changes in a team, as a feed of typed events read from the change log (the REST SSE stream,
//! the live dashboard and agents all follow it).

use super::Engine;
use crate::error::{EngineError, Result};
use crate::ids::TeamId;
use crate::model::{ChangeEvent, LogPosition};
use crate::store::Scope;
use serde::Serialize;
use serde_json::Value;

/// Change-log events read per call.
const BATCH: i64 = 500;

/// One thing that happened in a team.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamEvent {
    /// Where it is in the change log: resume after it.
    pub position: LogPosition,
    /// `task.created`, `task.assigned`, `task.started`, `task.completed`, `task.rejected`,
    /// `task.skipped`, `task.cancelled`, `instance.started`, `instance.completed`,
    /// `instance.rejected`, `instance.cancelled`, `comment.created`, `playbook.created`,
    /// `playbook.version_created`, `member.added`, `member.changed`, `member.removed`.
    pub kind: String,
    /// The record's new state.
    pub data: Value,
}

impl Engine {
    /// The position a new follower of the feed starts from: only what commits later.
    pub async fn events_head(&self) -> Result<LogPosition> {
        self.store.log_head().await
    }

    /// The team's events after `after`, up to the position returned (where to continue: past
    /// events of other teams too, so a quiet team does not re-read them).
    pub async fn team_events(
        &self,
        scope: &Scope,
        team: &TeamId,
        after: LogPosition,
    ) -> Result<(Vec<TeamEvent>, LogPosition)> {
        scope.grant(team).ok_or_else(|| EngineError::not_found("team", team))?;
        let changes = self.store.read_changes(after, BATCH).await?;
        let next = changes.last().map_or(after, |c| c.position);
        let events = changes.into_iter().filter(|c| c.team_id.as_ref() == Some(team)).filter_map(classify).collect();
        Ok((events, next))
    }
}

/// The event a change stands for, if it is one followers care about (instances' internal revision
/// bumps, for one, are not).
fn classify(c: ChangeEvent) -> Option<TeamEvent> {
    let status = c.data.get("status").and_then(Value::as_str).unwrap_or_default();
    let kind = match (c.entity.as_str(), c.op.as_str(), status) {
        ("task", "insert", "skipped") => "task.skipped".to_string(),
        ("task", "insert", _) => "task.created".to_string(),
        ("task", "update", "open") => return None,
        ("task", "update", s) => format!("task.{s}"),
        ("instance", "insert", _) => "instance.started".to_string(),
        ("instance", "update", "running") => return None,
        ("instance", "update", s) => format!("instance.{s}"),
        ("comment", "insert", _) => "comment.created".to_string(),
        ("playbook", "insert", _) => "playbook.created".to_string(),
        ("playbook_version", "insert", _) => "playbook.version_created".to_string(),
        ("membership", "insert", _) => "member.added".to_string(),
        ("membership", "update", _) => "member.changed".to_string(),
        ("membership", "delete", _) => "member.removed".to_string(),
        _ => return None,
    };
    Some(TeamEvent { position: c.position, kind, data: c.data })
}
