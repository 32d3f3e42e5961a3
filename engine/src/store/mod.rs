//! Storage behind a trait, with one PostgreSQL and one SQLite implementation.
//!
//! Both implementations compile the same SQL source (`sql.rs`) against their own sqlx driver, with
//! the few statements that must differ (transaction start, commit-order reads of the change log)
//! given by each backend's module. Every write also records its change event in the same
//! transaction (invariant 2): the write methods are the only way to change a row, and each appends
//! the record's new state to the change log, which is flushed just before commit.

use crate::error::Result;
use crate::identity::{ApiKey, RefreshToken, Throttle, TotpRow};
use crate::ids::*;
use crate::model::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;

pub mod postgres;
pub mod sqlite;

pub use crate::access::Scope;

/// A connection pool's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections.
    pub connections: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// The most it opens.
    pub max: u32,
}

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Filters for listing instances.
#[derive(Debug, Clone, Default)]
pub struct InstanceFilter {
    pub team_id: Option<TeamId>,
    pub playbook_id: Option<PlaybookId>,
    pub status: Option<InstanceStatus>,
    pub started_after: Option<DateTime<Utc>>,
    pub started_before: Option<DateTime<Utc>>,
    /// Only instances in which a current step execution is assigned to this user.
    pub assignee_id: Option<UserId>,
    /// Only these instances (any when empty).
    pub ids: Vec<InstanceId>,
    /// Only instances after this one in the listing's order (cursor pagination): a greater id,
    /// or with `newest_first` a smaller one.
    pub after: Option<InstanceId>,
    /// The newest first (descending ids, which grow with time) instead of the oldest.
    pub newest_first: bool,
    pub limit: i64,
}

/// Filters for listing tasks.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub team_id: Option<TeamId>,
    pub instance_id: Option<InstanceId>,
    pub assignee_id: Option<UserId>,
    /// Only these statuses (all when empty).
    pub statuses: Vec<TaskStatus>,
    /// Only tasks due before this time.
    pub due_before: Option<DateTime<Utc>>,
    /// Only these tasks (any when empty).
    pub ids: Vec<TaskId>,
    /// Only tasks after this one in the listing's order: a greater id, or with `newest_first` a
    /// smaller one.
    pub after: Option<TaskId>,
    /// The newest first (descending ids, which grow with time) instead of the oldest.
    pub newest_first: bool,
    pub limit: i64,
}

/// Filters for reading the audit trail.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_id: Option<UserId>,
    pub entity_id: Option<String>,
    pub action: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Only entries about this team.
    pub team_id: Option<TeamId>,
    /// Only entries with an id greater than this.
    pub after: Option<i64>,
    /// Only entries with an id less than this (paging back from the newest).
    pub before: Option<i64>,
    /// The newest first (default: oldest first).
    pub newest_first: bool,
    pub limit: i64,
}

/// What a write transaction will read first (see [`Store::begin_write_reading`]).
#[derive(Debug, Clone)]
pub enum ReadAhead {
    /// A task's family ([`Tx::task_family`]), its instance and its team's memberships.
    Task(TaskId),
    /// A playbook, one of its branches, and its team's memberships.
    Playbook { id: PlaybookId, branch: String },
}

/// An audit entry about to be written (its chain position and hash are given at commit).
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub org_id: OrgId,
    pub team_id: Option<TeamId>,
    pub actor_id: Option<UserId>,
    pub api_key_id: Option<String>,
    pub source: Option<String>,
    pub action: &'static str,
    pub entity: &'static str,
    pub entity_id: String,
    pub detail: serde_json::Value,
}

/// Waits for committed change events.
#[async_trait]
pub trait ChangeListener: Send {
    /// Waits up to `timeout`: true when a transaction with change events committed meanwhile
    /// (possibly before an earlier wait returned), false when the time ran out.
    async fn wait(&mut self, timeout: std::time::Duration) -> Result<bool>;
}

