// The SQL implementation shared by both backends. This file is `include!`d by `postgres.rs` and
// `sqlite.rs`, each of which first defines `Db` (the sqlx database), `BACKEND`, `MIGRATOR`,
// `READ_CHANGES_SQL`, `LOCK_SQL`, `LOCK_TASK_INSTANCE_SQL`, `FOLDS_COMMIT`, `Batch`, `TxConn`
// (the connection of a transaction, dereferencing to the driver's connection, with `commit`),
// `Writes` (what write transactions begin on), `finish_batch`, `begin_write_tx`,
// `begin_write_reading_tx`, `begin_read_tx`, `close_writes` and `connect`; everything here is
// compiled once per backend against its own driver, so there is one source and two concrete
// implementations.

use crate::error::{EngineError, Result};
use crate::ids::*;
use crate::lifecycle;
use crate::model::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{Pool, QueryBuilder, Transaction};
use std::collections::{HashMap, HashSet};

use super::{
    AuditFilter, Backend, CredentialTx, IdempotencyRecord, IdempotencyTx, InstanceFilter, NewAuditEntry, PoolStats,
    ReadAhead, Scope, SessionState, Store, TaskFilter, Tx,
};
use crate::audit::Link;
use crate::identity::{ApiKey, RefreshToken, Throttle, TotpRow};

/// Rows per multi-row INSERT when flushing change events and audit entries (well under both
/// databases' bind-parameter limits).
const FLUSH_CHUNK: usize = 1_000;

/// The store: a connection pool for reads, and what write transactions begin on (the same pool on
/// PostgreSQL; SQLite's single writer connection with its group commit).
pub struct SqlStore {
    pool: Pool<Db>,
    writes: Writes,
    /// Background tasks the backend runs for the store's lifetime (SQLite's WAL checkpoints and
    /// group commits, PostgreSQL's change notifications).
    background: Vec<tokio::task::JoinHandle<()>>,
    /// Raised after a write transaction commits change events, where the backend tells
    /// listeners (PostgreSQL; SQLite's readers poll).
    committed_changes: Option<Signal>,
}

/// A wake-up shared between tasks (a stored permit is not lost).
type Signal = std::sync::Arc<tokio::sync::Notify>;

impl Drop for SqlStore {
    fn drop(&mut self) {
        for task in &self.background {
            task.abort();
        }
    }
}

/// A change event waiting for commit.
struct PendingChange {
    team_id: Option<TeamId>,
    entity: &'static str,
    entity_id: String,
    op: &'static str,
    data: Value,
}

/// Rows a write transaction fetched as it began (see [`ReadAhead`]). Tasks, instances, playbooks
/// and branches are handed out once (a second read goes to the database); memberships and the
/// audit head until this transaction changes them.
#[derive(Default)]
struct Ahead {
    /// The task named, with its family (scope is checked when it is handed out).
    family: Option<(TaskId, Vec<Task>)>,
    instance: Option<Instance>,
    playbook: Option<(PlaybookId, Option<Playbook>)>,
    branch: Option<(PlaybookId, String, Option<Branch>)>,
    /// A team's memberships, in user order.
    members: Option<(TeamId, Vec<Membership>)>,
    /// `(organisation, chain, (seq, hash))`: the chain this transaction appends to.
    audit_head: Option<(OrgId, i32, (i64, String))>,
    /// The task whose instance the read-ahead locked as [`Tx::lock_task_instance`] would.
    locked_task: Option<TaskId>,
}

/// One open transaction with its buffered change events and audit entries.
pub struct SqlTx {
    tx: TxConn,
    now: DateTime<Utc>,
    ahead: Ahead,
    /// The revision of every task and instance row read in this transaction, by row key
    /// (`task:<id>`): a conditional update expecting it cannot miss under an exclusive write lock.
    read_revisions: HashMap<String, i64>,
    /// Instance and task writes, applied at commit in one statement (see `flush`).
    writes: Vec<PendingWrite>,
    /// Position in `writes` of each row's pending write, by the row's key.
    written: HashMap<String, usize>,
    changes: Vec<PendingChange>,
    audit: Vec<NewAuditEntry>,
    /// A write transaction's signal for when it commits change events (see
    /// `SqlStore::committed_changes`), raised at commit if `wrote_changes`.
    committed_changes: Option<Signal>,
    wrote_changes: bool,
}

/// A row write deferred to commit. `expected: None` inserts; `Some(r)` updates the row if its
/// stored revision is still `r`.
struct PendingWrite {
    row: PendingRow,
    expected: Option<i64>,
}

enum PendingRow {
    Instance(Instance),
    Task(Task),
}

impl PendingRow {
    /// The key the flush statement returns for an updated row (`task:<id>`).
    fn key(&self) -> String {
        match self {
            PendingRow::Instance(i) => format!("instance:{}", i.id),
            PendingRow::Task(t) => format!("task:{}", t.id),
        }
    }
}

#[derive(sqlx::FromRow)]
struct ChangeRow {
    xid: i64,
    seq: i64,
    team_id: Option<TeamId>,
    entity: String,
    entity_id: String,
    op: String,
    #[sqlx(json)]
    data: Value,
    at: DateTime<Utc>,
}

/// Maps a unique-constraint violation to `AlreadyExists`, anything else to a storage error.
fn unique<'a>(entity: &'static str, name: &'a str) -> impl FnOnce(sqlx::Error) -> EngineError + 'a {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            EngineError::AlreadyExists { entity, name: name.to_string() }
        }
        _ => EngineError::from(e),
    }
}

impl SqlStore {
    /// The underlying pool (for tests and benchmarks that inspect the database directly).
    pub fn pool(&self) -> &Pool<Db> {
        &self.pool
    }
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> Backend {
        BACKEND
    }

    async fn begin_write(&self, now: DateTime<Utc>) -> Result<Box<dyn Tx>> {
        let tx = begin_write_tx(&self.writes).await?;
        // Whole microseconds: what both databases store, and what the audit chain hashes.
        Ok(Box::new(SqlTx::writing(tx, chrono::SubsecRound::trunc_subsecs(now, 6), &self.committed_changes)))
    }

    async fn begin_write_reading(&self, now: DateTime<Utc>, scope: &Scope, ahead: ReadAhead) -> Result<Box<dyn Tx>> {
        let (tx, fetched) = begin_write_reading_tx(&self.writes, scope, &ahead).await?;
        let mut tx = SqlTx::writing(tx, chrono::SubsecRound::trunc_subsecs(now, 6), &self.committed_changes);
        tx.ahead = fetched;
        Ok(Box::new(tx))
    }

    async fn begin_read(&self) -> Result<Box<dyn Tx>> {
        let tx = begin_read_tx(&self.pool).await?;
        Ok(Box::new(SqlTx::new(tx, Utc::now())))
    }

