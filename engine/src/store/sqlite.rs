//! The SQLite store (the embedded default). SQLite has one writer at a time: write transactions
//! start with `BEGIN IMMEDIATE`, so they queue for the write lock instead of failing on upgrade,
//! and change_log's sequence order is commit order.

use sqlx::sqlite::{Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
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
const NOTIFY_SQL: Option<&str> = None;
const LOCK_TASK_INSTANCE_SQL: Option<&str> = None;
/// An audit chain's head; the write lock already orders chain writers.
const AUDIT_HEAD_SQL: &str = "SELECT seq, hash FROM audit_heads WHERE org_id = $1 AND chain = $2";
/// One writer at a time: one chain per organisation.
const AUDIT_CHAINS: i32 = 1;

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
        let write_pool = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        MIGRATOR.run(&write_pool).await?;
        chain_legacy_audit(&write_pool).await?;
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
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

async fn begin_write_tx(pool: &Pool<Db>) -> Result<Transaction<'static, Db>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

async fn begin_read_tx(pool: &Pool<Db>) -> Result<Transaction<'static, Db>> {
    Ok(pool.begin().await?)
}