/// A database holding the engine's state.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which database this is.
    fn backend(&self) -> Backend;
    /// Starts a transaction that writes; `now` stamps its change events and audit entries.
    async fn begin_write(&self, now: DateTime<Utc>) -> Result<Box<dyn Tx>>;
    /// Starts a transaction that writes, fetching the rows `ahead` names (and the head of the
    /// caller's audit chain) as it begins, as far as the backend can in one round trip (SQLite:
    /// all of them; PostgreSQL: the audit head with the task's instance lock, or with the
    /// playbook). The transaction then answers those reads from what it fetched: the same rows,
    /// read under the same locks.
    async fn begin_write_reading(&self, now: DateTime<Utc>, scope: &Scope, ahead: ReadAhead) -> Result<Box<dyn Tx>>;
    /// Starts a read-only transaction (one consistent snapshot).
    async fn begin_read(&self) -> Result<Box<dyn Tx>>;
    /// Reads up to `limit` change events after `after`, in commit order. Only events of
    /// transactions that can no longer be followed by an earlier-ordered one are returned.
    async fn read_changes(&self, after: LogPosition, limit: i64) -> Result<Vec<ChangeEvent>>;
    /// How many committed change events lie after `after`, readable yet or not (a transaction that
    /// started earlier may still hold later ones back): zero means a reader is caught up.
    async fn pending_changes(&self, after: LogPosition) -> Result<i64>;
    /// The newest readable position: a reader starting there sees only what commits later.
    async fn log_head(&self) -> Result<LogPosition>;
    /// The (read) connection pool's state.
    fn pool_stats(&self) -> PoolStats;
    /// Checks that the database answers.
    async fn ping(&self) -> Result<()>;
    /// Refreshes the query planner's statistics (after a bulk load, so plans fit the data).
    async fn analyze(&self) -> Result<()>;
    /// Takes the lease `name` for `holder` until `now + ttl`, or renews it: true when `holder`
    /// has it now — it was free, expired, or already `holder`'s — false when another holds it.
    async fn acquire_lease(&self, name: &str, holder: &str, now: DateTime<Utc>, ttl: chrono::Duration) -> Result<bool>;
    /// Gives the lease up, if `holder` has it.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<()>;
    /// A listener woken when new change events commit (PostgreSQL's LISTEN/NOTIFY), or `None`
    /// where the backend has none (SQLite: poll `pending_changes`).
    async fn change_listener(&self) -> Result<Option<Box<dyn ChangeListener>>>;
    /// Closes the connection pool.
    async fn close(&self);
}

/// One transaction. Dropping it without [`Tx::commit`] rolls everything back, change events included.
#[async_trait]
pub trait Tx: CredentialTx + IdempotencyTx + Send {
    /// Writes the buffered change events and audit entries, then commits.
    async fn commit(self: Box<Self>) -> Result<()>;
    /// Serialises this transaction with every other one that changes `aggregate` (an instance,
    /// playbook or team id), until commit. Call it before the first write, so that change events of
    /// transactions on one aggregate are ordered as they committed (see `postgres.rs`); read the
    /// aggregate after it.
    async fn lock(&mut self, aggregate: &str) -> Result<()>;
    /// [`Tx::lock`] on the instance of a task in the caller's scope (nothing when there is none),
    /// in one round trip; reads after it see every earlier writer of that instance.
    async fn lock_task_instance(&mut self, scope: &Scope, task: &TaskId) -> Result<()>;

