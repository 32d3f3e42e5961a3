//! Commits batches of change events to the warehouse's Delta tables exactly once.
//!
//! A batch goes to each table it has rows for, in the order of `tables::ALL`, each commit carrying
//! the batch's last position with its rows; `ingest_batches` is committed last for every batch,
//! so its position is where the next batch starts. After a crash between two of a batch's
//! commits, the batch is read again and each table takes only the changes after its own position:
//! none is lost, none is written twice (design.md, invariant 3).

use crate::IngestError;
use crate::convert::{table_of, to_batch};
use chrono::{DateTime, Utc};
use orgata_engine::{ChangeEvent, LogPosition};
use orgata_warehouse::tables::{self, TableSpec};
use orgata_warehouse::{Warehouse, Watermark};
use serde_json::{Map, json};
use std::collections::HashMap;

/// What one committed batch was.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed {
    /// Change events in the batch.
    pub changes: usize,
    /// Rows written over all tables (less than `changes` when some were already there, or are of
    /// records the warehouse does not keep).
    pub rows: usize,
    /// The batch's last position: where the next one starts.
    pub position: LogPosition,
    /// When the batch became queryable.
    pub committed_at: DateTime<Utc>,
    /// When the engine made each change of the batch (its freshness is `committed_at` minus this).
    pub change_times: Vec<DateTime<Utc>>,
}

impl Committed {
    /// From each change's commit in the engine to its rows being queryable.
    pub fn lags(&self) -> impl Iterator<Item = chrono::Duration> + '_ {
        self.change_times.iter().map(|at| self.committed_at - *at)
    }

    /// The largest of [`Committed::lags`]: that of the batch's oldest change.
    pub fn max_lag(&self) -> chrono::Duration {
        self.lags().max().unwrap_or_default()
    }
}

/// The warehouse as the ingest writes it, with the position each table holds.
pub struct Sink {
    warehouse: Warehouse,
    held: HashMap<&'static str, Option<Watermark>>,
}

impl Sink {
    /// Opens the sink, reading the position of every table.
    pub async fn open(warehouse: Warehouse) -> Result<Self, IngestError> {
        let mut held = HashMap::new();
        for spec in tables::ALL {
            held.insert(spec.name, warehouse.watermark(spec).await?);
        }
        Ok(Sink { warehouse, held })
    }

    /// The warehouse written to.
    pub fn warehouse(&self) -> &Warehouse {
        &self.warehouse
    }

    /// Where the next batch starts: the last position of the last batch committed in full.
    pub fn position(&self) -> LogPosition {
        position_of(self.held(&tables::INGEST_BATCHES))
    }

    /// The position `spec` holds.
    fn held(&self, spec: &TableSpec) -> Option<Watermark> {
        self.held.get(spec.name).copied().flatten()
    }

    /// Commits `batch` (in commit order, after [`Sink::position`]); nothing for an empty batch.
    pub async fn commit(&mut self, batch: &[ChangeEvent]) -> Result<Option<Committed>, IngestError> {
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else { return Ok(None) };
        if first.position <= self.position() {
            return Err(IngestError::Malformed(format!(
                "batch starts at {} but the warehouse already holds {}",
                first.position,
                self.position()
            )));
        }
        let reached = Watermark { xid: last.position.xid, seq: last.position.seq };
        let mut per_table: HashMap<&'static str, Vec<&ChangeEvent>> = HashMap::new();
        for change in batch {
            if let Some(spec) = table_of(&change.entity) {
                let after = position_of(self.held(spec));
                if change.position > after {
                    per_table.entry(spec.name).or_default().push(change);
                }
            }
        }
        let mut rows = 0;
        for spec in tables::ALL {
            let Some(changes) = per_table.get(spec.name) else { continue };
            let data = to_batch(spec, changes)?;
            rows += data.num_rows();
            self.append(spec, data, reached).await?;
        }
        let committed_at = Utc::now();
        let oldest = batch.iter().map(|c| c.at).min().unwrap_or(committed_at);
        let newest = batch.iter().map(|c| c.at).max().unwrap_or(committed_at);
        let mut row = Map::new();
        for (column, value) in [
            ("first_xid", json!(first.position.xid)),
            ("first_seq", json!(first.position.seq)),
            ("last_xid", json!(last.position.xid)),
            ("last_seq", json!(last.position.seq)),
            ("changes", json!(batch.len())),
            ("oldest_change_at", json!(oldest.to_rfc3339())),
            ("newest_change_at", json!(newest.to_rfc3339())),
            ("committed_at", json!(committed_at.to_rfc3339())),
        ] {
            row.insert(column.into(), value);
        }
        let spec = &tables::INGEST_BATCHES;
        self.append(spec, spec.rows_from_json(&[row])?, reached).await?;
        Ok(Some(Committed {
            changes: batch.len(),
            rows,
            position: last.position,
            committed_at,
            change_times: batch.iter().map(|c| c.at).collect(),
        }))
    }

    async fn append(
        &mut self,
        spec: &'static TableSpec,
        rows: arrow::array::RecordBatch,
        reached: Watermark,
    ) -> Result<(), IngestError> {
        self.warehouse.append(spec, vec![rows], self.held(spec), reached).await?;
        self.held.insert(spec.name, Some(reached));
        Ok(())
    }
}

fn position_of(watermark: Option<Watermark>) -> LogPosition {
    watermark.map(|w| LogPosition { xid: w.xid, seq: w.seq }).unwrap_or_default()
}
