//! The raw change archive: batches of change events as Avro object container files in an object
//! store (a local folder or S3-compatible storage), named by the first and last commit position
//! they hold, so that listing the archive lists it in commit order. The warehouse is derived from
//! it and can be rebuilt from it (design.md, invariant 1).

use crate::IngestError;
use crate::avro::{decode, encode};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use orgata_engine::{ChangeEvent, LogPosition};
use std::sync::Arc;

/// One file of the archive: where it is and the positions it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveFile {
    pub path: Path,
    pub first: LogPosition,
    pub last: LogPosition,
}

/// The archive under a prefix of an object store.
pub struct ChangeArchive {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
}

impl ChangeArchive {
    /// The archive in `store` under `prefix` (like `changes`).
    pub fn new(store: Arc<dyn ObjectStore>, prefix: impl Into<Path>) -> Self {
        ChangeArchive { store, prefix: prefix.into() }
    }

    /// Writes a batch (in commit order) as one file; nothing for an empty batch. Writing the same
    /// batch again replaces the file with identical content, so a retried write duplicates nothing.
    pub async fn append(&self, batch: &[ChangeEvent]) -> Result<Option<ArchiveFile>, IngestError> {
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else { return Ok(None) };
        if first.position.xid < 0 || first.position.seq < 0 {
            return Err(IngestError::Malformed(format!("negative position {}", first.position)));
        }
        if batch.windows(2).any(|pair| pair[0].position >= pair[1].position) {
            return Err(IngestError::Malformed("a batch must be in strictly increasing commit order".into()));
        }
        let file = ArchiveFile {
            path: self.prefix.clone().join(file_name(first.position, last.position)),
            first: first.position,
            last: last.position,
        };
        self.store.put(&file.path, PutPayload::from(encode(batch)?)).await?;
        Ok(Some(file))
    }

    /// Every file of the archive, in commit order (other objects under the prefix are ignored).
    pub async fn files(&self) -> Result<Vec<ArchiveFile>, IngestError> {
        let objects: Vec<_> = self.store.list(Some(&self.prefix)).try_collect().await?;
        let mut files: Vec<ArchiveFile> = objects
            .into_iter()
            .filter_map(|meta| {
                let (first, last) = parse_file_name(meta.location.filename()?)?;
                Some(ArchiveFile { path: meta.location, first, last })
            })
            .collect();
        files.sort_by_key(|f| f.first);
        Ok(files)
    }

    /// The events of one file.
    pub async fn read(&self, file: &ArchiveFile) -> Result<Vec<ChangeEvent>, IngestError> {
        let bytes = self.store.get(&file.path).await?.bytes().await?;
        decode(&bytes)
    }

    /// Every archived event after `after`, in commit order.
    pub async fn events_after(&self, after: LogPosition) -> Result<Vec<ChangeEvent>, IngestError> {
        let mut events = Vec::new();
        for file in self.files().await?.into_iter().filter(|f| f.last > after) {
            events.extend(self.read(&file).await?.into_iter().filter(|e| e.position > after));
        }
        Ok(events)
    }
}

/// `<first xid>-<first seq>_<last xid>-<last seq>.avro`, zero-padded so names sort in commit order.
fn file_name(first: LogPosition, last: LogPosition) -> String {
    format!("{:020}-{:010}_{:020}-{:010}.avro", first.xid, first.seq, last.xid, last.seq)
}

fn parse_file_name(name: &str) -> Option<(LogPosition, LogPosition)> {
    let (first, last) = name.strip_suffix(".avro")?.split_once('_')?;
    let position = |text: &str| {
        let (xid, seq) = text.split_once('-')?;
        Some(LogPosition { xid: xid.parse().ok()?, seq: seq.parse().ok()? })
    };
    Some((position(first)?, position(last)?))
}