    // Organisations, users, teams.
    async fn insert_organisation(&mut self, org: &Organisation) -> Result<()>;
    async fn organisation_by_slug(&mut self, slug: &str) -> Result<Option<Organisation>>;
    async fn organisation_settings(&mut self, org: &OrgId) -> Result<OrganisationSettings>;
    async fn set_organisation_settings(&mut self, org: &OrgId, settings: &OrganisationSettings) -> Result<()>;
    async fn insert_user(&mut self, user: &User, password_hash: Option<&str>) -> Result<()>;
    /// A user by id, unscoped: used to build a [`Scope`].
    async fn user(&mut self, id: &UserId) -> Result<Option<User>>;
    async fn user_by_email(&mut self, org: &OrgId, email: &str) -> Result<Option<User>>;
    /// Users of the caller's organisation, by email.
    async fn users(&mut self, scope: &Scope) -> Result<Vec<User>>;
    async fn update_user(&mut self, user: &User) -> Result<()>;
    /// Marks a user removed from their organisation (`user.deactivated_at`) and forgets their
    /// password, so no sign-in of theirs can succeed.
    async fn deactivate_user(&mut self, user: &User) -> Result<()>;
    /// How many tasks are assigned to or started by the user and not yet finished.
    async fn open_tasks_of(&mut self, user: &UserId) -> Result<i64>;
    /// The user's memberships, in every team.
    async fn memberships_of(&mut self, user: &UserId) -> Result<Vec<Membership>>;
    async fn password_hash(&mut self, id: &UserId) -> Result<Option<String>>;
    async fn set_password_hash(&mut self, id: &UserId, hash: &str) -> Result<()>;
    async fn insert_team(&mut self, team: &Team) -> Result<()>;
    async fn update_team(&mut self, team: &Team) -> Result<()>;
    /// Deletes a team without playbooks, with its memberships, API keys and assignment cursors.
    async fn delete_team(&mut self, team: &Team) -> Result<()>;
    async fn team(&mut self, scope: &Scope, id: &TeamId) -> Result<Option<Team>>;
    async fn teams(&mut self, scope: &Scope) -> Result<Vec<Team>>;
    async fn insert_membership(&mut self, m: &Membership) -> Result<()>;
    async fn update_membership(&mut self, m: &Membership) -> Result<()>;
    async fn delete_membership(&mut self, m: &Membership) -> Result<()>;
    async fn membership(&mut self, team: &TeamId, user: &UserId) -> Result<Option<Membership>>;
    async fn members(&mut self, scope: &Scope, team: &TeamId) -> Result<Vec<Membership>>;
    /// A user's memberships with the permissions of each custom role (`None` for a built-in or
    /// undefined role): what a [`Scope`] is built from.
    async fn grants(&mut self, user: &UserId) -> Result<Vec<GrantRow>>;

    // Custom roles.
    async fn insert_role(&mut self, role: &CustomRole) -> Result<()>;
    async fn update_role(&mut self, role: &CustomRole) -> Result<()>;
    async fn delete_role(&mut self, role: &CustomRole) -> Result<()>;
    async fn roles(&mut self, org: &OrgId) -> Result<Vec<CustomRole>>;
    /// How many memberships (in any team of `org`) hold `role`.
    async fn role_use(&mut self, org: &OrgId, role: &str) -> Result<i64>;
    /// Members of `team` with `role`, ordered by user id.
    async fn members_with_role(&mut self, team: &TeamId, role: &str) -> Result<Vec<UserId>>;
    async fn round_robin_cursor(&mut self, team: &TeamId, role: &str) -> Result<Option<UserId>>;
    async fn set_round_robin_cursor(&mut self, team: &TeamId, role: &str, user: &UserId) -> Result<()>;

    // Playbooks, versions, branches.
    async fn insert_playbook(&mut self, p: &Playbook) -> Result<()>;
    async fn playbook(&mut self, scope: &Scope, id: &PlaybookId) -> Result<Option<Playbook>>;
    async fn playbooks(&mut self, scope: &Scope, team: Option<&TeamId>) -> Result<Vec<Playbook>>;
    /// Stores a playbook's name and archive state.
    async fn update_playbook(&mut self, p: &Playbook) -> Result<()>;
    /// Deletes a playbook that no instance runs on, with its branches and versions.
    async fn delete_playbook(&mut self, p: &Playbook) -> Result<()>;
    /// How many instances (in any state) run or ran on the playbook.
    async fn playbook_instances(&mut self, playbook: &PlaybookId) -> Result<i64>;
    async fn insert_version(&mut self, v: &PlaybookVersion) -> Result<()>;
    /// The number the playbook's next version gets.
    async fn next_version_number(&mut self, playbook: &PlaybookId) -> Result<i64>;
    async fn version(&mut self, scope: &Scope, id: &VersionId) -> Result<Option<PlaybookVersion>>;
    async fn versions(&mut self, scope: &Scope, playbook: &PlaybookId) -> Result<Vec<PlaybookVersion>>;
    async fn insert_branch(&mut self, b: &Branch) -> Result<()>;
    /// Moves a branch; fails with a conflict unless its stored revision is `expected`.
    async fn update_branch(&mut self, b: &Branch, expected: i64) -> Result<()>;
    async fn branch(&mut self, scope: &Scope, playbook: &PlaybookId, name: &str) -> Result<Option<Branch>>;
    async fn branches(&mut self, scope: &Scope, playbook: &PlaybookId) -> Result<Vec<Branch>>;

