//! The streamer: tails the engine's change log in commit order, keeps every batch in the raw
//! change archive, then commits it to the warehouse's tables exactly once.
//!
//! A batch is archived before it is committed, so the archive is never behind the warehouse. At
//! start the streamer first commits what the archive holds beyond the warehouse (a batch archived
//! just before a crash), then follows the change log from the archive's end. The archive names its
//! files by position, so re-archiving a batch rewrites the same file; the sink skips what each
//! table already holds. `orgata warehouse rebuild` is the same start on emptied tables.

use crate::IngestError;
use crate::archive::ChangeArchive;
use crate::sink::{Committed, Sink};
use orgata_engine::{LogPosition, Store};
use orgata_warehouse::Warehouse;
use std::sync::Arc;

/// The archive's prefix under the warehouse root.
pub const ARCHIVE_PREFIX: &str = "changes";

/// The engine-database lease a streamer holds while it writes: one writer at a time, even with
/// several server processes.
pub const LEASE: &str = "warehouse-streamer";

/// Who holds the lease, and for how long each renewal holds.
struct Lease {
    holder: String,
    ttl: chrono::Duration,
}

/// What a run of the streamer did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    /// Batches committed, and the change events in them.
    pub batches: usize,
    pub changes: usize,
    /// Of which replayed from the archive.
    pub replayed: usize,
    /// Where the warehouse is now.
    pub position: LogPosition,
    /// The largest commit-to-queryable lag of a batch, in milliseconds.
    pub max_lag_ms: i64,
}

impl Progress {
    fn add(&mut self, committed: &Committed) {
        self.batches += 1;
        self.changes += committed.changes;
        self.position = committed.position;
        self.max_lag_ms = self.max_lag_ms.max(committed.max_lag().num_milliseconds());
    }
}

/// Called after every committed batch.
type Observer = Box<dyn Fn(&Committed) + Send + Sync>;

/// Follows one engine's change log into one warehouse.
pub struct Streamer {
    store: Arc<dyn Store>,
    archive: ChangeArchive,
    sink: Sink,
    /// The archive's last position.
    archived: LogPosition,
    batch: i64,
    /// Called after every committed batch (for metrics and progress bars).
    observer: Option<Observer>,
    lease: Option<Lease>,
}

impl Streamer {
    /// A streamer from `store` into `warehouse`, reading up to `batch` change events at a time.
    pub async fn open(store: Arc<dyn Store>, warehouse: Warehouse, batch: i64) -> Result<Self, IngestError> {
        let archive = ChangeArchive::new(warehouse.object_store(), ARCHIVE_PREFIX);
        let archived = archive.files().await?.last().map(|f| f.last).unwrap_or_default();
        let sink = Sink::open(warehouse).await?;
        Ok(Streamer { store, archive, sink, archived, batch: batch.max(1), observer: None, lease: None })
    }

    /// Writes only while holding the [`LEASE`] as `holder`, renewed for `ttl` before every batch;
    /// a run finding it held by another fails with [`IngestError::LeaseHeld`].
    pub fn with_lease(mut self, holder: impl Into<String>, ttl: std::time::Duration) -> Self {
        let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        self.lease = Some(Lease { holder: holder.into(), ttl });
        self
    }

    /// Gives the lease up (at shutdown), so another streamer can take over at once.
    pub async fn release(&self) -> Result<(), IngestError> {
        if let Some(lease) = &self.lease {
            self.store.release_lease(LEASE, &lease.holder).await?;
        }
        Ok(())
    }

    /// Takes or renews the lease, if the streamer uses one.
    async fn hold_lease(&self) -> Result<(), IngestError> {
        let Some(lease) = &self.lease else { return Ok(()) };
        if self.store.acquire_lease(LEASE, &lease.holder, chrono::Utc::now(), lease.ttl).await? {
            Ok(())
        } else {
            Err(IngestError::LeaseHeld)
        }
    }

    /// Calls `observer` after every committed batch.
    pub fn observe(&mut self, observer: impl Fn(&Committed) + Send + Sync + 'static) {
        self.observer = Some(Box::new(observer));
    }

    /// Where the warehouse is.
    pub fn position(&self) -> LogPosition {
        self.sink.position()
    }

    /// The archive the streamer keeps.
    pub fn archive(&self) -> &ChangeArchive {
        &self.archive
    }

    /// Commits everything committed to the engine so far (archived first), batch by batch, and
    /// returns what it did.
    pub async fn run_until_caught_up(&mut self) -> Result<Progress, IngestError> {
        let mut progress = self.replay_archive().await?;
        loop {
            self.hold_lease().await?;
            let changes = self.store.read_changes(self.archived.max(self.sink.position()), self.batch).await?;
            let Some(file) = self.archive.append(&changes).await? else { break };
            self.archived = file.last;
            if let Some(committed) = self.sink.commit(&changes).await? {
                self.notify(&committed);
                progress.add(&committed);
            }
        }
        progress.position = self.sink.position();
        Ok(progress)
    }

    /// Commits the archived batches the warehouse does not hold yet.
    async fn replay_archive(&mut self) -> Result<Progress, IngestError> {
        let mut progress = Progress { position: self.sink.position(), ..Progress::default() };
        if self.archived <= self.sink.position() {
            return Ok(progress);
        }
        for file in self.archive.files().await? {
            let after = self.sink.position();
            if file.last <= after {
                continue;
            }
            self.hold_lease().await?;
            let changes: Vec<_> = self.archive.read(&file).await?.into_iter().filter(|c| c.position > after).collect();
            if let Some(committed) = self.sink.commit(&changes).await? {
                self.notify(&committed);
                progress.add(&committed);
                progress.replayed += committed.changes;
            }
        }
        Ok(progress)
    }

    fn notify(&self, committed: &Committed) {
        if let Some(observer) = &self.observer {
            observer(committed);
        }
    }
}
