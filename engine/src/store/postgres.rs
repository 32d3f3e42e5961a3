//! The PostgreSQL store.
//!
//! Commit order (invariant 3): each change_log row carries `pg_current_xact_id()`. A reader takes
//! rows in `(xid, seq)` order, and only those whose transaction id is below the oldest transaction
//! still running (`pg_snapshot_xmin`), so no transaction can still add a row before them. Writers of
//! one aggregate take a transaction-scoped advisory lock before their first write (which is when
//! PostgreSQL assigns the transaction id), so for two transactions that touch the same aggregate
//! transaction-id order is their commit order; transactions on different aggregates commute.

use sqlx::postgres::{PgPoolOptions, Postgres};

/// The sqlx database of this backend.
type Db = Postgres;
const BACKEND: Backend = Backend::Postgres;
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

const READ_CHANGES_SQL: &str = "SELECT xid, seq, team_id, entity, entity_id, op, data, at FROM change_log
     WHERE (xid, seq) > ($1, $2)
       AND xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
     ORDER BY xid, seq
     LIMIT $3";

/// The newest position no running transaction can still write before.
const LOG_HEAD_SQL: &str = "SELECT xid, seq FROM change_log
     WHERE xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
     ORDER BY xid DESC, seq DESC LIMIT 1";

/// A transaction that wrote change events wakes listeners (the warehouse streamer) as it
/// commits: the flush statement notifies (see `Batch::notify`).
const NOTIFIES: bool = true;
/// A transaction-scoped advisory lock takes no transaction id, so it can precede the first write.
const LOCK_SQL: Option<&str> = Some("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))");
/// Followed by the task id and the caller's team filter.
const LOCK_TASK_INSTANCE_SQL: Option<&str> =
    Some("SELECT pg_advisory_xact_lock(hashtextextended(instance_id, 0)) FROM tasks WHERE id = ");
/// An audit chain's head, row-locked until commit: the chain's writers queue here, just before
/// their commit, so a chain's entries are linked in commit order.
const AUDIT_HEAD_SQL: &str = "SELECT seq, hash FROM audit_heads WHERE org_id = $1 AND chain = $2 FOR UPDATE";
/// Parallel chains per organisation: a transaction appends to one chosen at random, so concurrent
/// writers of one organisation rarely queue behind each other's commit (with a single chain they
/// would all serialise on its head: 83 instances/s instead of 500+ in `benches/throughput.rs`).
const AUDIT_CHAINS: i32 = 16;
/// `COMMIT` is its own statement (the flush statement is one statement, and a conditional update
/// may miss: other writers run concurrently).
const FOLDS_COMMIT: bool = false;

/// The flush statement: data-modifying CTEs (`WITH w0 AS (INSERT …), w1 AS (UPDATE … RETURNING
/// k) … SELECT k FROM w1 …`), executed once each in one statement and one round trip.
struct Batch {
    qb: QueryBuilder<Db>,
    count: usize,
    returning: Vec<usize>,
    notify: bool,
}

impl Batch {
    fn new() -> Self {
        Self { qb: QueryBuilder::new("WITH "), count: 0, returning: Vec::new(), notify: false }
    }

    /// Makes the statement notify `orgata_changes_<schema>` (delivered at commit). The channel is
    /// per schema, so Orgata databases sharing a server (as schemas) do not wake each other's
    /// streamers. The notification's row has no key.
    fn notify(&mut self) {
        self.notify = true;
    }

    /// Adds a statement; `returns_key` when it is a conditional update returning `k`.
    fn statement(&mut self, push: impl FnOnce(&mut QueryBuilder<Db>), returns_key: bool) {
        if self.count > 0 {
            self.qb.push(", ");
        }
        self.qb.push(format!("w{} AS (", self.count));
        push(&mut self.qb);
        self.qb.push(")");
        if returns_key {
            self.returning.push(self.count);
        }
        self.count += 1;
    }

    fn finish(mut self) -> QueryBuilder<Db> {
        let mut selects: Vec<String> = self.returning.iter().map(|i| format!("SELECT k FROM w{i}")).collect();
        if self.notify {
            selects.push(
                "SELECT NULL::text AS k FROM (SELECT pg_notify('orgata_changes_' || current_schema(), '')) AS notified"
                    .into(),
            );
        }
        if selects.is_empty() {
            selects.push("SELECT NULL::text AS k WHERE false".into());
        }
        self.qb.push(format!(" {}", selects.join(" UNION ALL ")));
        self.qb
    }
}

include!("sql.rs");

/// The PostgreSQL implementation of [`Store`].
pub type PgStore = SqlStore;

impl SqlStore {
    /// Connects (pool of up to `ORGATA_DB_MAX_CONNECTIONS`, default 40) and applies migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        let max = std::env::var("ORGATA_DB_MAX_CONNECTIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(40);
        let pool = PgPoolOptions::new().max_connections(max).connect(url).await?;
        MIGRATOR.run(&pool).await?;
        chain_legacy_audit(&pool).await?;
        Ok(Self { writes: pool.clone(), pool, background: Vec::new() })
    }
}

/// A listener on `orgata_changes` over its own connection.
async fn listen(pool: &Pool<Db>) -> Result<Option<Box<dyn super::ChangeListener>>> {
    let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
    let schema: String = sqlx::query_scalar("SELECT current_schema()").fetch_one(pool).await?;
    listener.listen(&format!("orgata_changes_{schema}")).await?;
    Ok(Some(Box::new(PgChangeListener(listener))))
}

struct PgChangeListener(sqlx::postgres::PgListener);

#[async_trait::async_trait]
impl super::ChangeListener for PgChangeListener {
    async fn wait(&mut self, timeout: std::time::Duration) -> Result<bool> {
        match tokio::time::timeout(timeout, self.0.recv()).await {
            Ok(Ok(_)) => Ok(true),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Ok(false),
        }
    }
}

/// A transaction's connection.
type TxConn = Transaction<'static, Db>;

/// Write transactions begin on the pool, like reads.
type Writes = Pool<Db>;

/// Runs the last flush statement. `COMMIT` never travels in it here (see `FOLDS_COMMIT`): the
/// transaction commits after it.
const _: () = assert!(!FOLDS_COMMIT, "finish_batch does not commit");
async fn finish_batch(tx: &mut TxConn, batch: Batch) -> Result<Vec<String>> {
    run_batch(tx, batch).await
}

async fn begin_write_tx(pool: &Writes) -> Result<TxConn> {
    Ok(pool.begin().await?)
}

/// Nothing to close beyond the pool.
async fn close_writes(_pool: &Writes) {}

/// PostgreSQL reads nothing ahead: statements with parameters cannot travel together, and one
/// statement returning the rows as JSON measured slower than the separate reads (275–288 against
/// 345–354 instances/s in `benches/throughput.rs`, 32 workers), as the reads are cheap next to
/// the server's work per statement.
async fn begin_write_reading_tx(pool: &Writes, _scope: &Scope, _ahead: &ReadAhead) -> Result<(TxConn, Ahead)> {
    Ok((begin_write_tx(pool).await?, Ahead::default()))
}

async fn begin_read_tx(pool: &Pool<Db>) -> Result<TxConn> {
    Ok(pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?)
}
