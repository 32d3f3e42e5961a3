//! Writing to the warehouse's Delta tables exactly once, and keeping them fast to read.
//!
//! Every append carries the ingest position it reaches as Delta application transactions
//! (`txn` actions) in the same commit as its rows: the rows and the position become visible
//! together or not at all (design.md, invariant 3). A writer that restarts reads the position back
//! and skips what a table already holds.

use crate::location::Warehouse;
use crate::tables::TableSpec;
use crate::{TeamScope, WarehouseError, tables};
use arrow::array::RecordBatch;
use deltalake::kernel::transaction::TransactionError;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, Remove, Transaction};
use deltalake::protocol::DeltaOperation;
use deltalake::protocol::SaveMode;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::{DeltaTable, DeltaTableError};
use futures::{Stream, StreamExt};
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use std::collections::BTreeSet;
use std::num::NonZeroU64;
use std::time::Duration;

/// The application ids under which a table records the ingest position it holds.
const XID_APP: &str = "orgata-ingest.xid";
const SEQ_APP: &str = "orgata-ingest.seq";

/// How far into the engine's change log a table's contents reach: the position of the last change
/// it holds. Ordered like change-log positions, `(xid, seq)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Watermark {
    pub xid: i64,
    pub seq: i64,
}

/// Parquet settings for imported events: no dictionary for the columns whose values all differ
/// (it would only be built to be dropped), statistics per column chunk (what the table's data
/// skipping reads) rather than per page, and one row group per file: the Delta writer copies
/// what a file has written so far on every batch, so rows stay in the row group being built
/// until the file is written out at [`IMPORT_FILE_BYTES`].
fn import_properties() -> WriterProperties {
    let mut properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_max_row_group_row_count(None);
    for column in ["event_id", "ordinal", "ts", "start_ts"] {
        properties = properties.set_column_dictionary_enabled(ColumnPath::from(column), false);
    }
    properties.build()
}

/// Encoded rows an import holds before writing them out as files.
const IMPORT_FILE_BYTES: usize = 128 << 20;

/// What the events table's log tells of one source's events within a scope
/// ([`Warehouse::source_files`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFiles {
    /// The teams that have events of the source.
    pub teams: BTreeSet<String>,
    /// The source's events per lifecycle spelling, in the order first met, where every file's
    /// statistics settle them: each file has one spelling (its minimum is its maximum, short
    /// enough not to be a truncated one), a row count and the null count of `task_id`, and no
    /// deletion vector. `None` where a file does not.
    pub lifecycles: Option<Vec<LifecycleCount>>,
}

/// A source's events of one lifecycle spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleCount {
    pub lifecycle: String,
    pub events: u64,
    /// Of those, the events with a task id.
    pub with_task: u64,
}

/// Lifecycle values at most this long are taken from a file's statistics: Parquet truncates
/// longer minima and maxima (to 64 bytes by default), which could then be equal for two values.
const EXACT_STATISTICS: usize = 32;

/// The one lifecycle spelling of a file and its counts, from the file's statistics (Delta's JSON:
/// `numRecords`, `minValues`, `maxValues`, `nullCount`), where they settle it.
fn one_lifecycle(stats: &str) -> Option<LifecycleCount> {
    let stats: serde_json::Value = serde_json::from_str(stats).ok()?;
    let rows = stats.get("numRecords")?.as_u64()?;
    let lifecycle = stats.get("minValues")?.get("lifecycle")?.as_str()?;
    let nulls = |column: &str| stats.get("nullCount")?.get(column)?.as_u64();
    let single = stats.get("maxValues")?.get("lifecycle")?.as_str()? == lifecycle
        && lifecycle.len() < EXACT_STATISTICS
        && nulls("lifecycle")? == 0;
    let with_task = rows.checked_sub(nulls("task_id")?)?;
    single.then(|| LifecycleCount { lifecycle: lifecycle.to_string(), events: rows, with_task })
}