    // Instances and tasks.
    /// Inserts an instance. Instance and task writes are applied at commit, in one statement with
    /// the change events; reads in the same transaction do not see them.
    async fn insert_instance(&mut self, i: &Instance) -> Result<()>;
    /// Updates an instance; the commit fails with a conflict unless its stored revision is
    /// `expected`.
    async fn update_instance(&mut self, i: &Instance, expected: i64) -> Result<()>;
    async fn instance(&mut self, scope: &Scope, id: &InstanceId) -> Result<Option<Instance>>;
    async fn instances(&mut self, scope: &Scope, filter: &InstanceFilter) -> Result<Vec<Instance>>;
    async fn insert_task(&mut self, t: &Task) -> Result<()>;
    /// Updates a task from `before` (as read in this transaction) to `after`; the commit fails
    /// with a conflict unless its stored revision is still `before.revision`. Its lifecycle
    /// transitions are recorded as `task_event` change events.
    async fn update_task(&mut self, before: &Task, after: &Task) -> Result<()>;
    async fn task(&mut self, scope: &Scope, id: &TaskId) -> Result<Option<Task>>;
    /// Every execution of every step of the instance a task belongs to, in order; empty when the
    /// task is not in the caller's scope.
    async fn task_family(&mut self, scope: &Scope, id: &TaskId) -> Result<Vec<Task>>;
    async fn tasks(&mut self, scope: &Scope, filter: &TaskFilter) -> Result<Vec<Task>>;
    /// Every execution of every step of an instance (already scope-checked by the caller), in order.
    async fn instance_tasks(&mut self, instance: &InstanceId) -> Result<Vec<Task>>;

    // Comments and audit.
    async fn insert_comment(&mut self, c: &Comment) -> Result<()>;
    async fn comment(&mut self, scope: &Scope, id: &CommentId) -> Result<Option<Comment>>;
    /// Stores a comment's body and `edited_at`.
    async fn update_comment(&mut self, c: &Comment) -> Result<()>;
    async fn delete_comment(&mut self, c: &Comment) -> Result<()>;
    async fn comments(&mut self, scope: &Scope, instance: &InstanceId) -> Result<Vec<Comment>>;
    /// Buffers an audit entry, written at commit as the next link of its organisation's chain.
    fn audit(&mut self, entry: NewAuditEntry);
    /// Entries of the organisation's trail (`team_id IS NULL`) when `org_wide`, and of `teams`.
    async fn audit_entries(
        &mut self,
        org: &OrgId,
        org_wide: bool,
        teams: &[TeamId],
        filter: &AuditFilter,
    ) -> Result<Vec<AuditEntry>>;
    /// Up to `limit` entries of one of an organisation's chains after position `after_seq`, in
    /// chain order.
    async fn audit_chain(&mut self, org: &OrgId, chain: i32, after_seq: i64, limit: i64) -> Result<Vec<AuditEntry>>;
    /// The heads `(chain, seq, hash)` of the organisation's chains (`seq` 0: an empty chain).
    async fn audit_heads(&mut self, org: &OrgId) -> Result<Vec<(i32, i64, String)>>;
}

/// Idempotency records of creating requests (bookkeeping of the interfaces, not business records:
/// no change events).
#[async_trait]
pub trait IdempotencyTx: Send {
    async fn idempotency_record(&mut self, owner: &str, key: &str) -> Result<Option<IdempotencyRecord>>;
    /// Inserts a record of a request in progress (replacing an expired one).
    async fn put_idempotency_record(&mut self, r: &IdempotencyRecord) -> Result<()>;
    /// Records the response of a request in progress.
    async fn finish_idempotency_record(
        &mut self,
        owner: &str,
        key: &str,
        status: i32,
        etag: Option<&str>,
        body: &str,
    ) -> Result<()>;
    async fn delete_idempotency_record(&mut self, owner: &str, key: &str) -> Result<()>;
}

