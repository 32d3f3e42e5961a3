//! The SQLite store (the embedded default). SQLite has one writer at a time: write transactions
//! start with `BEGIN IMMEDIATE`, so they queue for the write lock instead of failing on upgrade,
//! and change_log's sequence order is commit order.
//!
//! Every statement is a round trip to the connection's own thread (sqlx), which costs more than
//! most of the statements themselves, so a write transaction sends `BEGIN IMMEDIATE` together
//! with the reads its operation names ([`ReadAhead`]) and `COMMIT` together with its writes
//! (see `FOLDS_COMMIT`): a task completion is two round trips.

use futures::TryStreamExt;
use sqlx::Either;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

/// The sqlx database of this backend.
type Db = Sqlite;
const BACKEND: Backend = Backend::Sqlite;
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

const READ_CHANGES_SQL: &str = "SELECT xid, seq, team_id, entity, entity_id, op, data, at FROM change_log
     WHERE (xid, seq) > ($1, $2)
     ORDER BY xid, seq
     LIMIT $3";

/// The newest position (one writer at a time: everything committed is readable).
const LOG_HEAD_SQL: &str = "SELECT xid, seq FROM change_log ORDER BY xid DESC, seq DESC LIMIT 1";

/// `BEGIN IMMEDIATE` already holds the database's single write lock.
const LOCK_SQL: Option<&str> = None;
/// SQLite has no notifications: readers poll.
const NOTIFIES: bool = false;
const LOCK_TASK_INSTANCE_SQL: Option<&str> = None;
/// An audit chain's head; the write lock already orders chain writers.
const AUDIT_HEAD_SQL: &str = "SELECT seq, hash FROM audit_heads WHERE org_id = $1 AND chain = $2";
/// One writer at a time: one chain per organisation.
const AUDIT_CHAINS: i32 = 1;
/// `COMMIT` may travel in the flush statement: `BEGIN IMMEDIATE` took the database's only write
/// lock before anything was read, so a conditional update whose expected revision was read in
/// this transaction cannot miss (the flush checks that before folding).
const FOLDS_COMMIT: bool = true;

/// Read-ahead of a task (`$1` the organisation, `$2` the task): `BEGIN`, the audit chain's
/// head, the task's family, its instance and its team's memberships, one result per statement.
const TASK_AHEAD_SQL: &str = "BEGIN IMMEDIATE;
    SELECT seq, hash FROM audit_heads WHERE org_id = $1 AND chain = 0;
    SELECT * FROM tasks WHERE instance_id = (SELECT instance_id FROM tasks WHERE id = $2) ORDER BY id;
    SELECT * FROM instances WHERE id = (SELECT instance_id FROM tasks WHERE id = $2);
    SELECT * FROM memberships WHERE team_id = (SELECT team_id FROM tasks WHERE id = $2) ORDER BY user_id LIMIT 201";

/// Read-ahead of a playbook (`$1` the organisation, `$2` the playbook, `$3` the branch): `BEGIN`,
/// the audit chain's head, the playbook, the branch and the playbook team's memberships.
const PLAYBOOK_AHEAD_SQL: &str = "BEGIN IMMEDIATE;
    SELECT seq, hash FROM audit_heads WHERE org_id = $1 AND chain = 0;
    SELECT * FROM playbooks WHERE id = $2;
    SELECT * FROM branches WHERE playbook_id = $2 AND name = $3;
    SELECT * FROM memberships WHERE team_id = (SELECT team_id FROM playbooks WHERE id = $2) ORDER BY user_id LIMIT 201";

/// The flush statement: the statements joined by `;`, executed in one round trip; conditional
/// updates return `k` rows.
struct Batch {
    qb: QueryBuilder<Db>,
    count: usize,
}

impl Batch {
    fn new() -> Self {
        Self { qb: QueryBuilder::new(""), count: 0 }
    }

    /// Adds a statement (its `RETURNING` rows come back from the batch).
    fn statement(&mut self, push: impl FnOnce(&mut QueryBuilder<Db>), _returns_key: bool) {
        if self.count > 0 {
            self.qb.push("; ");
        }
        push(&mut self.qb);
        self.count += 1;
    }