/// A file's value of a partition column (`None` without one).
fn partition_value<'a>(file: &'a Remove, column: &str) -> Option<&'a str> {
    file.partition_values.as_ref()?.get(column)?.as_deref()
}

/// The position `table` (as loaded) holds.
async fn watermark_of(spec: &TableSpec, table: &DeltaTable) -> Result<Option<Watermark>, WarehouseError> {
    let snapshot = table.snapshot().map_err(|e| WarehouseError::delta(spec.name, e))?;
    let log_store = table.log_store();
    let version = |app: &'static str| snapshot.transaction_version(log_store.as_ref(), app);
    let xid = version(XID_APP).await.map_err(|e| WarehouseError::delta(spec.name, e))?;
    let seq = version(SEQ_APP).await.map_err(|e| WarehouseError::delta(spec.name, e))?;
    Ok(match (xid, seq) {
        (Some(xid), Some(seq)) => Some(Watermark { xid, seq }),
        _ => None,
    })
}

/// What compaction and clean-up did to one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Maintenance {
    pub table: &'static str,
    /// Small files rewritten into bigger ones, and the files written.
    pub files_compacted: u64,
    pub files_written: u64,
    /// Unreferenced files older than the retention period that were deleted.
    pub files_deleted: usize,
    /// The table version a checkpoint was written for.
    pub checkpoint_version: u64,
}

impl Warehouse {
    /// The ingest position a table holds (`None` when nothing was ever appended to it).
    pub async fn watermark(&self, spec: &TableSpec) -> Result<Option<Watermark>, WarehouseError> {
        watermark_of(spec, &self.table(spec).await?).await
    }

    /// What the events table's log tells of `source`'s events within `scope`, no data read: the
    /// teams that have some (their files' partition values), and where the files' statistics
    /// settle it, how many events each lifecycle spelling has ([`SourceFiles::lifecycles`]).
    pub async fn source_files(&self, scope: &TeamScope, source: &str) -> Result<SourceFiles, WarehouseError> {
        let spec = &tables::EVENTS;
        let table = self.table(spec).await?;
        let snapshot = table.snapshot().map_err(|e| WarehouseError::delta(spec.name, e))?;
        let mut teams = BTreeSet::new();
        let mut lifecycles = Some(Vec::<LifecycleCount>::new());
        for file in snapshot.log_data().iter() {
            let remove = file.remove_action(false);
            let Some(team) = partition_value(&remove, "team_id") else { continue };
            if partition_value(&remove, "source") != Some(source) || !scope.includes(team) {
                continue;
            }
            teams.insert(team.to_string());
            let Some(counts) = &mut lifecycles else { continue };
            let one = file.deletion_vector_descriptor().is_none().then(|| file.stats()).flatten();
            let Some(one) = one.and_then(|stats| one_lifecycle(&stats)) else {
                lifecycles = None;
                continue;
            };
            match counts.iter_mut().find(|c| c.lifecycle == one.lifecycle) {
                Some(count) => {
                    count.events += one.events;
                    count.with_task += one.with_task;
                }
                None => counts.push(one),
            }
        }
        Ok(SourceFiles { teams, lifecycles })
    }

