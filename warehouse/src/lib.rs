//! Orgata's analytical store (design.md): Delta tables of Parquet files on object storage, queried
//! by DataFusion and DuckDB over the same snapshot, with team isolation and a full-text index.
//! This crate pins the analytical stack (arrow/parquet 58, DataFusion 53.1, deltalake 0.32,
//! DuckDB, object_store 0.13, tantivy 0.27) so the workspace resolves to one arrow version; its
//! integration test proves the stack works together on this machine.
