//! Copies the engine's change log into the raw change archive, in commit order and exactly once.
//! The archive itself records how far it got (its last file's last position): a crash before a
//! file is written re-reads that batch on the next run, a crash after it does not repeat it.

use crate::IngestError;
use crate::archive::ChangeArchive;
use orgata_engine::{LogPosition, Store};

/// What one run archived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Archived {
    /// Files written.
    pub files: usize,
    /// Events in them.
    pub events: usize,
    /// The archive's position afterwards.
    pub position: LogPosition,
}

/// Archives every readable change after the archive's last position, in files of at most `batch`
/// events (at least 1).
pub async fn archive_changes(store: &dyn Store, archive: &ChangeArchive, batch: i64) -> Result<Archived, IngestError> {
    let mut position = archive.files().await?.last().map(|f| f.last).unwrap_or_default();
    let (mut files, mut events) = (0, 0);
    loop {
        let changes = store.read_changes(position, batch.max(1)).await?;
        let Some(file) = archive.append(&changes).await? else { break };
        position = file.last;
        files += 1;
        events += changes.len();
    }
    Ok(Archived { files, events, position })
}