    async fn read_changes(&self, after: LogPosition, limit: i64) -> Result<Vec<ChangeEvent>> {
        let rows: Vec<ChangeRow> =
            sqlx::query_as(READ_CHANGES_SQL).bind(after.xid).bind(after.seq).bind(limit).fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|r| ChangeEvent {
                position: LogPosition { xid: r.xid, seq: r.seq },
                team_id: r.team_id,
                entity: r.entity,
                entity_id: r.entity_id,
                op: r.op,
                data: r.data,
                at: r.at,
            })
            .collect())
    }

    async fn pending_changes(&self, after: LogPosition) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM change_log WHERE (xid, seq) > ($1, $2)")
            .bind(after.xid)
            .bind(after.seq)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn log_head(&self) -> Result<LogPosition> {
        let head: Option<(i64, i64)> = sqlx::query_as(LOG_HEAD_SQL).fetch_optional(&self.pool).await?;
        Ok(head.map_or(LogPosition::default(), |(xid, seq)| LogPosition { xid, seq }))
    }

    fn pool_stats(&self) -> PoolStats {
        let idle = self.pool.num_idle() as u32;
        PoolStats { connections: self.pool.size(), idle, max: self.pool.options().get_max_connections() }
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn analyze(&self) -> Result<()> {
        let mut tx = begin_write_tx(&self.writes).await?;
        sqlx::query("ANALYZE").execute(&mut *tx).await?;
        Ok(tx.commit().await?)
    }

    async fn acquire_lease(&self, name: &str, holder: &str, now: DateTime<Utc>, ttl: chrono::Duration) -> Result<bool> {
        let mut tx = begin_write_tx(&self.writes).await?;
        let taken = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE \
             SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at < $4",
        )
        .bind(name)
        .bind(holder)
        .bind(now + ttl)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(taken.rows_affected() == 1)
    }

    async fn change_listener(&self) -> Result<Option<Box<dyn super::ChangeListener>>> {
        listen(&self.pool).await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        let mut tx = begin_write_tx(&self.writes).await?;
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&mut *tx)
            .await?;
        Ok(tx.commit().await?)
    }

    async fn close(&self) {
        for task in &self.background {
            task.abort();
        }
        close_writes(&self.writes).await;
        self.pool.close().await;
    }
}

impl SqlTx {
    fn new(tx: TxConn, now: DateTime<Utc>) -> Self {
        Self {
            tx,
            now,
            ahead: Ahead::default(),
            read_revisions: HashMap::new(),
            writes: Vec::new(),
            written: HashMap::new(),
            changes: Vec::new(),
            audit: Vec::new(),
            committed_changes: None,
            wrote_changes: false,
        }
    }

    /// A write transaction: its committed change events raise the store's signal, if it has one.
    fn writing(tx: TxConn, now: DateTime<Utc>, committed_changes: &Option<Signal>) -> Self {
        Self { committed_changes: committed_changes.clone(), ..Self::new(tx, now) }
    }

    /// Notes the revisions of tasks read in this transaction (see `read_revisions`; only a
    /// backend that folds `COMMIT` into the flush needs them).
    fn read_tasks(&mut self, tasks: &[Task]) {
        if !FOLDS_COMMIT {
            return;
        }
        for t in tasks {
            self.read_revisions.insert(format!("task:{}", t.id), t.revision);
        }
    }

    fn read_instance(&mut self, instance: &Option<Instance>) {
        if let Some(i) = instance.as_ref().filter(|_| FOLDS_COMMIT) {
            self.read_revisions.insert(format!("instance:{}", i.id), i.revision);
        }
    }

    /// Whether every conditional update waiting for commit expects a revision this transaction
    /// read (so, under an exclusive write lock, none can miss).
    fn updates_expect_what_was_read(&self) -> bool {
        self.writes.iter().all(|w| w.expected.is_none_or(|e| self.read_revisions.get(&w.row.key()) == Some(&e)))
    }

    /// The memberships fetched ahead for `team`, if they were.
    fn members_ahead(&self, team: &TeamId) -> Option<&[Membership]> {
        self.ahead.members.as_ref().filter(|(t, _)| t == team).map(|(_, m)| m.as_slice())
    }

    /// Records the new state of a record as a change event of this transaction.
    fn change<T: serde::Serialize>(
        &mut self,
        team_id: Option<&TeamId>,
        entity: &'static str,
        entity_id: &str,
        op: &'static str,
        record: &T,
    ) -> Result<()> {
        let data = serde_json::to_value(record).map_err(|e| EngineError::Corrupt(e.to_string()))?;
        self.changes.push(PendingChange {
            team_id: team_id.cloned(),
            entity,
            entity_id: entity_id.to_string(),
            op,
            data,
        });
        Ok(())
    }

    /// Records the lifecycle transitions of a task write as `task_event` change events.
    fn task_events(&mut self, before: Option<&Task>, after: &Task) -> Result<()> {
        for event in lifecycle::transitions(before, after, self.now) {
            self.change(Some(&event.team_id), "task_event", &event.id.clone(), "insert", &event)?;
        }
        Ok(())
    }

    /// After an UPDATE … WHERE revision = expected touched no row: a conflict, or a missing row.
    async fn revision_conflict(
        &mut self,
        table: &'static str,
        entity: &'static str,
        id: &str,
        expected: i64,
    ) -> EngineError {
        let sql = match table {
            "tasks" => "SELECT revision FROM tasks WHERE id = $1",
            "instances" => "SELECT revision FROM instances WHERE id = $1",
            _ => "SELECT revision FROM branches WHERE playbook_id || '/' || name = $1",
        };
        match sqlx::query_scalar::<Db, i64>(sql).bind(id.to_string()).fetch_optional(&mut *self.tx).await {
            Ok(Some(found)) => EngineError::Conflict { entity, id: id.to_string(), expected, found },
            Ok(None) => EngineError::not_found(entity, id),
            Err(e) => EngineError::from(e),
        }
    }

    /// Defers a row write to commit. A second write of the same row replaces the first's content
    /// and keeps its insert or expected revision, so the row is written once.
    fn defer(&mut self, row: PendingRow, expected: Option<i64>) {
        match self.written.get(&row.key()) {
            Some(&i) => self.writes[i].row = row,
            None => {
                self.written.insert(row.key(), self.writes.len());
                self.writes.push(PendingWrite { row, expected });
            }
        }
    }

    /// Applies the deferred row writes, change events and audit entries in one statement (one
    /// round trip), then checks that every conditional update found its expected revision. With
    /// `commit`, the statement also ends the transaction (see `FOLDS_COMMIT`); returns whether it
    /// ran.
    async fn flush(&mut self, commit: bool) -> Result<bool> {
        let writes = std::mem::take(&mut self.writes);
        self.written.clear();
        let changes = std::mem::take(&mut self.changes);
        let audit = std::mem::take(&mut self.audit);
        if writes.is_empty() && changes.is_empty() && audit.is_empty() {
            return Ok(false);
        }
        let now = self.now;
        let mut out = Flush { batch: Batch::new(), params: 0, updated: Vec::new() };
        // Instances before tasks, so foreign keys hold in either database.
        let mut sorted: Vec<&PendingWrite> = writes.iter().collect();
        sorted.sort_by_key(|w| matches!(w.row, PendingRow::Task(_)));
        for w in sorted {
            let tx = &mut self.tx;
            match (&w.row, w.expected) {
                (PendingRow::Instance(i), None) => out.add(tx, 12, |qb| push_instance_insert(qb, i), false).await?,
                (PendingRow::Instance(i), Some(e)) => out.add(tx, 8, |qb| push_instance_update(qb, i, e), true).await?,
                (PendingRow::Task(t), None) => out.add(tx, 21, |qb| push_task_insert(qb, t), false).await?,
                (PendingRow::Task(t), Some(e)) => out.add(tx, 12, |qb| push_task_update(qb, t, e), true).await?,
            }
        }
        for (org, chain, entries) in self.chain_audit(audit).await? {
            for chunk in entries.chunks(FLUSH_CHUNK) {
                let push = |qb: &mut QueryBuilder<Db>| {
                    qb.push(
                        "INSERT INTO audit_log (org_id, chain, seq, team_id, actor_id, api_key_id, source, action, entity, entity_id, detail, at, prev_hash, hash) ",
                    );
                    qb.push_values(chunk, |mut b, (seq, prev, hash, a)| {
                        b.push_bind(a.org_id.clone())
                            .push_bind(chain)
                            .push_bind(*seq)
                            .push_bind(a.team_id.clone())
                            .push_bind(a.actor_id.clone())
                            .push_bind(a.api_key_id.clone())
                            .push_bind(a.source.clone())
                            .push_bind(a.action)
                            .push_bind(a.entity)
                            .push_bind(a.entity_id.clone())
                            .push_bind(Json(a.detail.clone()))
                            .push_bind(now)
                            .push_bind(prev.clone())
                            .push_bind(hash.clone());
                    });
                };
                out.add(&mut self.tx, chunk.len() * 14, push, false).await?;
            }
            let (seq, _, hash, _) = entries.last().expect("a chain has entries");
            let push = |qb: &mut QueryBuilder<Db>| {
                qb.push("UPDATE audit_heads SET seq = ").push_bind(*seq);
                qb.push(", hash = ").push_bind(hash.clone());
                qb.push(" WHERE org_id = ").push_bind(org.clone());
                qb.push(" AND chain = ").push_bind(chain);
            };
            out.add(&mut self.tx, 4, push, false).await?;
        }
        for chunk in changes.chunks(FLUSH_CHUNK) {
            let push = |qb: &mut QueryBuilder<Db>| {
                qb.push("INSERT INTO change_log (team_id, entity, entity_id, op, data, at) ");
                qb.push_values(chunk, |mut b, c| {
                    b.push_bind(c.team_id.clone())
                        .push_bind(c.entity)
                        .push_bind(c.entity_id.clone())
                        .push_bind(c.op)
                        .push_bind(Json(c.data.clone()))
                        .push_bind(now);
                });
            };
            out.add(&mut self.tx, chunk.len() * 6, push, false).await?;
        }
        self.wrote_changes |= !changes.is_empty();
        let updated = out.finish(&mut self.tx, commit).await?;
        for w in writes {
            let Some(expected) = w.expected else { continue };
            if updated.contains(&w.row.key()) {
                continue;
            }
            let (table, entity, id) = match &w.row {
                PendingRow::Instance(i) => ("instances", "instance", i.id.to_string()),
                PendingRow::Task(t) => ("tasks", "task", t.id.to_string()),
            };
            if commit {
                // Committed already: it expected what this transaction read under the write lock.
                return Err(EngineError::Corrupt(format!("{entity} `{id}` changed under the write lock")));
            }
            return Err(self.revision_conflict(table, entity, &id, expected).await);
        }
        Ok(commit)
    }
}

