//! A crash mid-transaction leaves no partial state and no orphan change event: `orgata demo` is
//! killed (SIGKILL) while it drives the engine, then the database must still satisfy invariant 2 —
//! replaying the change log gives exactly the stored state.

use orgata_engine::testing::{self, TestDatabase};
use orgata_engine::{Engine, LogPosition, SystemClock, connect};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

async fn kill_mid_run_then_check(db: TestDatabase) {
    let data = tempfile::tempdir().unwrap();
    // Create the schema first, so the poller below never races the demo's migrations.
    let store = connect(&db.url).await.expect("connect");
    let mut child = Command::new(env!("CARGO_BIN_EXE_orgata"))
        .args(["demo", "--days", "120", "--per-day", "40"])
        .env("ORGATA_DATABASE_URL", &db.url)
        .env("ORGATA_DATA_DIR", data.path())
        .env("ORGATA_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn orgata");
    // Wait until the simulation is well under way (thousands of events), then kill it.
    let deadline = Instant::now() + Duration::from_secs(120);
    while store.pending_changes(LogPosition::default()).await.expect("count events") < 3_000 {
        assert!(Instant::now() < deadline, "the demo did not start writing");
        assert!(child.try_wait().expect("child status").is_none(), "the demo ended before it was killed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(137)).await;
    child.kill().expect("kill");
    child.wait().expect("wait");

    let engine = Engine::new(store, Arc::new(SystemClock));
    let scope = testing::demo_admin_scope(&engine).await;
    let (instances, tasks) = testing::assert_change_log_matches_state(&engine, &scope).await;
    assert!(instances > 10 && tasks > instances, "{instances} instances, {tasks} tasks");
}

orgata_engine::on_both_databases!(kill_mid_run_then_check);

/// The streamer is killed (SIGKILL) at many points while the engine keeps writing; after a final
/// run, the warehouse equals the change log: no event lost, none twice (design.md, invariant 3).
async fn kill_the_streamer_repeatedly_then_verify(db: TestDatabase) {
    let data = tempfile::tempdir().unwrap();
    let store = connect(&db.url).await.expect("connect");
    let orgata = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_orgata"));
        command
            .args(args)
            .env("ORGATA_DATABASE_URL", &db.url)
            .env("ORGATA_DATA_DIR", data.path())
            .env("ORGATA_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    };
    let mut writer = orgata(&["demo", "--days", "400", "--per-day", "30"]).spawn().expect("spawn the demo");
    let deadline = Instant::now() + Duration::from_secs(120);
    while store.pending_changes(LogPosition::default()).await.expect("count events") < 500 {
        assert!(Instant::now() < deadline, "the demo did not start writing");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Kill points spread over startup, archive replay, and streaming in small batches.
    let kill_after_ms = [150, 900, 400, 1_300, 250, 700, 1_100, 600, 350, 1_500];
    for (round, wait) in kill_after_ms.iter().enumerate() {
        let mut streamer =
            orgata(&["ingest", "--follow", "--batch", "150", "--lease-ttl", "1"]).spawn().expect("spawn");
        tokio::time::sleep(Duration::from_millis(*wait)).await;
        streamer.kill().expect("SIGKILL");
        streamer.wait().expect("wait");
        assert!(writer.try_wait().expect("writer status").is_none(), "the demo stopped writing by round {round}");
        // The killed streamer's lease runs out.
        tokio::time::sleep(Duration::from_millis(1_100)).await;
    }
    writer.kill().expect("stop the writer");
    writer.wait().expect("wait");

    let done = orgata(&["ingest", "--batch", "1000"]).status().expect("final ingest");
    assert!(done.success(), "the final run succeeds");
    let warehouse =
        orgata_warehouse::Warehouse::open(data.path().join("warehouse").to_str().unwrap(), Default::default())
            .expect("open the warehouse");
    let verification = orgata_ingest::verify::verify(store.as_ref(), &warehouse).await.expect("verify");
    assert_eq!(verification.mismatches, Vec::<String>::new());
    assert!(verification.compared["events"] > 1_000, "{:?}", verification.compared);
    let archive = orgata_ingest::archive::ChangeArchive::new(warehouse.object_store(), "changes");
    let archived = archive.events_after(LogPosition::default()).await.expect("read the archive");
    assert_eq!(archived.len() as i64, store.pending_changes(LogPosition::default()).await.unwrap());
    assert!(archived.windows(2).all(|w| w[0].position < w[1].position), "the archive is in commit order, no repeats");
    // And `orgata warehouse verify` says so too.
    let verified = orgata(&["warehouse", "verify"]).status().expect("verify");
    assert!(verified.success());
}

orgata_engine::on_both_databases!(kill_the_streamer_repeatedly_then_verify);
