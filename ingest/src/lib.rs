//! Orgata's change-data pipeline (design.md): tails the engine's change log in commit order,
//! encodes each change as an Avro record, keeps the raw Avro change archive, converts batches to
//! Arrow and commits them exactly once to the warehouse's Delta tables; imports XES and CSV event
//! logs into the same tables. Built in the change-data issue (issue 5); what exists so far is the
//! Avro encoding of change events under versioned schemas (`avro`), the raw change archive in an
//! object store (`archive`), and copying the change log into it exactly once (`stream`).

pub mod archive;
pub mod avro;
pub mod stream;

/// Everything the pipeline can fail with.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Avro encoding or decoding failed (a corrupt or foreign file, or a schema mismatch).
    #[error("avro: {0}")]
    Avro(#[from] apache_avro::Error),
    /// The engine's store failed.
    #[error(transparent)]
    Engine(#[from] orgata_engine::EngineError),
    /// The object store failed.
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    /// A record decoded but does not hold a change event.
    #[error("malformed change event: {0}")]
    Malformed(String),
}