impl SqlTx {
    /// Gives each audit entry its place in a hash chain of its organisation (the one whose head
    /// was read ahead, else one of `AUDIT_CHAINS` picked at random): `(org, chain, [(seq,
    /// prev_hash, hash, entry)])`. The head is read locked (see `AUDIT_HEAD_SQL`), so chains grow
    /// in commit order.
    #[allow(clippy::type_complexity)]
    async fn chain_audit(
        &mut self,
        audit: Vec<NewAuditEntry>,
    ) -> Result<Vec<(OrgId, i32, Vec<(i64, String, String, NewAuditEntry)>)>> {
        let mut by_org: std::collections::BTreeMap<OrgId, Vec<NewAuditEntry>> = Default::default();
        for a in audit {
            by_org.entry(a.org_id.clone()).or_default().push(a);
        }
        let at_micros = self.now.timestamp_micros();
        let mut chains = Vec::with_capacity(by_org.len());
        for (org, entries) in by_org {
            let (chain, (mut seq, mut prev)) = match self.ahead.audit_head.take_if(|(o, _, _)| *o == org) {
                Some((_, chain, head)) => (chain, head),
                None => {
                    let chain = pick_audit_chain();
                    let head: (i64, String) = sqlx::query_as(AUDIT_HEAD_SQL)
                        .bind(&org)
                        .bind(chain)
                        .fetch_optional(&mut *self.tx)
                        .await?
                        .ok_or_else(|| EngineError::Corrupt(format!("organisation `{org}` has no audit chain head")))?;
                    (chain, head)
                }
            };
            let mut linked = Vec::with_capacity(entries.len());
            for a in entries {
                seq += 1;
                let hash = Link::of_new(&a, chain, seq, at_micros).hash(&prev);
                linked.push((seq, std::mem::replace(&mut prev, hash.clone()), hash, a));
            }
            chains.push((org, chain, linked));
        }
        Ok(chains)
    }
}

/// The audit chain a transaction appends to: one of `AUDIT_CHAINS`, at random.
fn pick_audit_chain() -> i32 {
    if AUDIT_CHAINS > 1 { rand::random_range(0..AUDIT_CHAINS) } else { 0 }
}

