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
    /// A report would compare more pairs of events than it may (the temporal profile's cases
    /// are too long).
    #[error("the report would compare {pairs} pairs of events, more than {limit}; narrow the filter")]
    TooManyPairs { pairs: u64, limit: u64 },
    /// Too few finished cases to learn from (or to test on).
    #[error("{0}")]
    NotEnoughHistory(String),
    /// A stored model (or its card) cannot be read: corrupt or from another version of Orgata;
    /// training again writes a new one.
    #[error("{0}; train the model again")]
    ModelUnreadable(String),
    /// A model could not be trained or asked (a bug, not bad input).
    #[error("the prediction model failed: {0}")]
    Model(String),
    /// The query's answer did not have the shape the report expects (a bug, not bad input).
    #[error("unexpected query result: {0}")]
    Shape(String),
}
