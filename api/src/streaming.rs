//! The warehouse streamer as `orgata serve` runs it: a background task that holds the streamer
//! lease, commits new change events as they arrive (polling the change log), records freshness for
//! /metrics, compacts the tables every hour, and gives the lease up at shutdown. Several server processes may run it; one writes,
//! the others wait for the lease.

use crate::app::metrics::Metrics;
use orgata_engine::Store;
use orgata_ingest::IngestError;
use orgata_ingest::stream::Streamer;
use orgata_warehouse::Warehouse;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often the change log is polled for new events (SQLite; on PostgreSQL a commit wakes the
/// streamer at once, and this is only the fallback).
pub const POLL: Duration = Duration::from_millis(250);
/// How long the streamer waits for a PostgreSQL notification before looking anyway.
pub const NOTIFIED_POLL: Duration = Duration::from_secs(5);
/// How long a lease holds without renewal; a crashed streamer's lease frees after this.
pub const LEASE_TTL: Duration = Duration::from_secs(15);
/// Change events per batch.
pub const BATCH: i64 = 5_000;
/// How often the streamer compacts the tables, checkpoints them and deletes old files.
pub const MAINTENANCE_EVERY: Duration = Duration::from_secs(3600);
/// Files a reader of an older snapshot may still need are kept this long.
pub const RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// Target size of compacted files.
pub const TARGET_FILE_BYTES: u64 = 128 << 20;

/// A name for this process as a lease holder.
pub fn holder_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    format!("{host}:{}:{}", std::process::id(), rand::random::<u32>())
}

/// Runs until `stop` turns true: catches up, then polls. Errors are logged and retried after a
/// pause; a lease held by another process is waited for.
pub async fn run(store: Arc<dyn Store>, warehouse: Warehouse, metrics: Arc<Metrics>, mut stop: watch::Receiver<bool>) {
    let holder = holder_name();
    let mut streamer: Option<Streamer> = None;
    let mut maintained = tokio::time::Instant::now();
    let mut listener = match store.change_listener().await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for change notifications; polling");
            None
        }
    };
    loop {
        let pause = match step(&mut streamer, &store, &warehouse, &metrics, &holder).await {
            Ok(()) if maintained.elapsed() >= MAINTENANCE_EVERY => {
                // Only the lease holder gets here, so one process maintains at a time.
                maintained = tokio::time::Instant::now();
                match warehouse.maintain_all(TARGET_FILE_BYTES, RETENTION).await {
                    Ok(done) => {
                        let compacted: u64 = done.iter().map(|d| d.files_compacted).sum();
                        tracing::info!(compacted, "warehouse maintained");
                    }
                    Err(e) => tracing::warn!(error = %e, "warehouse maintenance failed"),
                }
                POLL
            }
            Ok(()) => POLL,
            Err(IngestError::LeaseHeld) => {
                tracing::debug!("another process streams to the warehouse; waiting for its lease");
                streamer = None;
                LEASE_TTL / 3
            }
            Err(e) => {
                tracing::warn!(error = %e, "warehouse streaming failed; retrying");
                metrics.count_ingest_error();
                // Reopen: the tables' positions are read afresh.
                streamer = None;
                Duration::from_secs(2)
            }
        };
        let wait = async {
            match (&mut listener, pause == POLL) {
                (Some(l), true) => {
                    if let Err(e) = l.wait(NOTIFIED_POLL).await {
                        tracing::warn!(error = %e, "change notifications failed; polling");
                        listener = None;
                    }
                }
                _ => tokio::time::sleep(pause).await,
            }
        };
        tokio::select! {
            _ = wait => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            break;
        }
    }
    if let Some(streamer) = streamer
        && let Err(e) = streamer.release().await
    {
        tracing::warn!(error = %e, "could not release the streamer lease");
    }
}

async fn step(
    streamer: &mut Option<Streamer>,
    store: &Arc<dyn Store>,
    warehouse: &Warehouse,
    metrics: &Arc<Metrics>,
    holder: &str,
) -> Result<(), IngestError> {
    if streamer.is_none() {
        let mut opened = Streamer::open(store.clone(), warehouse.clone(), BATCH).await?.with_lease(holder, LEASE_TTL);
        let metrics = metrics.clone();
        opened.observe(move |committed| metrics.observe_ingest(committed));
        *streamer = Some(opened);
    }
    let Some(streamer) = streamer.as_mut() else { return Ok(()) };
    let progress = streamer.run_until_caught_up().await?;
    if progress.changes > 0 {
        tracing::debug!(changes = progress.changes, position = %progress.position, "warehouse caught up");
    }
    Ok(())
}