    /// Appends `batches` (of the table's schema) and records `reached` in the same commit, if the
    /// table still holds `from`: a writer that lost a race to another one gets
    /// [`WarehouseError::Concurrent`] instead of writing the rows twice (Delta's conflict check
    /// covers the race between reading the position and committing). Returns the table version.
    pub async fn append(
        &self,
        spec: &TableSpec,
        batches: Vec<RecordBatch>,
        from: Option<Watermark>,
        reached: Watermark,
    ) -> Result<u64, WarehouseError> {
        let schema = spec.schema();
        if let Some(batch) = batches.iter().find(|b| b.schema().fields() != schema.fields()) {
            return Err(WarehouseError::Rows {
                table: spec.name.into(),
                reason: format!("schema {:?} is not the table's {:?}", batch.schema(), schema),
            });
        }
        let table = self.table(spec).await?;
        let held = watermark_of(spec, &table).await?;
        if held != from {
            return Err(WarehouseError::Concurrent { table: spec.name.into(), expected: from, found: held });
        }
        let commit = CommitProperties::default().with_application_transactions(vec![
            Transaction::new(XID_APP, reached.xid),
            Transaction::new(SEQ_APP, reached.seq),
        ]);
        let written = table
            .write(batches)
            .with_save_mode(SaveMode::Append)
            .with_partition_columns(spec.partition_by.iter().copied())
            .with_commit_properties(commit)
            .await;
        match written {
            Ok(table) => Ok(table.version().unwrap_or_default()),
            Err(DeltaTableError::Transaction { source: TransactionError::CommitConflict(_) }) => {
                Err(WarehouseError::Concurrent { table: spec.name.into(), expected: from, found: None })
            }
            Err(e) => Err(WarehouseError::delta(spec.name, e)),
        }
    }

    /// Replaces the `events` of one imported source of a team with `batches`, in one commit: the
    /// import is visible completely or not at all, and importing again replaces it.
    pub async fn replace_source(
        &self,
        team: &str,
        source: &str,
        batches: Vec<RecordBatch>,
    ) -> Result<u64, WarehouseError> {
        self.replace_source_streaming(
            team,
            source,
            futures::stream::iter(batches.into_iter().map(Ok::<_, std::convert::Infallible>)),
        )
        .await
    }

