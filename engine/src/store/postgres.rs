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
/// would all serialise on its head). An operation that reads ahead holds its chain's head from its
/// first statement to its commit, so there are 64 rather than 16 (docs/benchmarks.md, engine
/// throughput).
const AUDIT_CHAINS: i32 = 64;
/// `COMMIT` is its own statement (the flush statement is one statement, and a conditional update
/// may miss: other writers run concurrently).
const FOLDS_COMMIT: bool = false;

/// The flush statement: data-modifying CTEs (`WITH w0 AS (INSERT …), w1 AS (UPDATE … RETURNING
/// k) … SELECT k FROM w1 …`), executed once each in one statement and one round trip.
struct Batch {
    qb: QueryBuilder<Db>,
    count: usize,
    returning: Vec<usize>,
}

impl Batch {
    fn new() -> Self {
        Self { qb: QueryBuilder::new("WITH "), count: 0, returning: Vec::new() }
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
    /// Connects (pool of up to `ORGATA_DB_MAX_CONNECTIONS`, default 10) and applies migrations.
    /// More connections than the database server has cores to run them mostly wait for each
    /// other, holding their locks: on a 2-core machine 40 connections ran the engine benchmark
    /// slower than 10 (docs/benchmarks.md).
    pub async fn connect(url: &str) -> Result<Self> {
        let max = std::env::var("ORGATA_DB_MAX_CONNECTIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
        let pool = PgPoolOptions::new().max_connections(max).connect(url).await?;
        MIGRATOR.run(&pool).await?;
        chain_legacy_audit(&pool).await?;
        let committed_changes = Signal::default();
        let background = vec![tokio::spawn(notify_committed_changes(pool.clone(), committed_changes.clone()))];
        Ok(Self { writes: pool.clone(), pool, background, committed_changes: Some(committed_changes) })
    }
}

/// The channel change listeners wait on: one per schema, so Orgata databases sharing a server (as
/// schemas) do not wake each other's streamers.
const NOTIFY_SQL: &str = "SELECT pg_notify('orgata_changes_' || current_schema(), '')";

/// Most notifications a store sends per second is `1 / NOTIFY_EVERY`.
const NOTIFY_EVERY: std::time::Duration = std::time::Duration::from_millis(10);

/// Notifies change listeners (the warehouse streamer) after write transactions commit change
/// events, at most once per `NOTIFY_EVERY` for all the commits since the last notification.
///
/// Writers do not notify themselves: PostgreSQL serialises the commits of notifying transactions
/// on one database-wide lock (taken in `PreCommit_Notify` and held through the commit's WAL flush),
/// which slowed `benches/throughput.rs` measurably (docs/benchmarks.md). A
/// notification is sent after the commits it announces, so a woken reader finds them; a failed
/// one is logged, and the listeners' own polling covers it.
async fn notify_committed_changes(pool: Pool<Db>, committed: Signal) {
    loop {
        committed.notified().await;
        if let Err(e) = sqlx::query(NOTIFY_SQL).execute(&pool).await {
            tracing::warn!(error = %e, "cannot notify change listeners");
        }
        tokio::time::sleep(NOTIFY_EVERY).await;
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

/// Reads ahead in one statement after `BEGIN`: the head of the audit chain this transaction will
/// append to (picked now, and row-locked as `AUDIT_HEAD_SQL` locks it), with either the task's
/// instance lock (taken as `LOCK_TASK_INSTANCE_SQL` takes it, and in the same order: the advisory
/// lock first, then the chain's head) or the playbook. That spares each operation the round trip
/// of its audit head. The other reads go to the database when asked: statements with parameters
/// cannot travel together, and one statement returning every row as JSON measured slower than the
/// separate reads (docs/benchmarks.md).
async fn begin_write_reading_tx(pool: &Writes, scope: &Scope, ahead: &ReadAhead) -> Result<(TxConn, Ahead)> {
    use sqlx::{FromRow, Row};
    let mut tx = begin_write_tx(pool).await?;
    let chain = pick_audit_chain();
    let mut qb = QueryBuilder::<Db>::new("SELECT h.seq AS ahead_seq, h.hash AS ahead_hash, ");
    match ahead {
        ReadAhead::Task(id) => {
            // Strict functions: no task in scope, no lock.
            qb.push("pg_advisory_xact_lock(hashtextextended(t.instance_id, 0)) AS locked FROM audit_heads h ");
            qb.push("LEFT JOIN tasks t ON t.id = ").push_bind(id.clone()).push(" AND ");
            push_in_teams(&mut qb, "t.team_id", scope.team_ids());
        }
        ReadAhead::Playbook { id, .. } => {
            qb.push("p.* FROM audit_heads h LEFT JOIN playbooks p ON p.id = ").push_bind(id.clone());
        }
    }
    qb.push(" WHERE h.org_id = ").push_bind(scope.org_id().clone());
    qb.push(" AND h.chain = ").push_bind(chain).push(" FOR UPDATE OF h");
    let mut fetched = Ahead::default();
    // No head (an organisation without its chains): the operation reads and locks as it goes.
    let Some(row) = qb.build().fetch_optional(&mut *tx).await? else { return Ok((tx, fetched)) };
    fetched.audit_head = Some((scope.org_id().clone(), chain, (row.try_get("ahead_seq")?, row.try_get("ahead_hash")?)));
    match ahead {
        ReadAhead::Task(id) => fetched.locked_task = Some(id.clone()),
        ReadAhead::Playbook { id, .. } => {
            let found = row.try_get::<Option<PlaybookId>, _>("id")?.is_some();
            fetched.playbook = Some((id.clone(), if found { Some(Playbook::from_row(&row)?) } else { None }));
        }
    }
    Ok((tx, fetched))
}

async fn begin_read_tx(pool: &Pool<Db>) -> Result<TxConn> {
    Ok(pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?)
}