/// A request made with an idempotency key, and (once it finished) its response.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IdempotencyRecord {
    pub owner: String,
    pub key: String,
    /// A hash of the request (method, path, body): the same key with another request is refused.
    pub fingerprint: String,
    pub status: Option<i32>,
    pub etag: Option<String>,
    pub body: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What the store knows of a login session, named by an access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// A refresh-token family of the user's, never revoked.
    Live,
    /// Revoked: a logout, or a refresh token used twice.
    Revoked,
    /// No such session of this user's: the token is refused whatever its signature.
    Unknown,
}

/// Credentials and sign-in state. These rows are secrets or bookkeeping, not business records:
/// they write no change events (nothing secret leaves the database); what happens to them is in
/// the audit trail.
#[async_trait]
pub trait CredentialTx: Send {
    async fn insert_refresh_token(&mut self, t: &RefreshToken) -> Result<()>;
    async fn refresh_token(&mut self, token_hash: &str) -> Result<Option<RefreshToken>>;
    /// Marks an unused, unrevoked token used; false when it already was (a reuse or a race).
    async fn use_refresh_token(&mut self, token_hash: &str, now: DateTime<Utc>) -> Result<bool>;
    /// Revokes every token of a login's family.
    async fn revoke_refresh_family(&mut self, family: &str, now: DateTime<Utc>) -> Result<()>;
    /// The user of a session (a login's refresh-token family), and the session's state, in one
    /// round trip.
    async fn session_user(&mut self, user: &UserId, family: &str) -> Result<Option<(User, SessionState)>>;
    /// Revokes every refresh token of a user (password change).
    async fn revoke_user_refresh_tokens(&mut self, user: &UserId, now: DateTime<Utc>) -> Result<()>;

    async fn insert_api_key(&mut self, key: &ApiKey, secret_hash: &str) -> Result<()>;
    /// A key by id with its secret hash, unscoped: used to authenticate it.
    async fn api_key(&mut self, id: &str) -> Result<Option<(ApiKey, String)>>;
    /// Keys of `team`, of one user or of everyone.
    async fn api_keys(&mut self, team: &TeamId, user: Option<&UserId>) -> Result<Vec<ApiKey>>;
    async fn revoke_api_key(&mut self, id: &str, now: DateTime<Utc>) -> Result<()>;
    /// Revokes every key the user created, in any team.
    async fn revoke_user_api_keys(&mut self, user: &UserId, now: DateTime<Utc>) -> Result<()>;
    async fn touch_api_key(&mut self, id: &str, now: DateTime<Utc>) -> Result<()>;

    async fn totp(&mut self, user: &UserId) -> Result<Option<TotpRow>>;
    /// Stores a fresh, not yet enabled secret (replacing an unconfirmed one).
    async fn set_totp_secret(&mut self, user: &UserId, secret: &str) -> Result<()>;
    async fn enable_totp(&mut self, user: &UserId, now: DateTime<Utc>) -> Result<()>;
    async fn delete_totp(&mut self, user: &UserId) -> Result<()>;
    /// Records `step` as the last accepted time step; false when it is not newer than the last.
    async fn accept_totp_step(&mut self, user: &UserId, step: i64) -> Result<bool>;
    async fn replace_recovery_codes(&mut self, user: &UserId, hashes: &[String]) -> Result<()>;
    /// Uses an unused recovery code; false when there is none with this hash.
    async fn use_recovery_code(&mut self, user: &UserId, hash: &str, now: DateTime<Utc>) -> Result<bool>;
    async fn unused_recovery_codes(&mut self, user: &UserId) -> Result<i64>;

    async fn throttle(&mut self, subject: &str) -> Result<Option<Throttle>>;
    async fn put_throttle(&mut self, t: &Throttle) -> Result<()>;
    async fn clear_throttle(&mut self, subject: &str) -> Result<()>;
    /// Subjects of the organisation locked at `now`.
    async fn locks(&mut self, org: &OrgId, now: DateTime<Utc>) -> Result<Vec<Throttle>>;
}

/// Opens the database named by `url` (`postgres://…` or `sqlite://…`), creating an SQLite file
/// and its folder when missing, and applies migrations.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(url).await?))
    } else {
        Err(crate::error::EngineError::Config(format!("database URL `{url}` is neither postgres://… nor sqlite://…")))
    }
}
