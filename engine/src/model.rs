//! The engine's records, as stored and as carried by change events.

use crate::access::{OrgRole, Permissions};
use crate::definition::{Definition, StepKind};
use crate::ids::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Implements the text form of a status enum (`as_str` and `TryFrom<String>`) from its serde names.
macro_rules! text_enum {
    ($name:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $name {
            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
        }
        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                match s.as_str() {
                    $($text => Ok($name::$variant),)*
                    _ => Err(format!("unknown {} `{s}`", stringify!($name))),
                }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// An organisation: the tenant boundary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Organisation {
    pub id: OrgId,
    pub name: String,
    /// Unique, URL-safe name.
    pub slug: String,
    pub created_at: DateTime<Utc>,
}

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// How an organisation keeps time: what reports, due dates and schedules count in. Every field has
/// a default (UTC, Monday to Friday 09:00–17:00, weeks starting on Monday), so an organisation that
/// never set them has all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganisationSettings {
    /// An IANA time zone, like `Europe/Berlin`.
    pub time_zone: String,
    /// The days people work, in week order.
    pub working_days: Vec<Weekday>,
    /// When a working day starts, `HH:MM` in the organisation's time zone.
    pub workday_start: String,
    /// When a working day ends, `HH:MM`, after its start.
    pub workday_end: String,
    /// The day weeks start on in calendars and weekly figures.
    pub week_start: Weekday,
}

impl Default for OrganisationSettings {
    fn default() -> Self {
        use Weekday::*;
        Self {
            time_zone: "UTC".into(),
            working_days: vec![Monday, Tuesday, Wednesday, Thursday, Friday],
            workday_start: "09:00".into(),
            workday_end: "17:00".into(),
            week_start: Monday,
        }
    }
}

/// A person (or service account) of one organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: UserId,
    pub org_id: OrgId,
    /// Unique within the organisation, stored lower-case.
    pub email: String,
    pub display_name: String,
    /// The user's standing in the organisation.
    #[sqlx(try_from = "String")]
    pub org_role: OrgRole,
    pub created_at: DateTime<Utc>,
    /// When the user was removed from the organisation: they can no longer sign in, and their
    /// name stays on what they did.
    #[serde(default)]
    pub deactivated_at: Option<DateTime<Utc>>,
}

/// A custom role of an organisation: a named set of team permissions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomRole {
    pub org_id: OrgId,
    pub name: String,
    #[sqlx(json)]
    pub permissions: Permissions,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A membership with its custom role's permissions (`None` for a built-in or undefined role).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct GrantRow {
    pub team_id: TeamId,
    pub role: String,
    #[sqlx(json(nullable))]
    pub permissions: Option<Permissions>,
}

/// A team: owns playbooks and the processes run from them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Team {
    pub id: TeamId,
    pub org_id: OrgId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A user's membership of a team, with the role that assignment rules refer to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Membership {
    pub team_id: TeamId,
    pub user_id: UserId,
    pub role: String,
    pub created_at: DateTime<Utc>,
}

/// A playbook: a team's named process definition, whose content lives in its versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Playbook {
    pub id: PlaybookId,
    pub team_id: TeamId,
    pub name: String,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    /// When the playbook was archived: no new process starts on it; running ones go on.
    #[serde(default)]
    pub archived_at: Option<DateTime<Utc>>,
}

/// One immutable version of a playbook, addressed by the hash of its canonical JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlaybookVersion {
    pub id: VersionId,
    pub playbook_id: PlaybookId,
    pub team_id: TeamId,
    /// The version this one was derived from (`None` for the first).
    pub parent_id: Option<VersionId>,
    /// 1 for the playbook's first version, then counting up in commit order across branches.
    pub number: i64,
    #[sqlx(json)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub definition: Definition,
    /// Why the version was made, like a commit message.
    pub message: String,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

/// A movable, named reference to a playbook version (`main` to start).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Branch {
    pub playbook_id: PlaybookId,
    pub team_id: TeamId,
    pub name: String,
    pub head: VersionId,
    pub updated_at: DateTime<Utc>,
    /// Bumped on every move; the optimistic-concurrency token.
    pub revision: i64,
}

/// The status of a process instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum InstanceStatus {
    /// Some step can still run.
    Running,
    /// Nothing more can run.
    Completed,
    /// Stopped by a person.
    Cancelled,
}
text_enum!(InstanceStatus { Running => "running", Completed => "completed", Cancelled => "cancelled" });

/// One run of a playbook version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Instance {
    pub id: InstanceId,
    pub team_id: TeamId,
    pub playbook_id: PlaybookId,
    /// The version the instance started on; it never changes (invariant 5).
    pub version_id: VersionId,
    pub title: String,
    #[sqlx(try_from = "String")]
    pub status: InstanceStatus,
    /// How it ended: `completed`, `rejected` or `cancelled`.
    pub outcome: Option<String>,
    /// `{"input": …, "steps": {key: output}}`: what conditions read.
    #[sqlx(json)]
    pub data: Value,
    pub started_by: UserId,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub revision: i64,
}

