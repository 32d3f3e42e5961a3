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
