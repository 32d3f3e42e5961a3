//! The raw change archive on a local folder: files in commit order, exact events back, retries
//! that duplicate nothing.

use chrono::{TimeZone, Utc};
use object_store::local::LocalFileSystem;
use orgata_engine::{ChangeEvent, LogPosition, TeamId};
use orgata_ingest::archive::ChangeArchive;
use serde_json::json;
use std::sync::Arc;

fn event(xid: i64, seq: i64) -> ChangeEvent {
    ChangeEvent {
        position: LogPosition { xid, seq },
        team_id: Some(TeamId::from("team-a")),
        entity: "task".into(),
        entity_id: format!("task-{xid}-{seq}"),
        op: "insert".into(),
        data: json!({"seq": seq}),
        at: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
    }
}

#[tokio::test]
async fn batches_are_files_in_commit_order_and_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
    let archive = ChangeArchive::new(store, "changes");
    // Written out of order: the names, not the writing order, give commit order.
    let late = vec![event(12, 0), event(12, 1)];
    let early = vec![event(0, 1), event(0, 2), event(9, 0)];
    assert!(archive.append(&[]).await.unwrap().is_none());
    let late_file = archive.append(&late).await.unwrap().unwrap();
    assert_eq!(late_file.path.as_ref(), "changes/00000000000000000012-0000000000_00000000000000000012-0000000001.avro");
    archive.append(&early).await.unwrap();
    std::fs::write(dir.path().join("changes/README.txt"), "not part of the archive").unwrap();

    let files = archive.files().await.unwrap();
    let spans: Vec<(i64, i64, i64, i64)> =
        files.iter().map(|f| (f.first.xid, f.first.seq, f.last.xid, f.last.seq)).collect();
    assert_eq!(spans, [(0, 1, 9, 0), (12, 0, 12, 1)]);
    let all = archive.events_after(LogPosition::default()).await.unwrap();
    assert_eq!(all, [early.clone(), late.clone()].concat());
    let after = archive.events_after(LogPosition { xid: 9, seq: 0 }).await.unwrap();
    assert_eq!(after, late);

    // A retried batch replaces its file with the same content: nothing is duplicated.
    archive.append(&late).await.unwrap();
    assert_eq!(archive.files().await.unwrap().len(), 2);
    assert_eq!(archive.events_after(LogPosition::default()).await.unwrap().len(), 5);
}

#[tokio::test]
async fn a_batch_out_of_commit_order_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let archive = ChangeArchive::new(Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap()), "changes");
    let err = archive.append(&[event(5, 1), event(5, 1)]).await.unwrap_err();
    assert_eq!(err.to_string(), "malformed change event: a batch must be in strictly increasing commit order");
    assert!(archive.files().await.unwrap().is_empty());
}