    /// [`Warehouse::replace_source`] from a stream of batches, written as they arrive (the import
    /// parses while the table writes). A stream that yields an error commits nothing.
    ///
    /// `team_id` and `source` are partition columns, so the source's old files are known from the
    /// table's log alone: the commit removes them and adds the new ones, reading no data.
    pub async fn replace_source_streaming<E>(
        &self,
        team: &str,
        source: &str,
        batches: impl Stream<Item = Result<RecordBatch, E>> + Send + 'static,
    ) -> Result<u64, WarehouseError>
    where
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let spec = &tables::EVENTS;
        let delta = |e| WarehouseError::delta(spec.name, e);
        let rows = |reason: String| WarehouseError::Rows { table: spec.name.into(), reason };
        let table = self.table(spec).await?;
        let snapshot = table.snapshot().map_err(delta)?;
        let partitioning = snapshot.metadata().partition_columns().to_vec();
        if !["team_id", "source"].iter().all(|column| partitioning.iter().any(|p| p == column)) {
            return Err(rows(format!("the table is partitioned by {partitioning:?}, not by team_id and source")));
        }
        let schema = spec.schema();
        let mut writer =
            RecordBatchWriter::for_table(&table).map_err(delta)?.with_writer_properties(import_properties());
        let mut added = Vec::new();
        let mut batches = std::pin::pin!(batches);
        while let Some(batch) = batches.next().await {
            let batch = batch.map_err(|e| {
                let e: Box<dyn std::error::Error + Send + Sync> = e.into();
                rows(e.to_string())
            })?;
            if batch.schema().fields() != schema.fields() {
                return Err(rows(format!("schema {:?} is not the table's {:?}", batch.schema(), schema)));
            }
            writer.write(batch).await.map_err(delta)?;
            if writer.buffer_len() >= IMPORT_FILE_BYTES {
                added.extend(writer.flush().await.map_err(delta)?);
            }
        }
        added.extend(writer.flush().await.map_err(delta)?);
        let is_replaced = |remove: &Remove| {
            partition_value(remove, "team_id") == Some(team) && partition_value(remove, "source") == Some(source)
        };
        let files = snapshot.log_data();
        let removed = files.iter().map(|file| file.remove_action(true)).filter(is_replaced);
        let actions: Vec<Action> = removed.map(Action::Remove).chain(added.into_iter().map(Action::Add)).collect();
        let quote = |s: &str| s.replace('\'', "''");
        let operation = DeltaOperation::Write {
            mode: SaveMode::Overwrite,
            partition_by: Some(partitioning),
            predicate: Some(format!("team_id = '{}' AND source = '{}'", quote(team), quote(source))),
        };
        let commit = CommitBuilder::from(CommitProperties::default())
            .with_actions(actions)
            .build(Some(snapshot), table.log_store(), operation)
            .await;
        Ok(commit.map_err(delta)?.version())
    }

    /// Compacts a table's small files into files of about `target_bytes`, writes a checkpoint,
    /// and deletes files no version within `retention` needs. Readers of older snapshots keep
    /// working for `retention`.
    pub async fn maintain(
        &self,
        spec: &'static TableSpec,
        target_bytes: u64,
        retention: Duration,
    ) -> Result<Maintenance, WarehouseError> {
        let delta = |e| WarehouseError::delta(spec.name, e);
        let table = self.table(spec).await?;
        let target = NonZeroU64::new(target_bytes.max(1)).expect("at least 1");
        let (table, metrics) = table.optimize().with_target_size(target).await.map_err(delta)?;
        deltalake::checkpoints::create_checkpoint(&table, None).await.map_err(delta)?;
        let checkpoint_version = table.version().unwrap_or_default();
        let retention = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
        let (_, vacuumed) = table
            .vacuum()
            .with_retention_period(retention)
            .with_enforce_retention_duration(false)
            .await
            .map_err(delta)?;
        Ok(Maintenance {
            table: spec.name,
            files_compacted: metrics.num_files_removed,
            files_written: metrics.num_files_added,
            files_deleted: vacuumed.files_deleted.len(),
            checkpoint_version,
        })
    }

    /// [`Warehouse::maintain`] for every table.
    pub async fn maintain_all(
        &self,
        target_bytes: u64,
        retention: Duration,
    ) -> Result<Vec<Maintenance>, WarehouseError> {
        let mut done = Vec::new();
        for spec in tables::ALL {
            done.push(self.maintain(spec, target_bytes, retention).await?);
        }
        Ok(done)
    }

    /// Empties the warehouse of what came from the engine's change log, for a rebuild from the
    /// change archive: every table but `events` is deleted, and `events` loses the engine's rows
    /// (source [`tables::ENGINE_SOURCE`]) but keeps imported logs, with its ingest position back at
    /// the start, in one commit. The archive is kept.
    pub async fn clear_change_data(&self) -> Result<(), WarehouseError> {
        use futures::TryStreamExt;
        use object_store::ObjectStoreExt;
        let store = self.object_store();
        for spec in tables::ALL.iter().filter(|spec| spec.name != tables::EVENTS.name) {
            let prefix = object_store::path::Path::from(spec.name);
            let objects: Vec<_> = store.list(Some(&prefix)).map_ok(|m| m.location).try_collect().await?;
            for location in objects {
                store.delete(&location).await?;
            }
        }
        let spec = &tables::EVENTS;
        let delta = |e| WarehouseError::delta(spec.name, e);
        let start = Watermark::default();
        let reset = || {
            CommitProperties::default().with_application_transactions(vec![
                Transaction::new(XID_APP, start.xid),
                Transaction::new(SEQ_APP, start.seq),
            ])
        };
        let table = self.table(spec).await?;
        if watermark_of(spec, &table).await?.is_none_or(|held| held == start) {
            return Ok(());
        }
        // `source` is a partition column: the delete removes whole files, rewriting none.
        let predicate = format!("source = '{}'", tables::ENGINE_SOURCE);
        let (table, _) =
            table.delete().with_predicate(predicate).with_commit_properties(reset()).await.map_err(delta)?;
        if watermark_of(spec, &table).await? != Some(start) {
            // No engine rows to delete, so no commit: reset the position on its own.
            let snapshot = table.snapshot().map_err(delta)?;
            CommitBuilder::from(reset())
                .build(Some(snapshot), table.log_store(), DeltaOperation::Delete { predicate: None })
                .await
                .map_err(delta)?;
        }
        Ok(())
    }
}