/// Chains audit entries written before the chain existed (migration 0002), in id order, and gives
/// every organisation its chain head. Runs at connect; a no-op once done.
async fn chain_legacy_audit(pool: &Pool<Db>) -> Result<()> {
    let mut tx = pool.begin().await?;
    for chain in 0..AUDIT_CHAINS {
        sqlx::query(
            "INSERT INTO audit_heads (org_id, chain, seq, hash)
             SELECT id, $1, 0, '' FROM organisations WHERE id NOT IN (SELECT org_id FROM audit_heads WHERE chain = $1)
             ON CONFLICT (org_id, chain) DO NOTHING",
        )
        .bind(chain)
        .execute(&mut *tx)
        .await?;
    }
    let legacy: Vec<AuditEntry> = sqlx::query_as(
        "SELECT id, org_id, 0 AS chain, 0 AS seq, team_id, actor_id, api_key_id, source, action, entity, entity_id, detail, at,
                '' AS prev_hash, '' AS hash
         FROM audit_log WHERE seq IS NULL ORDER BY id",
    )
    .fetch_all(&mut *tx)
    .await?;
    if legacy.is_empty() {
        tx.commit().await?;
        return Ok(());
    }
    let mut heads: HashMap<OrgId, (i64, String)> = HashMap::new();
    for mut e in legacy {
        let head = match heads.get_mut(&e.org_id) {
            Some(h) => h,
            None => {
                let h: (i64, String) =
                    sqlx::query_as("SELECT seq, hash FROM audit_heads WHERE org_id = $1 AND chain = 0")
                        .bind(&e.org_id)
                        .fetch_one(&mut *tx)
                        .await?;
                heads.entry(e.org_id.clone()).or_insert(h)
            }
        };
        e.seq = head.0 + 1;
        e.prev_hash = head.1.clone();
        e.hash = Link::of(&e).hash(&e.prev_hash);
        sqlx::query("UPDATE audit_log SET chain = 0, seq = $1, prev_hash = $2, hash = $3 WHERE id = $4")
            .bind(e.seq)
            .bind(&e.prev_hash)
            .bind(&e.hash)
            .bind(e.id)
            .execute(&mut *tx)
            .await?;
        *head = (e.seq, e.hash);
    }
    for (org, (seq, hash)) in heads {
        sqlx::query("UPDATE audit_heads SET seq = $1, hash = $2 WHERE org_id = $3 AND chain = 0")
            .bind(seq)
            .bind(hash)
            .bind(org)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Bind parameters one flush statement may carry (SQLite allows 32,766 per statement, PostgreSQL
/// 65,535); a larger flush runs as several statements.
const MAX_FLUSH_PARAMS: usize = 30_000;

/// A flush in progress: the statement being built and the keys conditional updates returned.
struct Flush {
    batch: Batch,
    params: usize,
    updated: Vec<String>,
}

impl Flush {
    /// Adds a statement of about `params` bind parameters, first running what is built when the
    /// statement would not fit.
    async fn add(
        &mut self,
        tx: &mut TxConn,
        params: usize,
        push: impl FnOnce(&mut QueryBuilder<Db>),
        returns_key: bool,
    ) -> Result<()> {
        if self.params > 0 && self.params + params > MAX_FLUSH_PARAMS {
            let full = std::mem::replace(&mut self.batch, Batch::new());
            self.updated.extend(run_batch(tx, full).await?);
            self.params = 0;
        }
        self.batch.statement(push, returns_key);
        self.params += params;
        Ok(())
    }

    /// Runs the rest, ending the transaction with it when `commit` (see `finish_batch`);
    /// returns every key that conditional updates returned.
    async fn finish(mut self, tx: &mut TxConn, commit: bool) -> Result<HashSet<String>> {
        if commit {
            self.updated.extend(finish_batch(tx, self.batch).await?);
        } else if self.params > 0 {
            self.updated.extend(run_batch(tx, self.batch).await?);
        }
        Ok(self.updated.into_iter().collect())
    }
}

/// Runs a flush statement; returns the keys its conditional updates returned.
async fn run_batch(tx: &mut TxConn, batch: Batch) -> Result<Vec<String>> {
    let keys: Vec<Option<String>> = batch.finish().build_query_scalar().fetch_all(&mut **tx).await?;
    Ok(keys.into_iter().flatten().collect())
}

/// Starts a scoped SELECT: `SELECT * FROM <table> WHERE team_id IN (<caller's teams>)`.
fn scoped_select(table: &str, scope: &Scope) -> QueryBuilder<Db> {
    let mut qb = QueryBuilder::<Db>::new(format!("SELECT * FROM {table} WHERE "));
    push_in_teams(&mut qb, "team_id", scope.team_ids());
    qb
}

/// ` AND id IN (<ids>)` when a listing is of these records only.
fn push_ids<T>(qb: &mut QueryBuilder<Db>, ids: &[T])
where
    T: Clone + for<'t> sqlx::Encode<'t, Db> + sqlx::Type<Db>,
{
    if ids.is_empty() {
        return;
    }
    qb.push(" AND id IN (");
    let mut list = qb.separated(", ");
    for id in ids {
        list.push_bind(id.clone());
    }
    list.push_unseparated(")");
}

/// A listing's page: after the cursor in the listing's order (ids grow with time), newest or
/// oldest first, at most `limit`.
fn push_page<T>(qb: &mut QueryBuilder<Db>, after: Option<T>, newest_first: bool, limit: i64)
where
    T: for<'t> sqlx::Encode<'t, Db> + sqlx::Type<Db>,
{
    if let Some(after) = after {
        qb.push(if newest_first { " AND id < " } else { " AND id > " }).push_bind(after);
    }
    qb.push(if newest_first { " ORDER BY id DESC LIMIT " } else { " ORDER BY id LIMIT " }).push_bind(limit);
}

/// `<column> IN (<teams>)`, or a false condition for no team.
fn push_in_teams<'a>(qb: &mut QueryBuilder<Db>, column: &str, teams: impl IntoIterator<Item = &'a TeamId>) {
    let mut teams = teams.into_iter().peekable();
    if teams.peek().is_none() {
        qb.push("1 = 0");
        return;
    }
    qb.push(format!("{column} IN ("));
    let mut list = qb.separated(", ");
    for t in teams {
        list.push_bind(t.clone());
    }
    list.push_unseparated(")");
}

#[async_trait]
impl Tx for SqlTx {
    async fn commit(mut self: Box<Self>) -> Result<()> {
        if !self.flush(FOLDS_COMMIT && self.updates_expect_what_was_read()).await? {
            self.tx.commit().await?;
        }
        if let Some(signal) = self.committed_changes.as_ref().filter(|_| self.wrote_changes) {
            signal.notify_one();
        }
        Ok(())
    }

    async fn lock(&mut self, aggregate: &str) -> Result<()> {
        if let Some(sql) = LOCK_SQL {
            sqlx::query(sql).bind(aggregate.to_string()).execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    async fn lock_task_instance(&mut self, scope: &Scope, task: &TaskId) -> Result<()> {
        if self.ahead.locked_task.take_if(|t| t == task).is_some() {
            return Ok(());
        }
        if let Some(sql) = LOCK_TASK_INSTANCE_SQL {
            let mut qb = QueryBuilder::<Db>::new(sql);
            qb.push_bind(task.clone()).push(" AND ");
            push_in_teams(&mut qb, "team_id", scope.team_ids());
            qb.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    async fn insert_organisation(&mut self, org: &Organisation) -> Result<()> {
        sqlx::query("INSERT INTO organisations (id, name, slug, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&org.id)
            .bind(&org.name)
            .bind(&org.slug)
            .bind(org.created_at)
            .execute(&mut *self.tx)
            .await
            .map_err(unique("organisation", &org.slug))?;
        let mut heads = QueryBuilder::<Db>::new("INSERT INTO audit_heads (org_id, chain, seq, hash) ");
        heads.push_values(0..AUDIT_CHAINS, |mut b, chain| {
            b.push_bind(org.id.clone()).push_bind(chain).push_bind(0i64).push_bind("");
        });
        heads.build().execute(&mut *self.tx).await?;
        self.change(None, "organisation", org.id.as_str(), "insert", org)
    }

    async fn organisation_by_slug(&mut self, slug: &str) -> Result<Option<Organisation>> {
        Ok(sqlx::query_as("SELECT * FROM organisations WHERE slug = $1")
            .bind(slug)
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    async fn organisation_settings(&mut self, org: &OrgId) -> Result<OrganisationSettings> {
        let settings: Option<Json<OrganisationSettings>> =
            sqlx::query_scalar("SELECT settings FROM organisations WHERE id = $1")
                .bind(org)
                .fetch_optional(&mut *self.tx)
                .await?;
        Ok(settings.map(|s| s.0).unwrap_or_default())
    }

    async fn set_organisation_settings(&mut self, org: &OrgId, settings: &OrganisationSettings) -> Result<()> {
        sqlx::query("UPDATE organisations SET settings = $1 WHERE id = $2")
            .bind(Json(settings))
            .bind(org)
            .execute(&mut *self.tx)
            .await?;
        self.change(None, "organisation_settings", org.as_str(), "update", settings)
    }

    async fn insert_user(&mut self, user: &User, password_hash: Option<&str>) -> Result<()> {
        sqlx::query(
            "INSERT INTO users (id, org_id, email, display_name, org_role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&user.id)
        .bind(&user.org_id)
        .bind(&user.email)
        .bind(&user.display_name)
        .bind(user.org_role.as_str())
        .bind(password_hash)
        .bind(user.created_at)
        .execute(&mut *self.tx)
        .await
        .map_err(unique("user", &user.email))?;
        self.change(None, "user", user.id.as_str(), "insert", user)
    }

    async fn user(&mut self, id: &UserId) -> Result<Option<User>> {
        Ok(sqlx::query_as("SELECT * FROM users WHERE id = $1").bind(id).fetch_optional(&mut *self.tx).await?)
    }

    async fn user_by_email(&mut self, org: &OrgId, email: &str) -> Result<Option<User>> {
        Ok(sqlx::query_as("SELECT * FROM users WHERE org_id = $1 AND email = $2")
            .bind(org)
            .bind(email)
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    async fn users(&mut self, scope: &Scope) -> Result<Vec<User>> {
        Ok(sqlx::query_as("SELECT * FROM users WHERE org_id = $1 ORDER BY email")
            .bind(&scope.org_id)
            .fetch_all(&mut *self.tx)
            .await?)
    }

    async fn update_user(&mut self, user: &User) -> Result<()> {
        sqlx::query("UPDATE users SET display_name = $1, org_role = $2 WHERE id = $3")
            .bind(&user.display_name)
            .bind(user.org_role.as_str())
            .bind(&user.id)
            .execute(&mut *self.tx)
            .await?;
        self.change(None, "user", user.id.as_str(), "update", user)
    }

    async fn deactivate_user(&mut self, user: &User) -> Result<()> {
        sqlx::query("UPDATE users SET deactivated_at = $1, password_hash = NULL WHERE id = $2")
            .bind(user.deactivated_at)
            .bind(&user.id)
            .execute(&mut *self.tx)
            .await?;
        self.change(None, "user", user.id.as_str(), "update", user)
    }

    async fn open_tasks_of(&mut self, user: &UserId) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE assignee_id = $1 AND status IN ('assigned', 'started')")
            .bind(user)
            .fetch_one(&mut *self.tx)
            .await?)
    }

    async fn memberships_of(&mut self, user: &UserId) -> Result<Vec<Membership>> {
        Ok(sqlx::query_as("SELECT * FROM memberships WHERE user_id = $1 ORDER BY team_id")
            .bind(user)
            .fetch_all(&mut *self.tx)
            .await?)
    }

    async fn set_password_hash(&mut self, id: &UserId, hash: &str) -> Result<()> {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn password_hash(&mut self, id: &UserId) -> Result<Option<String>> {
        Ok(sqlx::query_scalar::<Db, Option<String>>("SELECT password_hash FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?
            .flatten())
    }

    async fn insert_team(&mut self, team: &Team) -> Result<()> {
        sqlx::query("INSERT INTO teams (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&team.id)
            .bind(&team.org_id)
            .bind(&team.name)
            .bind(team.created_at)
            .execute(&mut *self.tx)
            .await
            .map_err(unique("team", &team.name))?;
        self.change(Some(&team.id), "team", team.id.as_str(), "insert", team)
    }

    async fn update_team(&mut self, team: &Team) -> Result<()> {
        sqlx::query("UPDATE teams SET name = $1 WHERE id = $2")
            .bind(&team.name)
            .bind(&team.id)
            .execute(&mut *self.tx)
            .await
            .map_err(unique("team", &team.name))?;
        self.change(Some(&team.id), "team", team.id.as_str(), "update", team)
    }

    async fn delete_team(&mut self, team: &Team) -> Result<()> {
        self.ahead.members = None;
        let members: Vec<Membership> = sqlx::query_as("SELECT * FROM memberships WHERE team_id = $1 ORDER BY user_id")
            .bind(&team.id)
            .fetch_all(&mut *self.tx)
            .await?;
        for m in &members {
            self.delete_membership(m).await?;
        }
        sqlx::query("DELETE FROM round_robin_cursors WHERE team_id = $1").bind(&team.id).execute(&mut *self.tx).await?;
        sqlx::query("DELETE FROM api_keys WHERE team_id = $1").bind(&team.id).execute(&mut *self.tx).await?;
        sqlx::query("DELETE FROM teams WHERE id = $1").bind(&team.id).execute(&mut *self.tx).await?;
        self.change(Some(&team.id), "team", team.id.as_str(), "delete", team)
    }

    async fn team(&mut self, scope: &Scope, id: &TeamId) -> Result<Option<Team>> {
        let mut qb = QueryBuilder::<Db>::new("SELECT * FROM teams WHERE ");
        push_in_teams(&mut qb, "id", scope.team_ids());
        qb.push(" AND id = ").push_bind(id.clone());
        Ok(qb.build_query_as().fetch_optional(&mut *self.tx).await?)
    }

    async fn teams(&mut self, scope: &Scope) -> Result<Vec<Team>> {
        let mut qb = QueryBuilder::<Db>::new("SELECT * FROM teams WHERE ");
        push_in_teams(&mut qb, "id", scope.team_ids());
        qb.push(" ORDER BY name, id");
        Ok(qb.build_query_as().fetch_all(&mut *self.tx).await?)
    }

    async fn insert_membership(&mut self, m: &Membership) -> Result<()> {
        self.ahead.members = None;
        sqlx::query("INSERT INTO memberships (team_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&m.team_id)
            .bind(&m.user_id)
            .bind(&m.role)
            .bind(m.created_at)
            .execute(&mut *self.tx)
            .await
            .map_err(unique("membership", m.user_id.as_str()))?;
        let id = format!("{}/{}", m.team_id, m.user_id);
        self.change(Some(&m.team_id), "membership", &id, "insert", m)
    }

    async fn update_membership(&mut self, m: &Membership) -> Result<()> {
        self.ahead.members = None;
        sqlx::query("UPDATE memberships SET role = $1 WHERE team_id = $2 AND user_id = $3")
            .bind(&m.role)
            .bind(&m.team_id)
            .bind(&m.user_id)
            .execute(&mut *self.tx)
            .await?;
        let id = format!("{}/{}", m.team_id, m.user_id);
        self.change(Some(&m.team_id), "membership", &id, "update", m)
    }

    async fn delete_membership(&mut self, m: &Membership) -> Result<()> {
        self.ahead.members = None;
        sqlx::query("DELETE FROM memberships WHERE team_id = $1 AND user_id = $2")
            .bind(&m.team_id)
            .bind(&m.user_id)
            .execute(&mut *self.tx)
            .await?;
        let id = format!("{}/{}", m.team_id, m.user_id);
        self.change(Some(&m.team_id), "membership", &id, "delete", m)
    }

    async fn grants(&mut self, user: &UserId) -> Result<Vec<GrantRow>> {
        Ok(sqlx::query_as(
            "SELECT m.team_id, m.role, r.permissions FROM memberships m
             JOIN teams t ON t.id = m.team_id
             LEFT JOIN roles r ON r.org_id = t.org_id AND r.name = m.role
             WHERE m.user_id = $1 ORDER BY m.team_id",
        )
        .bind(user)
        .fetch_all(&mut *self.tx)
        .await?)
    }

    async fn insert_role(&mut self, role: &CustomRole) -> Result<()> {
        sqlx::query(
            "INSERT INTO roles (org_id, name, permissions, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&role.org_id)
        .bind(&role.name)
        .bind(Json(role.permissions))
        .bind(role.created_at)
        .bind(role.updated_at)
        .execute(&mut *self.tx)
        .await
        .map_err(unique("role", &role.name))?;
        self.change(None, "role", &format!("{}/{}", role.org_id, role.name), "insert", role)
    }

    async fn update_role(&mut self, role: &CustomRole) -> Result<()> {
        sqlx::query("UPDATE roles SET permissions = $1, updated_at = $2 WHERE org_id = $3 AND name = $4")
            .bind(Json(role.permissions))
            .bind(role.updated_at)
            .bind(&role.org_id)
            .bind(&role.name)
            .execute(&mut *self.tx)
            .await?;
        self.change(None, "role", &format!("{}/{}", role.org_id, role.name), "update", role)
    }

    async fn delete_role(&mut self, role: &CustomRole) -> Result<()> {
        sqlx::query("DELETE FROM roles WHERE org_id = $1 AND name = $2")
            .bind(&role.org_id)
            .bind(&role.name)
            .execute(&mut *self.tx)
            .await?;
        self.change(None, "role", &format!("{}/{}", role.org_id, role.name), "delete", role)
    }

    async fn roles(&mut self, org: &OrgId) -> Result<Vec<CustomRole>> {
        Ok(sqlx::query_as("SELECT * FROM roles WHERE org_id = $1 ORDER BY name")
            .bind(org)
            .fetch_all(&mut *self.tx)
            .await?)
    }

    async fn role_use(&mut self, org: &OrgId, role: &str) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM memberships m JOIN teams t ON t.id = m.team_id WHERE t.org_id = $1 AND m.role = $2",
        )
        .bind(org)
        .bind(role)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    async fn membership(&mut self, team: &TeamId, user: &UserId) -> Result<Option<Membership>> {
        if let Some(members) = self.members_ahead(team) {
            return Ok(members.iter().find(|m| &m.user_id == user).cloned());
        }
        Ok(sqlx::query_as("SELECT * FROM memberships WHERE team_id = $1 AND user_id = $2")
            .bind(team)
            .bind(user)
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    async fn members(&mut self, scope: &Scope, team: &TeamId) -> Result<Vec<Membership>> {
        let mut qb = scoped_select("memberships", scope);
        qb.push(" AND team_id = ").push_bind(team.clone()).push(" ORDER BY user_id");
        Ok(qb.build_query_as().fetch_all(&mut *self.tx).await?)
    }

    async fn members_with_role(&mut self, team: &TeamId, role: &str) -> Result<Vec<UserId>> {
        if let Some(members) = self.members_ahead(team) {
            return Ok(members.iter().filter(|m| m.role == role).map(|m| m.user_id.clone()).collect());
        }
        Ok(sqlx::query_scalar("SELECT user_id FROM memberships WHERE team_id = $1 AND role = $2 ORDER BY user_id")
            .bind(team)
            .bind(role)
            .fetch_all(&mut *self.tx)
            .await?)
    }

    async fn round_robin_cursor(&mut self, team: &TeamId, role: &str) -> Result<Option<UserId>> {
        Ok(sqlx::query_scalar("SELECT last_user_id FROM round_robin_cursors WHERE team_id = $1 AND role = $2")
            .bind(team)
            .bind(role)
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    async fn set_round_robin_cursor(&mut self, team: &TeamId, role: &str, user: &UserId) -> Result<()> {
        sqlx::query(
            "INSERT INTO round_robin_cursors (team_id, role, last_user_id) VALUES ($1, $2, $3)
             ON CONFLICT (team_id, role) DO UPDATE SET last_user_id = excluded.last_user_id",
        )
        .bind(team)
        .bind(role)
        .bind(user)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn insert_playbook(&mut self, p: &Playbook) -> Result<()> {
        sqlx::query("INSERT INTO playbooks (id, team_id, name, created_by, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&p.id)
            .bind(&p.team_id)
            .bind(&p.name)
            .bind(&p.created_by)
            .bind(p.created_at)
            .execute(&mut *self.tx)
            .await
            .map_err(unique("playbook", &p.name))?;
        self.change(Some(&p.team_id), "playbook", p.id.as_str(), "insert", p)
    }

    async fn playbook(&mut self, scope: &Scope, id: &PlaybookId) -> Result<Option<Playbook>> {
        if let Some((_, playbook)) = self.ahead.playbook.take_if(|(p, _)| p == id) {
            return Ok(playbook.filter(|p| scope.teams().contains_key(&p.team_id)));
        }
        let mut qb = scoped_select("playbooks", scope);
        qb.push(" AND id = ").push_bind(id.clone());
        Ok(qb.build_query_as().fetch_optional(&mut *self.tx).await?)
    }

    async fn playbooks(&mut self, scope: &Scope, team: Option<&TeamId>) -> Result<Vec<Playbook>> {
        let mut qb = scoped_select("playbooks", scope);
        if let Some(team) = team {
            qb.push(" AND team_id = ").push_bind(team.clone());
        }
        qb.push(" ORDER BY name, id");
        Ok(qb.build_query_as().fetch_all(&mut *self.tx).await?)
    }

    async fn update_playbook(&mut self, p: &Playbook) -> Result<()> {
        sqlx::query("UPDATE playbooks SET name = $1, archived_at = $2 WHERE id = $3")
            .bind(&p.name)
            .bind(p.archived_at)
            .bind(&p.id)
            .execute(&mut *self.tx)
            .await
            .map_err(unique("playbook", &p.name))?;
        self.change(Some(&p.team_id), "playbook", p.id.as_str(), "update", p)
    }

    async fn delete_playbook(&mut self, p: &Playbook) -> Result<()> {
        let branches: Vec<Branch> = sqlx::query_as("SELECT * FROM branches WHERE playbook_id = $1 ORDER BY name")
            .bind(&p.id)
            .fetch_all(&mut *self.tx)
            .await?;
        let versions: Vec<PlaybookVersion> =
            sqlx::query_as("SELECT * FROM playbook_versions WHERE playbook_id = $1 ORDER BY number DESC")
                .bind(&p.id)
                .fetch_all(&mut *self.tx)
                .await?;
        sqlx::query("DELETE FROM branches WHERE playbook_id = $1").bind(&p.id).execute(&mut *self.tx).await?;
        // One statement: the versions' references to their parents are checked at its end.
        sqlx::query("DELETE FROM playbook_versions WHERE playbook_id = $1").bind(&p.id).execute(&mut *self.tx).await?;
        sqlx::query("DELETE FROM playbooks WHERE id = $1").bind(&p.id).execute(&mut *self.tx).await?;
        for b in &branches {
            self.change(Some(&b.team_id), "branch", &format!("{}/{}", b.playbook_id, b.name), "delete", b)?;
        }
        for v in &versions {
            self.change(Some(&v.team_id), "playbook_version", v.id.as_str(), "delete", v)?;
        }
        self.change(Some(&p.team_id), "playbook", p.id.as_str(), "delete", p)
    }

    async fn playbook_instances(&mut self, playbook: &PlaybookId) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM instances WHERE playbook_id = $1")
            .bind(playbook)
            .fetch_one(&mut *self.tx)
            .await?)
    }

    async fn insert_version(&mut self, v: &PlaybookVersion) -> Result<()> {
        sqlx::query(
            "INSERT INTO playbook_versions (id, playbook_id, team_id, parent_id, number, definition, message, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&v.id)
        .bind(&v.playbook_id)
        .bind(&v.team_id)
        .bind(&v.parent_id)
        .bind(v.number)
        .bind(Json(&v.definition))
        .bind(&v.message)
        .bind(&v.created_by)
        .bind(v.created_at)
        .execute(&mut *self.tx)
        .await
        .map_err(unique("playbook version", v.id.as_str()))?;
        self.change(Some(&v.team_id), "playbook_version", v.id.as_str(), "insert", v)
    }

    async fn next_version_number(&mut self, playbook: &PlaybookId) -> Result<i64> {
        Ok(sqlx::query_scalar::<Db, i64>(
            "SELECT COALESCE(MAX(number), 0) + 1 FROM playbook_versions WHERE playbook_id = $1",
        )
        .bind(playbook)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    async fn version(&mut self, scope: &Scope, id: &VersionId) -> Result<Option<PlaybookVersion>> {
        let mut qb = scoped_select("playbook_versions", scope);
        qb.push(" AND id = ").push_bind(id.clone());
        Ok(qb.build_query_as().fetch_optional(&mut *self.tx).await?)
    }

    async fn versions(&mut self, scope: &Scope, playbook: &PlaybookId) -> Result<Vec<PlaybookVersion>> {
        let mut qb = scoped_select("playbook_versions", scope);
        qb.push(" AND playbook_id = ").push_bind(playbook.clone()).push(" ORDER BY number");
        Ok(qb.build_query_as().fetch_all(&mut *self.tx).await?)
    }

    async fn insert_branch(&mut self, b: &Branch) -> Result<()> {
        sqlx::query(
            "INSERT INTO branches (playbook_id, team_id, name, head, updated_at, revision) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&b.playbook_id)
        .bind(&b.team_id)
        .bind(&b.name)
        .bind(&b.head)
        .bind(b.updated_at)
        .bind(b.revision)
        .execute(&mut *self.tx)
        .await
        .map_err(unique("branch", &b.name))?;
        let id = format!("{}/{}", b.playbook_id, b.name);
        self.change(Some(&b.team_id), "branch", &id, "insert", b)
    }

    async fn update_branch(&mut self, b: &Branch, expected: i64) -> Result<()> {
        let done = sqlx::query(
            "UPDATE branches SET head = $1, updated_at = $2, revision = $3 WHERE playbook_id = $4 AND name = $5 AND revision = $6",
        )
        .bind(&b.head)
        .bind(b.updated_at)
        .bind(b.revision)
        .bind(&b.playbook_id)
        .bind(&b.name)
        .bind(expected)
        .execute(&mut *self.tx)
        .await?;
        let id = format!("{}/{}", b.playbook_id, b.name);
        if done.rows_affected() == 0 {
            return Err(self.revision_conflict("branches", "branch", &id, expected).await);
        }
        self.change(Some(&b.team_id), "branch", &id, "update", b)
    }

    async fn branch(&mut self, scope: &Scope, playbook: &PlaybookId, name: &str) -> Result<Option<Branch>> {
        if let Some((_, _, branch)) = self.ahead.branch.take_if(|(p, n, _)| p == playbook && n == name) {
            return Ok(branch.filter(|b| scope.teams().contains_key(&b.team_id)));
        }
        let mut qb = scoped_select("branches", scope);
        qb.push(" AND playbook_id = ").push_bind(playbook.clone()).push(" AND name = ").push_bind(name.to_string());
        Ok(qb.build_query_as().fetch_optional(&mut *self.tx).await?)
    }

    async fn branches(&mut self, scope: &Scope, playbook: &PlaybookId) -> Result<Vec<Branch>> {
        let mut qb = scoped_select("branches", scope);
        qb.push(" AND playbook_id = ").push_bind(playbook.clone()).push(" ORDER BY name");
        Ok(qb.build_query_as().fetch_all(&mut *self.tx).await?)
    }

    async fn insert_instance(&mut self, i: &Instance) -> Result<()> {
        self.defer(PendingRow::Instance(i.clone()), None);
        self.change(Some(&i.team_id), "instance", i.id.as_str(), "insert", i)
    }

    async fn update_instance(&mut self, i: &Instance, expected: i64) -> Result<()> {
        self.defer(PendingRow::Instance(i.clone()), Some(expected));
        self.change(Some(&i.team_id), "instance", i.id.as_str(), "update", i)
    }

    async fn instance(&mut self, scope: &Scope, id: &InstanceId) -> Result<Option<Instance>> {
        let instance = match self.ahead.instance.take_if(|i| &i.id == id) {
            Some(i) => Some(i).filter(|i| scope.teams().contains_key(&i.team_id)),
            None => {
                let mut qb = scoped_select("instances", scope);
                qb.push(" AND id = ").push_bind(id.clone());
                qb.build_query_as().fetch_optional(&mut *self.tx).await?
            }
        };
        self.read_instance(&instance);
        Ok(instance)
    }

    async fn instances(&mut self, scope: &Scope, f: &InstanceFilter) -> Result<Vec<Instance>> {
        let mut qb = scoped_select("instances", scope);
        if let Some(v) = &f.team_id {
            qb.push(" AND team_id = ").push_bind(v.clone());
        }
        if let Some(v) = &f.playbook_id {
            qb.push(" AND playbook_id = ").push_bind(v.clone());
        }
        if let Some(v) = f.status {
            qb.push(" AND status = ").push_bind(v.as_str());
        }
        if let Some(v) = f.started_after {
            qb.push(" AND started_at >= ").push_bind(v);
        }
        if let Some(v) = f.started_before {
            qb.push(" AND started_at < ").push_bind(v);
        }
        if let Some(v) = &f.assignee_id {
            qb.push(" AND id IN (SELECT instance_id FROM tasks WHERE current AND assignee_id = ").push_bind(v.clone());
            qb.push(")");
        }
        push_ids(&mut qb, &f.ids);
        push_page(&mut qb, f.after.clone(), f.newest_first, f.limit);
        Ok(qb.build_query_as().fetch_all(&mut *self.tx).await?)
    }

    async fn insert_task(&mut self, t: &Task) -> Result<()> {
        self.defer(PendingRow::Task(t.clone()), None);
        self.change(Some(&t.team_id), "task", t.id.as_str(), "insert", t)?;
        self.task_events(None, t)
    }

    async fn update_task(&mut self, before: &Task, after: &Task) -> Result<()> {
        self.defer(PendingRow::Task(after.clone()), Some(before.revision));
        self.change(Some(&after.team_id), "task", after.id.as_str(), "update", after)?;
        self.task_events(Some(before), after)
    }

    async fn task(&mut self, scope: &Scope, id: &TaskId) -> Result<Option<Task>> {
        let mut qb = scoped_select("tasks", scope);
        qb.push(" AND id = ").push_bind(id.clone());
        let task: Option<Task> = qb.build_query_as().fetch_optional(&mut *self.tx).await?;
        self.read_tasks(task.as_slice());
        Ok(task)
    }

    async fn tasks(&mut self, scope: &Scope, f: &TaskFilter) -> Result<Vec<Task>> {
        let mut qb = scoped_select("tasks", scope);
        if let Some(v) = &f.team_id {
            qb.push(" AND team_id = ").push_bind(v.clone());
        }
        if let Some(v) = &f.instance_id {
            qb.push(" AND instance_id = ").push_bind(v.clone());
        }
        if let Some(v) = &f.assignee_id {
            qb.push(" AND assignee_id = ").push_bind(v.clone());
        }
        if !f.statuses.is_empty() {
            qb.push(" AND status IN (");
            let mut list = qb.separated(", ");
            for s in &f.statuses {
                list.push_bind(s.as_str());
            }
            qb.push(")");
        }
        if let Some(v) = f.due_before {
            qb.push(" AND due_at < ").push_bind(v);
        }
        push_ids(&mut qb, &f.ids);
        push_page(&mut qb, f.after.clone(), f.newest_first, f.limit);
        Ok(qb.build_query_as().fetch_all(&mut *self.tx).await?)
    }

    async fn task_family(&mut self, scope: &Scope, id: &TaskId) -> Result<Vec<Task>> {
        let family = match self.ahead.family.take_if(|(t, _)| t == id) {
            Some((_, family)) => {
                let in_scope = family.first().is_some_and(|t| scope.teams().contains_key(&t.team_id));
                if in_scope { family } else { Vec::new() }
            }
            None => {
                let mut qb = QueryBuilder::<Db>::new(
                    "SELECT * FROM tasks WHERE instance_id = (SELECT instance_id FROM tasks WHERE id = ",
                );
                qb.push_bind(id.clone()).push(" AND ");
                push_in_teams(&mut qb, "team_id", scope.team_ids());
                qb.push(") ORDER BY id");
                qb.build_query_as().fetch_all(&mut *self.tx).await?
            }
        };
        self.read_tasks(&family);
        Ok(family)
    }

    async fn instance_tasks(&mut self, instance: &InstanceId) -> Result<Vec<Task>> {
        let tasks: Vec<Task> = sqlx::query_as("SELECT * FROM tasks WHERE instance_id = $1 ORDER BY id")
            .bind(instance)
            .fetch_all(&mut *self.tx)
            .await?;
        self.read_tasks(&tasks);
        Ok(tasks)
    }

    async fn insert_comment(&mut self, c: &Comment) -> Result<()> {
        sqlx::query(
            "INSERT INTO comments (id, team_id, instance_id, task_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&c.id)
        .bind(&c.team_id)
        .bind(&c.instance_id)
        .bind(&c.task_id)
        .bind(&c.author_id)
        .bind(&c.body)
        .bind(c.created_at)
        .execute(&mut *self.tx)
        .await?;
        self.change(Some(&c.team_id), "comment", c.id.as_str(), "insert", c)
    }

    async fn comment(&mut self, scope: &Scope, id: &CommentId) -> Result<Option<Comment>> {
        let mut qb = scoped_select("comments", scope);
        qb.push(" AND id = ").push_bind(id.clone());
        Ok(qb.build_query_as().fetch_optional(&mut *self.tx).await?)
    }

    async fn update_comment(&mut self, c: &Comment) -> Result<()> {
        sqlx::query("UPDATE comments SET body = $1, edited_at = $2 WHERE id = $3")
            .bind(&c.body)
            .bind(c.edited_at)
            .bind(&c.id)
            .execute(&mut *self.tx)
            .await?;
        self.change(Some(&c.team_id), "comment", c.id.as_str(), "update", c)
    }

    async fn delete_comment(&mut self, c: &Comment) -> Result<()> {
        sqlx::query("DELETE FROM comments WHERE id = $1").bind(&c.id).execute(&mut *self.tx).await?;
        self.change(Some(&c.team_id), "comment", c.id.as_str(), "delete", c)
    }

    async fn comments(&mut self, scope: &Scope, instance: &InstanceId) -> Result<Vec<Comment>> {
        let mut qb = scoped_select("comments", scope);
        qb.push(" AND instance_id = ").push_bind(instance.clone()).push(" ORDER BY id");
        Ok(qb.build_query_as().fetch_all(&mut *self.tx).await?)
    }

    fn audit(&mut self, entry: NewAuditEntry) {
        self.audit.push(entry);
    }

    async fn audit_entries(
        &mut self,
        org: &OrgId,
        org_wide: bool,
        teams: &[TeamId],
        f: &AuditFilter,
    ) -> Result<Vec<AuditEntry>> {
        let mut qb = QueryBuilder::<Db>::new("SELECT * FROM audit_log WHERE org_id = ");
        qb.push_bind(org.clone()).push(" AND (");
        push_in_teams(&mut qb, "team_id", teams);
        if org_wide {
            qb.push(" OR team_id IS NULL");
        }
        qb.push(")");
        if let Some(v) = &f.actor_id {
            qb.push(" AND actor_id = ").push_bind(v.clone());
        }
        if let Some(v) = &f.entity_id {
            qb.push(" AND entity_id = ").push_bind(v.clone());
        }
        if let Some(v) = &f.action {
            qb.push(" AND action = ").push_bind(v.clone());
        }
        if let Some(v) = f.since {
            qb.push(" AND at >= ").push_bind(v);
        }
        if let Some(v) = f.until {
            qb.push(" AND at < ").push_bind(v);
        }
        if let Some(v) = &f.team_id {
            qb.push(" AND team_id = ").push_bind(v.clone());
        }
        if let Some(v) = f.after {
            qb.push(" AND id > ").push_bind(v);
        }
        if let Some(v) = f.before {
            qb.push(" AND id < ").push_bind(v);
        }
        qb.push(if f.newest_first { " ORDER BY id DESC LIMIT " } else { " ORDER BY id LIMIT " }).push_bind(f.limit);
        Ok(qb.build_query_as().fetch_all(&mut *self.tx).await?)
    }

    async fn audit_chain(&mut self, org: &OrgId, chain: i32, after_seq: i64, limit: i64) -> Result<Vec<AuditEntry>> {
        Ok(sqlx::query_as(
            "SELECT * FROM audit_log WHERE org_id = $1 AND chain = $2 AND seq > $3 ORDER BY seq LIMIT $4",
        )
        .bind(org)
        .bind(chain)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?)
    }

    async fn audit_heads(&mut self, org: &OrgId) -> Result<Vec<(i32, i64, String)>> {
        Ok(sqlx::query_as("SELECT chain, seq, hash FROM audit_heads WHERE org_id = $1 ORDER BY chain")
            .bind(org)
            .fetch_all(&mut *self.tx)
            .await?)
    }
}

include!("sql_credentials.rs");

/// `INSERT INTO instances …` for the flush statement.
fn push_instance_insert(qb: &mut QueryBuilder<Db>, i: &Instance) {
    qb.push(
        "INSERT INTO instances (id, team_id, playbook_id, version_id, title, status, outcome, data, started_by, started_at, ended_at, revision) ",
    );
    qb.push_values([i], |mut b, i| {
        b.push_bind(i.id.clone())
            .push_bind(i.team_id.clone())
            .push_bind(i.playbook_id.clone())
            .push_bind(i.version_id.clone())
            .push_bind(i.title.clone())
            .push_bind(i.status.as_str())
            .push_bind(i.outcome.clone())
            .push_bind(Json(i.data.clone()))
            .push_bind(i.started_by.clone())
            .push_bind(i.started_at)
            .push_bind(i.ended_at)
            .push_bind(i.revision);
    });
}

/// A conditional `UPDATE instances …` that returns the row's key when the revision matched.
fn push_instance_update(qb: &mut QueryBuilder<Db>, i: &Instance, expected: i64) {
    qb.push("UPDATE instances SET title = ").push_bind(i.title.clone());
    qb.push(", status = ").push_bind(i.status.as_str());
    qb.push(", outcome = ").push_bind(i.outcome.clone());
    qb.push(", data = ").push_bind(Json(i.data.clone()));
    qb.push(", ended_at = ").push_bind(i.ended_at);
    qb.push(", revision = ").push_bind(i.revision);
    qb.push(" WHERE id = ").push_bind(i.id.clone());
    qb.push(" AND revision = ").push_bind(expected);
    qb.push(" RETURNING 'instance:' || id AS k");
}

/// `INSERT INTO tasks …` for the flush statement.
fn push_task_insert(qb: &mut QueryBuilder<Db>, t: &Task) {
    qb.push(
        "INSERT INTO tasks (id, team_id, instance_id, playbook_id, version_id, step_key, name, kind, status, attempt, current,
                            role, assignee_id, ready_at, assigned_at, started_at, completed_at, due_at, decision, output, revision) ",
    );
    qb.push_values([t], |mut b, t| {
        b.push_bind(t.id.clone())
            .push_bind(t.team_id.clone())
            .push_bind(t.instance_id.clone())
            .push_bind(t.playbook_id.clone())
            .push_bind(t.version_id.clone())
            .push_bind(t.step_key.clone())
            .push_bind(t.name.clone())
            .push_bind(t.kind.as_str())
            .push_bind(t.status.as_str())
            .push_bind(t.attempt)
            .push_bind(t.current)
            .push_bind(t.role.clone())
            .push_bind(t.assignee_id.clone())
            .push_bind(t.ready_at)
            .push_bind(t.assigned_at)
            .push_bind(t.started_at)
            .push_bind(t.completed_at)
            .push_bind(t.due_at)
            .push_bind(t.decision.clone())
            .push_bind(Json(t.output.clone()))
            .push_bind(t.revision);
    });
}

/// A conditional `UPDATE tasks …` that returns the row's key when the revision matched.
fn push_task_update(qb: &mut QueryBuilder<Db>, t: &Task, expected: i64) {
    qb.push("UPDATE tasks SET status = ").push_bind(t.status.as_str());
    qb.push(", current = ").push_bind(t.current);
    qb.push(", role = ").push_bind(t.role.clone());
    qb.push(", assignee_id = ").push_bind(t.assignee_id.clone());
    qb.push(", assigned_at = ").push_bind(t.assigned_at);
    qb.push(", started_at = ").push_bind(t.started_at);
    qb.push(", completed_at = ").push_bind(t.completed_at);
    qb.push(", decision = ").push_bind(t.decision.clone());
    qb.push(", output = ").push_bind(Json(t.output.clone()));
    qb.push(", revision = ").push_bind(t.revision);
    qb.push(" WHERE id = ").push_bind(t.id.clone());
    qb.push(" AND revision = ").push_bind(expected);
    qb.push(" RETURNING 'task:' || id AS k");
}
