//! Test databases for the test suites of every crate (feature `testing`): a new SQLite file, or a
//! new schema in the PostgreSQL database named by `ORGATA_TEST_DATABASE_URL`. Under `CI=true` a
//! missing or unreachable PostgreSQL is a failure, never a skip.

/// A database for one test; an SQLite file is deleted when this is dropped.
pub struct TestDatabase {
    /// The URL to connect to (with its own `search_path` on PostgreSQL).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// Whether the tests run in CI, where nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A new, empty SQLite database file.
pub fn sqlite() -> TestDatabase {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/orgata.db", dir.path().display());
    TestDatabase { url, _dir: Some(dir) }
}

/// A new, empty schema in the test PostgreSQL database, or `None` outside CI when
/// `ORGATA_TEST_DATABASE_URL` is unset (the test should then return early).
pub async fn postgres() -> Option<TestDatabase> {
    let base = match std::env::var("ORGATA_TEST_DATABASE_URL") {
        Ok(url) => url,
        Err(_) if in_ci() => panic!("CI=true but ORGATA_TEST_DATABASE_URL is not set: PostgreSQL tests must not skip"),
        Err(_) => {
            eprintln!("skipped: set ORGATA_TEST_DATABASE_URL to run the PostgreSQL variant");
            return None;
        }
    };
    let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
    let admin = sqlx::PgPool::connect(&base).await.unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {base}: {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&admin).await.expect("create schema");
    admin.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(TestDatabase { url: format!("{base}{sep}options=-c%20search_path%3D{schema}"), _dir: None })
}

/// The scope of the demo organisation's admin, who is a member of every demo team.
pub async fn demo_admin_scope(engine: &crate::Engine) -> crate::Scope {
    let org = engine.organisation_by_slug(crate::demo::DEMO_ORG_SLUG).await.expect("read").expect("demo organisation");
    let admin = engine.user_by_email(&org.id, "admin@acme.example").await.expect("read").expect("demo admin");
    engine.trusted_scope(&admin.id).await.expect("scope")
}

/// Checks invariants 1 and 2 on a whole database: replaying the change log (the last event of
/// each record) gives exactly the stored state of every instance and task `scope` can see, and the
/// log is fully readable. Returns the number of instances and tasks compared.
pub async fn assert_change_log_matches_state(engine: &crate::Engine, scope: &crate::Scope) -> (usize, usize) {
    use crate::{InstanceFilter, LogPosition};
    use std::collections::HashMap;
    let store = engine.store();
    let mut latest: HashMap<(String, String), serde_json::Value> = HashMap::new();
    let mut pos = LogPosition::default();
    loop {
        let batch = store.read_changes(pos, 1_000).await.expect("read changes");
        let Some(last) = batch.last() else { break };
        pos = last.position;
        for c in batch {
            latest.insert((c.entity, c.entity_id), c.data);
        }
    }
    assert_eq!(store.pending_changes(pos).await.expect("pending"), 0, "every committed event is readable");
    let (mut instances, mut tasks) = (0, 0);
    let mut after = None;
    loop {
        let filter = InstanceFilter { after: after.clone(), limit: 500, ..Default::default() };
        let page = engine.instances(scope, filter).await.expect("instances");
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        for i in page {
            let detail = engine.instance(scope, &i.id).await.expect("instance");
            let key = ("instance".to_string(), i.id.to_string());
            assert_eq!(
                latest.get(&key),
                Some(&serde_json::to_value(&detail.instance).expect("json")),
                "instance {}",
                i.id
            );
            for t in detail.tasks {
                let key = ("task".to_string(), t.id.to_string());
                assert_eq!(latest.get(&key), Some(&serde_json::to_value(&t).expect("json")), "task {}", t.id);
                tasks += 1;
            }
            instances += 1;
        }
    }
    (instances, tasks)
}

/// Runs each named `async fn(TestDatabase)` against both backends, as the tests `<name>::sqlite`
/// and `<name>::postgres` (which, outside CI, returns early when no PostgreSQL is configured).
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::testing::sqlite()).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = $crate::testing::postgres().await {
                    super::$name(db).await
                }
            }
        }
    )*};
}

/// The folder of the shared public event logs with their `reference.json`: `ORGATA_EVENTLOGS`, or
/// `shared/eventlogs` next to the repository, or `/work/shared/eventlogs`.
pub fn shared_eventlogs() -> std::path::PathBuf {
    let candidates = [
        std::env::var("ORGATA_EVENTLOGS").map(std::path::PathBuf::from).ok(),
        Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/eventlogs")),
        Some(std::path::PathBuf::from("/work/shared/eventlogs")),
    ];
    let found = candidates.into_iter().flatten().find(|dir| dir.join("reference.json").is_file());
    found.expect("the shared event logs: set ORGATA_EVENTLOGS to their folder")
}