    /// Never called (see `NOTIFIES`).
    fn notify(&mut self) {}

    fn finish(self) -> QueryBuilder<Db> {
        self.qb
    }
}

include!("sql.rs");

/// The SQLite implementation of [`Store`].
pub type SqliteStore = SqlStore;

impl SqlStore {
    /// Opens (creating the file and its folder when missing, in WAL mode) and applies migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .pragma("cache_size", "-65536")
            // Checkpoints run in the background (below), not in whichever commit crosses the
            // threshold: that commit would wait for the fsyncs.
            .pragma("wal_autocheckpoint", "0")
            .foreign_keys(true);
        let path = options.get_filename();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| EngineError::Config(format!("cannot create {}: {e}", dir.display())))?;
        }
        // No ping before handing out a connection: the database is a file in this process.
        let write_pool = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&write_pool).await?;
        chain_legacy_audit(&write_pool).await?;
        let pool = SqlitePoolOptions::new().max_connections(8).test_before_acquire(false).connect_with(options).await?;
        let background = Some(tokio::spawn(checkpoint_periodically(pool.clone())));
        Ok(Self { pool, write_pool: Some(write_pool), background })
    }
}

/// Copies the WAL back into the database every second, without blocking writers (PASSIVE); a
/// failure is logged and retried on the next tick.
async fn checkpoint_periodically(pool: Pool<Db>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}

/// No listener: SQLite has no notifications.
async fn listen(_pool: &Pool<Db>) -> Result<Option<Box<dyn super::ChangeListener>>> {
    Ok(None)
}

/// Read-ahead fetches a team's memberships only up to this many (the statements fetch one more,
/// `LIMIT 201`); a larger team's are read one membership at a time, as without read-ahead.
const MEMBERS_AHEAD: usize = 200;

/// The rows a read-ahead found, however the backend fetched them.
#[derive(Default)]
struct Found {
    family: Vec<Task>,
    instance: Option<Instance>,
    playbook: Option<Playbook>,
    branch: Option<Branch>,
    members: Vec<Membership>,
}

impl Ahead {
    /// What `read` found, ready to be handed out. `family` must be in id order.
    fn of(read: &ReadAhead, found: Found) -> Ahead {
        let mut ahead = Ahead::default();
        let team = match read {
            ReadAhead::Task(id) => {
                let team = found.family.first().map(|t| t.team_id.clone());
                ahead.family = Some((id.clone(), found.family));
                ahead.instance = found.instance;
                team
            }
            ReadAhead::Playbook { id, branch } => {
                let team = found.playbook.as_ref().map(|p| p.team_id.clone());
                ahead.playbook = Some((id.clone(), found.playbook));
                ahead.branch = Some((id.clone(), branch.clone(), found.branch));
                team
            }
        };
        ahead.members = team.filter(|_| found.members.len() <= MEMBERS_AHEAD).map(|t| (t, found.members));
        ahead
    }
}

/// A transaction's connection: a sqlx transaction (reads), or the writer's.
enum TxConn {
    Read(Transaction<'static, Db>),
    Write(Writer),
}

/// The writer connection in a transaction begun by hand, so that `BEGIN` can travel with the
/// first reads and `COMMIT` with the writes. Dropped while open (an error, or a cancelled
/// request), it rolls back before the connection goes back to the pool.
struct Writer {
    /// Taken only by `drop`.
    conn: Option<PoolConnection<Db>>,
    open: bool,
}

/// Why a writer's connection is there whenever it is used.
const TAKEN_ON_DROP: &str = "a writer's connection is taken only when it is dropped";

impl Writer {
    async fn acquire(pool: &Pool<Db>) -> Result<Writer> {
        // Open from here on: if the `BEGIN` is cancelled half-way, dropping this rolls back.
        Ok(Writer { conn: Some(pool.acquire().await?), open: true })
    }

