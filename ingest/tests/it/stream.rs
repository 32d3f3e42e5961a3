//! The change log into the archive, exactly once, on SQLite and PostgreSQL.

use object_store::local::LocalFileSystem;
use orgata_engine::testing::TestDatabase;
use orgata_engine::{Engine, LogPosition, Registration, SystemClock};
use orgata_ingest::archive::ChangeArchive;
use orgata_ingest::stream::archive_changes;
use std::sync::Arc;

async fn archive_exactly_once(db: TestDatabase) {
    let store = orgata_engine::connect(&db.url).await.unwrap();
    let engine = Engine::new(store.clone(), Arc::new(SystemClock));
    let registered = engine
        .register(Registration {
            organisation_name: "Acme".into(),
            organisation_slug: "acme".into(),
            team_name: "Ops".into(),
            email: "ana@acme.test".into(),
            display_name: "Ana".into(),
            password: "correct horse battery".into(),
        })
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let archive = ChangeArchive::new(Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap()), "changes");

    let log = store.read_changes(LogPosition::default(), 10_000).await.unwrap();
    let first = archive_changes(store.as_ref(), &archive, 2).await.unwrap();
    assert_eq!((first.files, first.events), (log.len().div_ceil(2), log.len()));
    assert_eq!(first.position, log.last().unwrap().position);
    let again = archive_changes(store.as_ref(), &archive, 2).await.unwrap();
    assert_eq!((again.files, again.events, again.position), (0, 0, first.position), "nothing new, nothing written");

    // More work; and a run that "crashed" after writing its file but before it returned: the next
    // run resumes after that file, so nothing is archived twice.
    let scope = engine.trusted_scope(&registered.user.id).await.unwrap();
    engine.create_team(&scope, "Finance").await.unwrap();
    engine.create_team(&scope, "Legal").await.unwrap();
    let log = store.read_changes(LogPosition::default(), 10_000).await.unwrap();
    let next = store.read_changes(first.position, 1).await.unwrap();
    archive.append(&next).await.unwrap();
    let resumed = archive_changes(store.as_ref(), &archive, 100).await.unwrap();
    assert_eq!(resumed.position, log.last().unwrap().position);
    assert_eq!(archive.events_after(LogPosition::default()).await.unwrap(), log, "the archive equals the change log");
    store.close().await;
}

orgata_engine::on_both_databases!(archive_exactly_once);
