//! What computing a report can fail with.

use orgata_warehouse::WarehouseError;

/// Everything a report can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The warehouse could not be read, or refused or failed the report's query.
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    /// A filter value is not acceptable (a malformed source name or id, an empty time range).
    #[error("invalid filter: {0}")]
    InvalidFilter(String),
    /// The answer has more rows than a report may hold (for example, more variants than
    /// [`crate::MAX_ROWS`]); a partial answer would be wrong, so none is given.
    #[error("the report has more than {0} rows; narrow the filter")]
    TooLarge(usize),
    /// The events a report holds in memory would take more than this many MiB.
    #[error("the report's events need more than {0} MiB of memory; narrow the filter")]
    Memory(usize),
    /// The query's answer did not have the shape the report expects (a bug, not bad input).
    #[error("unexpected query result: {0}")]
    Shape(String),
}
