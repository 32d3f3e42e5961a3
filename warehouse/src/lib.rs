//! Orgata's analytical store (design.md): Delta tables of Parquet files on object storage (a local
//! folder by default, S3-compatible storage by URL), queried read-only with SQL by DataFusion,
//! scoped to the caller's teams.
//!
//! - `tables`: the tables, their columns and partitioning.
//! - `location`: where the warehouse lives, and its object store.
//! - `delta`: appending to a table exactly once (the ingest position travels in the same Delta
//!   commit as the rows), reading that position back, compaction and clean-up.
//! - `sql`: analysts' SQL — read-only, team-scoped, with a timeout, a row limit and a memory limit.
//! - `scope`: the team scope applied at DataFusion's scan, behind a barrier no predicate crosses.
//! - `duck`: the same SQL on DuckDB, over the Parquet files of the same snapshot.
//! - `bounds`: the size and depth a query may have, and the threads queries run on.
//! - `redact`: query errors by kind, never quoting a row's value.
//! - `output`: query results as a text table, CSV, JSON or Parquet.

pub mod bounds;
pub mod delta;
pub mod duck;
pub mod location;
pub mod output;
mod redact;
mod scope;
pub mod sql;
pub mod tables;
#[cfg(feature = "testing")]
pub mod testing;

pub use delta::{LifecycleCount, Maintenance, SourceFiles, Watermark};
pub use duck::SqlEngine;
pub use location::Warehouse;
pub use output::OutputFormat;
pub use sql::{QueryLimits, QueryResult, SPILL_PER_MEMORY, TeamScope};
pub use tables::{ColumnKind, TableKind, TableSpec};

/// Everything the warehouse can fail with.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    /// The warehouse URL cannot be used.
    #[error("warehouse location `{url}`: {reason}")]
    Location { url: String, reason: String },
    /// A Delta table operation failed.
    #[error("delta table `{table}`: {source}")]
    Delta {
        table: String,
        #[source]
        source: Box<deltalake::DeltaTableError>,
    },
    /// Another writer appended to the table since this one read its position.
    #[error("table `{table}` was written concurrently (expected position {expected:?}, found {found:?})")]
    Concurrent { table: String, expected: Option<Watermark>, found: Option<Watermark> },
    /// Rows do not fit a table's schema.
    #[error("rows for `{table}`: {reason}")]
    Rows { table: String, reason: String },
    /// The object store failed.
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    /// The SQL is not a read-only query (DDL, DML, statements, or several statements).
    #[error("only a single read-only query is allowed: {0}")]
    NotReadOnly(String),
    /// The SQL is invalid or failed while running (an unknown table or column, a type error, a
    /// memory limit reached).
    #[error("{0}")]
    Query(String),
    /// The query is longer, or nests deeper, than a query may (`bounds`).
    #[error("{0}")]
    TooComplex(String),
    /// The query failed on a value while running, reported by kind only: the value is never
    /// quoted (`redact`).
    #[error("the query failed: {0}")]
    Failed(String),
    /// The query ran out of time.
    #[error("the query did not finish within {0:?}")]
    Timeout(std::time::Duration),
}

impl WarehouseError {
    fn delta(table: &str, source: deltalake::DeltaTableError) -> Self {
        WarehouseError::Delta { table: table.to_string(), source: Box::new(source) }
    }
}