    fn conn(&mut self) -> &mut SqliteConnection {
        self.conn.as_deref_mut().expect(TAKEN_ON_DROP)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take().filter(|_| self.open) else { return };
        match tokio::runtime::Handle::try_current() {
            // The connection goes back to the pool when this task ends, after the rollback.
            // "No transaction is active" (a `BEGIN` that never ran) is as good as a rollback.
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(e) = sqlx::query("ROLLBACK").execute(&mut *conn).await {
                        tracing::debug!(error = %e, "rolling back an abandoned write transaction");
                    }
                });
            }
            // Closing a SQLite connection rolls its transaction back.
            Err(_) => conn.close_on_drop(),
        }
    }
}

impl std::ops::Deref for TxConn {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        match self {
            TxConn::Read(tx) => tx,
            TxConn::Write(w) => w.conn.as_deref().expect(TAKEN_ON_DROP),
        }
    }
}

impl std::ops::DerefMut for TxConn {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        match self {
            TxConn::Read(tx) => tx,
            TxConn::Write(w) => w.conn(),
        }
    }
}

impl TxConn {
    async fn commit(self) -> std::result::Result<(), sqlx::Error> {
        match self {
            TxConn::Read(tx) => tx.commit().await,
            TxConn::Write(mut w) => {
                sqlx::query("COMMIT").execute(w.conn()).await?;
                w.open = false;
                Ok(())
            }
        }
    }
}

/// After a flush statement that ended with `COMMIT` succeeded.
fn mark_committed(tx: &mut TxConn) {
    if let TxConn::Write(w) = tx {
        w.open = false;
    }
}

async fn begin_write_tx(pool: &Pool<Db>) -> Result<TxConn> {
    let mut writer = Writer::acquire(pool).await?;
    sqlx::query("BEGIN IMMEDIATE").execute(writer.conn()).await?;
    Ok(TxConn::Write(writer))
}

/// Begins a write transaction and reads what `ahead` names, in one round trip.
async fn begin_write_reading_tx(pool: &Pool<Db>, scope: &Scope, ahead: &ReadAhead) -> Result<(TxConn, Ahead)> {
    let mut writer = Writer::acquire(pool).await?;
    let query = match ahead {
        ReadAhead::Task(id) => sqlx::query(TASK_AHEAD_SQL).bind(scope.org_id()).bind(id),
        ReadAhead::Playbook { id, branch } => {
            sqlx::query(PLAYBOOK_AHEAD_SQL).bind(scope.org_id()).bind(id).bind(branch.as_str())
        }
    };
    // One list of rows per statement (`BEGIN` first), split where each statement ends.
    let (mut results, mut current) = (Vec::new(), Vec::new());
    {
        let mut stream = sqlx::Executor::fetch_many(writer.conn(), query);
        while let Some(item) = stream.try_next().await? {
            match item {
                Either::Left(_) => results.push(std::mem::take(&mut current)),
                Either::Right(row) => current.push(row),
            }
        }
    }
    let rows = |i: usize| results.get(i).map(Vec::as_slice).unwrap_or_default();
    let found = match ahead {
        ReadAhead::Task(_) => Found {
            family: decode(rows(2))?,
            instance: decode_one(rows(3))?,
            members: decode(rows(4))?,
            ..Found::default()
        },
        ReadAhead::Playbook { .. } => Found {
            playbook: decode_one(rows(2))?,
            branch: decode_one(rows(3))?,
            members: decode(rows(4))?,
            ..Found::default()
        },
    };
    let mut fetched = Ahead::of(ahead, found);
    let head: Option<(i64, String)> = decode_one(rows(1))?;
    fetched.audit_head = head.map(|h| (scope.org_id().clone(), 0, h));
    Ok((TxConn::Write(writer), fetched))
}

fn decode<T: for<'r> sqlx::FromRow<'r, SqliteRow>>(rows: &[SqliteRow]) -> sqlx::Result<Vec<T>> {
    rows.iter().map(T::from_row).collect()
}

fn decode_one<T: for<'r> sqlx::FromRow<'r, SqliteRow>>(rows: &[SqliteRow]) -> sqlx::Result<Option<T>> {
    rows.first().map(T::from_row).transpose()
}

async fn begin_read_tx(pool: &Pool<Db>) -> Result<TxConn> {
    Ok(TxConn::Read(pool.begin().await?))
}
