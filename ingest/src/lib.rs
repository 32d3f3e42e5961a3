//! Orgata's change-data pipeline (design.md): tails the engine's change log in commit order,
//! encodes each change as an Avro record, keeps the raw Avro change archive, converts batches to
//! Arrow and commits them exactly once to the warehouse's Delta tables; imports XES and CSV event
//! logs into the same tables.
//!
//! - `avro`: change events as Avro records under the versioned schemas of `ingest/schemas/`.
//! - `archive`: the raw change archive, Avro files in the warehouse's object store.
//! - `convert`: change events as Arrow rows of the warehouse's tables.
//! - `import`: XES and CSV event logs into `events`.
//! - `sink`: committing batches to the Delta tables exactly once.
//! - `stream`: the streamer that ties them together.
//! - `verify`: checking that the warehouse equals the change log.

pub mod archive;
pub mod avro;
pub mod convert;
pub mod import;
pub mod sink;
pub mod stream;
pub mod verify;

/// Everything the pipeline can fail with.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Avro encoding or decoding failed (a corrupt or foreign file, or a schema mismatch).
    #[error("avro: {0}")]
    Avro(#[from] apache_avro::Error),
    /// The engine's store failed.
    #[error(transparent)]
    Engine(#[from] orgata_engine::EngineError),
    /// The warehouse failed.
    #[error(transparent)]
    Warehouse(Box<orgata_warehouse::WarehouseError>),
    /// The object store failed.
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    /// An event log could not be imported; nothing was written.
    #[error("{location}: {message}")]
    Import { location: String, message: String },
    /// Another streamer holds the warehouse lease: only one writes at a time.
    #[error("another streamer is writing the warehouse (it holds the `warehouse-streamer` lease)")]
    LeaseHeld,
    /// A record decoded but does not hold a change event.
    #[error("malformed change event: {0}")]
    Malformed(String),
}

impl From<orgata_warehouse::WarehouseError> for IngestError {
    fn from(e: orgata_warehouse::WarehouseError) -> Self {
        IngestError::Warehouse(Box::new(e))
    }
}