/// The status of a task (one execution of one step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TaskStatus {
    /// Ready, offered to a role, nobody assigned.
    Open,
    /// Ready and assigned to someone.
    Assigned,
    /// Being worked on.
    Started,
    /// Done (an approval that was approved is completed too).
    Completed,
    /// An approval that was rejected.
    Rejected,
    /// Never ran: its condition did not hold or a step it depends on did not complete.
    Skipped,
    /// Stopped before it was done.
    Cancelled,
}
text_enum!(TaskStatus {
    Open => "open", Assigned => "assigned", Started => "started", Completed => "completed",
    Rejected => "rejected", Skipped => "skipped", Cancelled => "cancelled",
});

impl TaskStatus {
    /// Whether work on it can still happen.
    pub fn is_active(self) -> bool {
        matches!(self, TaskStatus::Open | TaskStatus::Assigned | TaskStatus::Started)
    }
}

/// One execution of one step of an instance. Its four times make waiting time (ready → started)
/// and processing time (started → completed) measurable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    pub id: TaskId,
    pub team_id: TeamId,
    pub instance_id: InstanceId,
    pub playbook_id: PlaybookId,
    pub version_id: VersionId,
    pub step_key: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub kind: StepKind,
    #[sqlx(try_from = "String")]
    pub status: TaskStatus,
    /// 1 for the first execution of the step in this instance, 2 after one rework, …
    pub attempt: i32,
    /// False once rework has superseded this execution; history keeps it.
    pub current: bool,
    /// The role that may claim it, when offered to a role.
    pub role: Option<String>,
    pub assignee_id: Option<UserId>,
    pub ready_at: Option<DateTime<Utc>>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// When the step's SLA runs out.
    pub due_at: Option<DateTime<Utc>>,
    /// `approved` or `rejected` for approvals.
    pub decision: Option<String>,
    #[sqlx(json)]
    pub output: Value,
    pub revision: i64,
}

/// A comment on an instance, or on one of its tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Comment {
    pub id: CommentId,
    pub team_id: TeamId,
    pub instance_id: InstanceId,
    pub task_id: Option<TaskId>,
    pub author_id: UserId,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// When the author last changed the body.
    #[serde(default)]
    pub edited_at: Option<DateTime<Utc>>,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub org_id: OrgId,
    /// Which of the organisation's hash chains the entry is in.
    pub chain: i32,
    /// Position in its chain, from 1.
    pub seq: i64,
    pub team_id: Option<TeamId>,
    /// The user who acted (for an API key, its owner); none for system actions.
    pub actor_id: Option<UserId>,
    /// The API key the actor used, if any.
    pub api_key_id: Option<String>,
    /// Where the request came from (a client address), when known.
    pub source: Option<String>,
    /// What happened, like `task.complete`.
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    #[sqlx(json)]
    pub detail: Value,
    pub at: DateTime<Utc>,
    /// The previous entry's hash (empty for the first).
    pub prev_hash: String,
    /// SHA-256 over `prev_hash` and this entry's content (see `audit.rs`).
    pub hash: String,
}

/// A position in the change log. Changes are read in `(xid, seq)` order: on PostgreSQL `xid` is the
/// writing transaction's id, on SQLite (one writer at a time) it is always 0 and `seq` alone orders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogPosition {
    pub xid: i64,
    pub seq: i64,
}

impl std::fmt::Display for LogPosition {
    /// `XID:SEQ`, as event ids and the CLI write it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.xid, self.seq)
    }
}

impl std::str::FromStr for LogPosition {
    type Err = String;

    /// Reads `XID:SEQ`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (xid, seq) = s.split_once(':').ok_or("expected XID:SEQ, like 0:42")?;
        let number = |part: &str, name: &str| {
            let digits = !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
            digits.then(|| part.parse::<i64>().ok()).flatten().ok_or_else(|| format!("invalid {name} `{part}`"))
        };
        Ok(LogPosition { xid: number(xid, "XID")?, seq: number(seq, "SEQ")? })
    }
}

/// One committed state change, written in the same transaction as the change itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeEvent {
    pub position: LogPosition,
    pub team_id: Option<TeamId>,
    /// What kind of record changed: `organisation`, `user`, `team`, `membership`, `playbook`,
    /// `playbook_version`, `branch`, `instance`, `task`, `comment`.
    pub entity: String,
    pub entity_id: String,
    /// `insert` or `update`.
    pub op: String,
    /// The record's new state, as JSON.
    pub data: Value,
    pub at: DateTime<Utc>,
}
