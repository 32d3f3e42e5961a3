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

/// A transaction-scoped advisory lock takes no transaction id, so it can precede the first write.
const LOCK_SQL: Option<&str> = Some("SELECT pg_advisory_xact_lock($1)");

include!("sql.rs");

/// The PostgreSQL implementation of [`Store`].
pub type PgStore = SqlStore;

impl SqlStore {
    /// Connects (pool of up to `ORGATA_DB_MAX_CONNECTIONS`, default 40) and applies migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        let max = std::env::var("ORGATA_DB_MAX_CONNECTIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(40);
        let pool = PgPoolOptions::new().max_connections(max).connect(url).await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool, writers: None })
    }
}

async fn begin_write_tx(pool: &Pool<Db>) -> Result<Transaction<'static, Db>> {
    Ok(pool.begin().await?)
}

async fn begin_read_tx(pool: &Pool<Db>) -> Result<Transaction<'static, Db>> {
    Ok(pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?)
}
