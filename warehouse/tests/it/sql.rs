//! Analysts' SQL: team isolation whatever the SQL, current state from versions, read-only, limits;
//! and the exactly-once guard of appends, and compaction that keeps every row.

use arrow::array::{Array, Int64Array, StringArray};
use orgata_warehouse::tables::{EVENTS, MEMBERSHIPS, TASKS, USERS};
use orgata_warehouse::{QueryLimits, QueryResult, SqlEngine, TeamScope, Warehouse, WarehouseError, Watermark};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::time::Duration;

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn event(id: &str, team: &str, activity: &str, ts: &str) -> Map<String, Value> {
    object(json!({
        "event_id": id, "source": "orgata", "case_id": format!("case-{id}"), "activity": activity,
        "lifecycle": "complete", "ts": ts, "ordinal": 1, "team_id": team, "month": &ts[..7],
    }))
}

fn task_version(id: &str, team: &str, status: &str, op: &str, seq: i64) -> Map<String, Value> {
    object(json!({
        "id": id, "instance_id": "ins", "playbook_id": "pbk", "version_id": "ver", "step_key": "review",
        "name": "Review", "kind": "task", "status": status, "attempt": 1, "current": true, "revision": seq,
        "_id": id, "_op": op, "_xid": 0, "_seq": seq, "_at": "2026-03-02T09:00:00Z", "team_id": team,
    }))
}

fn at(seq: i64) -> Watermark {
    Watermark { xid: 0, seq }
}

/// A warehouse in a new folder with events, task versions, memberships and users of two teams.
async fn two_teams() -> (tempfile::TempDir, Warehouse) {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = two_teams_in(dir.path().to_str().unwrap(), HashMap::new()).await;
    (dir, warehouse)
}

/// A warehouse at `location` with events, task versions, memberships and users of two teams.
pub async fn two_teams_in(location: &str, options: HashMap<String, String>) -> Warehouse {
    let warehouse = Warehouse::open(location, options).unwrap();
    let events = EVENTS
        .rows_from_json(&[
            event("e1", "team-a", "Register", "2026-03-02T09:00:00Z"),
            event("e2", "team-a", "Review", "2026-03-02T10:30:00Z"),
            event("e3", "team-a", "Review", "2026-04-01T08:00:00Z"),
            event("e4", "team-b", "Pay", "2026-03-05T12:00:00Z"),
        ])
        .unwrap();
    warehouse.append(&EVENTS, vec![events], None, at(10)).await.unwrap();
    let tasks = TASKS
        .rows_from_json(&[
            task_version("t1", "team-a", "open", "insert", 1),
            task_version("t1", "team-a", "started", "update", 5),
            task_version("t1", "team-a", "completed", "update", 7),
            task_version("t2", "team-a", "open", "insert", 2),
            task_version("t3", "team-b", "open", "insert", 3),
        ])
        .unwrap();
    warehouse.append(&TASKS, vec![tasks], None, at(10)).await.unwrap();
    let membership = |team: &str, user: &str, op: &str, seq: i64| {
        object(json!({
            "user_id": user, "role": "member", "created_at": "2026-01-01T00:00:00Z", "_id": format!("{team}/{user}"),
            "_op": op, "_xid": 0, "_seq": seq, "_at": "2026-01-01T00:00:00Z", "team_id": team,
        }))
    };
    let memberships = MEMBERSHIPS
        .rows_from_json(&[
            membership("team-a", "ann", "insert", 1),
            membership("team-b", "bob", "insert", 2),
            membership("team-a", "cid", "insert", 3),
            membership("team-a", "cid", "delete", 4),
        ])
        .unwrap();
    warehouse.append(&MEMBERSHIPS, vec![memberships], None, at(10)).await.unwrap();
    let user = |id: &str, seq: i64| {
        object(json!({
            "id": id, "org_id": "org", "email": format!("{id}@acme.test"), "display_name": id, "org_role": "member",
            "created_at": "2026-01-01T00:00:00Z", "_id": id, "_op": "insert", "_xid": 0, "_seq": seq,
            "_at": "2026-01-01T00:00:00Z",
        }))
    };
    let users = USERS.rows_from_json(&[user("ann", 1), user("bob", 2), user("cid", 3)]).unwrap();
    warehouse.append(&USERS, vec![users], None, at(10)).await.unwrap();
    warehouse
}

fn team_a() -> TeamScope {
    TeamScope::Teams(vec!["team-a".into()])
}

/// The rows of a query as text, `|`-separated per row.
async fn rows(warehouse: &Warehouse, sql: &str, scope: &TeamScope) -> Vec<String> {
    text_rows(&warehouse.query(sql, scope, QueryLimits::default()).await.unwrap())
}

/// A result's rows as text, `|`-separated per row.
fn text_rows(result: &QueryResult) -> Vec<String> {
    let mut out = Vec::new();
    for batch in &result.batches {
        let columns: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8).unwrap())
            .collect();
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = columns
                .iter()
                .map(|c| {
                    let text = c.as_any().downcast_ref::<StringArray>().unwrap();
                    if text.is_null(row) { "NULL".into() } else { text.value(row).to_string() }
                })
                .collect();
            out.push(cells.join("|"));
        }
    }
    out
}

async fn error(warehouse: &Warehouse, sql: &str) -> WarehouseError {
    warehouse.query(sql, &team_a(), QueryLimits::default()).await.expect_err(sql)
}

#[tokio::test]
async fn a_team_sees_only_its_rows_whatever_the_sql() {
    let (_dir, warehouse) = two_teams().await;
    let a = team_a();
    assert_eq!(rows(&warehouse, "SELECT count(*) FROM events", &a).await, ["3"]);
    assert_eq!(rows(&warehouse, "SELECT count(*) FROM events", &TeamScope::All).await, ["4"]);
    assert_eq!(rows(&warehouse, "SELECT count(*) FROM events WHERE team_id = 'team-b'", &a).await, ["0"]);
    assert_eq!(rows(&warehouse, "SELECT count(*) FROM events WHERE team_id <> 'team-a' OR true", &a).await, ["3"]);
    assert_eq!(rows(&warehouse, "SELECT id, status FROM tasks ORDER BY id", &a).await, ["t1|completed", "t2|open"]);
    assert_eq!(rows(&warehouse, "SELECT count(*) FROM tasks_history", &a).await, ["4"]);
    // Users of the team's current memberships only (cid's membership was deleted; bob is team-b's).
    assert_eq!(rows(&warehouse, "SELECT id FROM users ORDER BY id", &a).await, ["ann"]);
    assert_eq!(rows(&warehouse, "SELECT user_id FROM memberships", &a).await, ["ann"]);
    assert_eq!(rows(&warehouse, "SELECT id FROM users ORDER BY id", &TeamScope::All).await, ["ann", "bob", "cid"]);
    // A query opens only the tables it names; listings of the tables still see every view.
    let listed = rows(
        &warehouse,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
        &a,
    )
    .await;
    let views = [
        "events",
        "instances",
        "instances_history",
        "memberships",
        "memberships_history",
        "playbook_versions",
        "playbook_versions_history",
        "playbooks",
        "playbooks_history",
        "tasks",
        "tasks_history",
        "teams",
        "teams_history",
        "users",
        "users_history",
    ];
    assert_eq!(listed, views);
    assert_eq!(rows(&warehouse, "WITH mine AS (SELECT * FROM events) SELECT count(*) FROM mine", &a).await, ["3"]);
    let both = "SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM users_history)";
    assert_eq!(rows(&warehouse, both, &a).await, ["4"]);
    // A scope of no teams sees nothing.
    assert_eq!(rows(&warehouse, "SELECT count(*) FROM events", &TeamScope::Teams(vec![])).await, ["0"]);
    // The raw tables cannot be named.
    for sql in ["SELECT * FROM raw_events", "SELECT * FROM ingest_batches"] {
        let e = error(&warehouse, sql).await;
        assert!(matches!(&e, WarehouseError::Query(m) if m.contains("not found")), "{sql}: {e}");
    }
    // Time filters and a per-month aggregate over the partitioned table.
    assert_eq!(
        rows(
            &warehouse,
            "SELECT month, count(*) FROM events WHERE ts >= '2026-03-02T10:00:00Z' GROUP BY month ORDER BY month",
            &a
        )
        .await,
        ["2026-03|1", "2026-04|1"]
    );
}

#[tokio::test]
async fn only_a_single_read_only_query_runs() {
    let (_dir, warehouse) = two_teams().await;
    for sql in [
        "DROP TABLE events",
        "CREATE TABLE stolen AS SELECT * FROM events",
        "CREATE VIEW v AS SELECT 1",
        "INSERT INTO events SELECT * FROM events",
        "COPY (SELECT * FROM events) TO '/tmp/orgata-stolen.csv'",
        "SET datafusion.execution.batch_size = 1",
    ] {
        let e = error(&warehouse, sql).await;
        assert!(matches!(e, WarehouseError::NotReadOnly(_) | WarehouseError::Query(_)), "{sql}: {e:?}");
    }
    assert!(matches!(error(&warehouse, "DROP TABLE events").await, WarehouseError::NotReadOnly(_)));
    assert!(matches!(error(&warehouse, "SELECT 1; SELECT 2").await, WarehouseError::Query(_)));
    assert!(!std::path::Path::new("/tmp/orgata-stolen.csv").exists());
    assert_eq!(rows(&warehouse, "SELECT count(*) FROM events", &TeamScope::All).await, ["4"], "nothing changed");
    assert!(matches!(error(&warehouse, "SELEC 1").await, WarehouseError::Query(m) if m.contains("SELEC")));
}

#[tokio::test]
async fn queries_run_within_their_limits() {
    let (_dir, warehouse) = two_teams().await;
    let limits = QueryLimits { max_rows: 2, ..QueryLimits::default() };
    let result =
        warehouse.query("SELECT event_id FROM events ORDER BY event_id", &TeamScope::All, limits).await.unwrap();
    assert_eq!((result.rows, result.truncated), (2, true));
    let ids = result.batches.iter().map(|b| b.column(0).len()).sum::<usize>();
    assert_eq!(ids, 2);

    let endless = "SELECT count(*) FROM generate_series(1, 100000000000) a";
    let limits = QueryLimits { timeout: Duration::from_millis(300), ..QueryLimits::default() };
    let e = warehouse.query(endless, &TeamScope::All, limits).await.unwrap_err();
    assert!(matches!(e, WarehouseError::Timeout(_)), "{e:?}");

    let hungry =
        "SELECT value % 1000003 AS k, count(*) FROM generate_series(1, 20000000) GROUP BY value % 1000003 ORDER BY k";
    let limits = QueryLimits { memory_bytes: 1 << 20, ..QueryLimits::default() };
    let e = warehouse.query(hungry, &TeamScope::All, limits).await.unwrap_err();
    assert!(matches!(&e, WarehouseError::Failed(m) if m.starts_with("the query needs more memory")), "{e:?}");
}

#[tokio::test]
async fn an_append_from_a_stale_position_is_refused_and_compaction_keeps_every_row() {
    let (_dir, warehouse) = two_teams().await;
    assert_eq!(warehouse.watermark(&EVENTS).await.unwrap(), Some(at(10)));
    let more = |id: &str| EVENTS.rows_from_json(&[event(id, "team-a", "Close", "2026-03-09T09:00:00Z")]).unwrap();
    // A writer that read position 5 (another wrote up to 10 since) must not write.
    let stale = warehouse.append(&EVENTS, vec![more("late")], Some(at(5)), at(11)).await.unwrap_err();
    assert!(matches!(stale, WarehouseError::Concurrent { .. }), "{stale:?}");
    for seq in 11..16 {
        warehouse.append(&EVENTS, vec![more(&format!("e{seq}"))], Some(at(seq - 1)), at(seq)).await.unwrap();
    }
    let count = "SELECT count(*) FROM events";
    assert_eq!(rows(&warehouse, count, &TeamScope::All).await, ["9"]);
    let done = warehouse.maintain(&EVENTS, 64 << 20, Duration::ZERO).await.unwrap();
    assert_eq!(done.files_compacted, 6, "six small files of team-a/orgata/2026-03: {done:?}");
    assert_eq!(done.files_written, 1);
    assert_eq!(done.files_deleted, 6, "with no retention, the replaced files go");
    assert_eq!(rows(&warehouse, count, &TeamScope::All).await, ["9"]);
    assert_eq!(warehouse.watermark(&EVENTS).await.unwrap(), Some(at(15)), "compaction keeps the position");
    let ids = warehouse.query("SELECT count(DISTINCT event_id) FROM events", &TeamScope::All, QueryLimits::default());
    let ids = ids.await.unwrap();
    let n = ids.batches[0].column(0).as_any().downcast_ref::<Int64Array>().unwrap().value(0);
    assert_eq!(n, 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_stay_correct_while_the_tables_are_compacted() {
    let (_dir, warehouse) = two_teams().await;
    for seq in 11..41 {
        let id = format!("e{seq}");
        let rows = EVENTS.rows_from_json(&[event(&id, "team-a", "Close", "2026-03-09T09:00:00Z")]).unwrap();
        warehouse.append(&EVENTS, vec![rows], Some(at(seq - 1)), at(seq)).await.unwrap();
    }
    let sql = "SELECT count(*), count(DISTINCT event_id) FROM events";
    assert_eq!(rows(&warehouse, sql, &TeamScope::All).await, ["34|34"]);
    let maintaining = {
        let warehouse = warehouse.clone();
        tokio::spawn(async move { warehouse.maintain(&EVENTS, 64 << 20, Duration::from_secs(3600)).await })
    };
    let mut reads = 0;
    while !maintaining.is_finished() || reads == 0 {
        assert_eq!(rows(&warehouse, sql, &TeamScope::All).await, ["34|34"], "read {reads} during compaction");
        reads += 1;
    }
    let done = maintaining.await.unwrap().unwrap();
    assert_eq!((done.files_compacted, done.files_written), (31, 1), "{done:?}");
    assert_eq!(done.files_deleted, 0, "the replaced files are younger than the retention period");
    assert_eq!(rows(&warehouse, sql, &TeamScope::All).await, ["34|34"]);
}

#[tokio::test]
async fn clearing_change_data_keeps_imported_events_and_resets_the_position() {
    let (_dir, warehouse) = two_teams().await;
    let imported = |id: &str| {
        let mut row = event(id, "team-a", "Legacy", "2025-12-01T09:00:00Z");
        row.insert("source".into(), json!("legacy"));
        row
    };
    let legacy = EVENTS.rows_from_json(&[imported("l1"), imported("l2")]).unwrap();
    warehouse.replace_source("team-a", "legacy", vec![legacy]).await.unwrap();
    let by_source = "SELECT source, count(*) FROM events GROUP BY source ORDER BY source";
    assert_eq!(rows(&warehouse, by_source, &TeamScope::All).await, ["legacy|2", "orgata|4"]);

    warehouse.clear_change_data().await.unwrap();
    assert_eq!(rows(&warehouse, by_source, &TeamScope::All).await, ["legacy|2"]);
    assert_eq!(warehouse.watermark(&EVENTS).await.unwrap(), Some(Watermark::default()));
    for table in ["tasks", "memberships", "users"] {
        let count = format!("SELECT count(*) FROM {table}");
        assert_eq!(rows(&warehouse, &count, &TeamScope::All).await, ["0"], "{table}");
    }

    // A position with no engine rows behind it (nothing to delete) is reset all the same.
    let only_legacy = EVENTS.rows_from_json(&[imported("l3")]).unwrap();
    warehouse.append(&EVENTS, vec![only_legacy], Some(Watermark::default()), at(20)).await.unwrap();
    warehouse.clear_change_data().await.unwrap();
    assert_eq!(warehouse.watermark(&EVENTS).await.unwrap(), Some(Watermark::default()));
    assert_eq!(rows(&warehouse, by_source, &TeamScope::All).await, ["legacy|3"]);
}

/// Queries whose answers must be identical on DataFusion and DuckDB, over the same snapshot.
const SHARED_QUERIES: &[&str] = &[
    "SELECT count(*) AS n FROM events",
    "SELECT activity, count(*) AS n, min(ts) AS first, max(ts) AS last FROM events GROUP BY activity ORDER BY activity",
    "SELECT month, count(DISTINCT case_id) AS cases FROM events GROUP BY month ORDER BY month",
    "SELECT id, status FROM tasks ORDER BY id",
    "SELECT status, count(*) AS n FROM tasks_history GROUP BY status ORDER BY status",
    "SELECT id, email FROM users ORDER BY id",
    "SELECT e.activity, count(*) AS n FROM events e JOIN tasks t ON t.team_id = e.team_id GROUP BY e.activity ORDER BY e.activity",
    "WITH per_case AS (SELECT case_id, count(*) AS n FROM events GROUP BY case_id) SELECT n, count(*) AS cases FROM per_case GROUP BY n ORDER BY n",
    "SELECT user_id FROM memberships ORDER BY user_id",
];

/// A query's column names and rows as text, on `engine`.
async fn answer(warehouse: &Warehouse, engine: SqlEngine, sql: &str, scope: &TeamScope) -> (Vec<String>, Vec<String>) {
    let result = warehouse.query_on(engine, sql, scope, QueryLimits::default()).await;
    let result = result.unwrap_or_else(|e| panic!("{engine:?}: {sql}: {e}"));
    let names: Vec<String> = result.schema.fields().iter().map(|f| f.name().clone()).collect();
    (names, text_rows(&result))
}

#[tokio::test]
async fn datafusion_and_duckdb_give_the_same_answers() {
    let (_dir, warehouse) = two_teams().await;
    for scope in [TeamScope::All, team_a(), TeamScope::Teams(vec!["team-b".into()])] {
        for sql in SHARED_QUERIES {
            let datafusion = answer(&warehouse, SqlEngine::DataFusion, sql, &scope).await;
            assert!(!datafusion.1.is_empty(), "{sql}");
            assert_eq!(datafusion, answer(&warehouse, SqlEngine::DuckDb, sql, &scope).await, "{sql} for {scope:?}");
        }
    }
    assert_eq!(
        text_rows(
            &warehouse
                .query_on(SqlEngine::DuckDb, "SELECT count(*) FROM events", &team_a(), QueryLimits::default())
                .await
                .unwrap()
        ),
        ["3"]
    );
}

/// Everyday time questions of analysts, with what both engines answer over [`two_teams`] (all
/// teams): the last N days, per month, per day, per weekday, and the time between two events.
const TIME_QUERIES: &[(&str, &[&str])] = &[
    ("SELECT count(*) AS n FROM events WHERE ts >= now() - INTERVAL '3650 days'", &["4"]),
    ("SELECT count(*) AS n FROM events WHERE ts >= current_timestamp - INTERVAL '1 day'", &["0"]),
    (
        "SELECT date_trunc('month', ts) AS month_start, count(*) AS n FROM events GROUP BY 1 ORDER BY 1",
        &["2026-03-01T00:00:00Z|3", "2026-04-01T00:00:00Z|1"],
    ),
    (
        "SELECT date_trunc('day', ts) AS day, count(*) AS n FROM events WHERE ts < TIMESTAMP '2026-03-03' GROUP BY 1",
        &["2026-03-02T00:00:00Z|2"],
    ),
    (
        "SELECT CAST(extract(dow FROM ts) AS BIGINT) AS weekday, count(*) AS n FROM events GROUP BY 1 ORDER BY 1",
        &["1|2", "3|1", "4|1"],
    ),
    (
        "SELECT team_id, CAST(extract(epoch FROM max(ts)) - extract(epoch FROM min(ts)) AS BIGINT) AS seconds \
         FROM events GROUP BY team_id ORDER BY team_id",
        &["team-a|2588400", "team-b|0"],
    ),
    ("SELECT min(ts) + INTERVAL '1 hour' AS later FROM events", &["2026-03-02T10:00:00Z"]),
];

#[tokio::test]
async fn time_arithmetic_works_alike_on_both_engines() {
    let (_dir, warehouse) = two_teams().await;
    for (sql, expected) in TIME_QUERIES {
        let datafusion = answer(&warehouse, SqlEngine::DataFusion, sql, &TeamScope::All).await;
        assert_eq!(datafusion.1, *expected, "DataFusion: {sql}");
        assert_eq!(answer(&warehouse, SqlEngine::DuckDb, sql, &TeamScope::All).await, datafusion, "DuckDB: {sql}");
    }
}

#[tokio::test]
async fn duckdb_reads_no_file_and_no_table_beyond_the_views() {
    let (dir, warehouse) = two_teams().await;
    let secret = dir.path().join("secret.csv");
    std::fs::write(&secret, "a\n1\n").unwrap();
    let team_b_files = dir.path().join("events/team_id=team-b");
    let attempts = [
        format!("SELECT * FROM read_csv('{}')", secret.display()),
        format!("SELECT * FROM '{}'", secret.display()),
        format!("SELECT * FROM read_parquet('{}/**/*.parquet')", team_b_files.display()),
        "SELECT * FROM raw_playbooks".to_string(),
        "CREATE TABLE x AS SELECT 1".to_string(),
        "DROP VIEW events".to_string(),
        "COPY (SELECT 1) TO '/tmp/orgata-duck.csv'".to_string(),
        "ATTACH '/tmp/orgata-duck.db'".to_string(),
        "SET enable_external_access = true".to_string(),
        "INSTALL httpfs".to_string(),
        "SELECT 1; SELECT 2".to_string(),
    ];
    for sql in &attempts {
        let e = warehouse.query_on(SqlEngine::DuckDb, sql, &team_a(), QueryLimits::default()).await.expect_err(sql);
        assert!(matches!(e, WarehouseError::Query(_) | WarehouseError::NotReadOnly(_)), "{sql}: {e:?}");
    }
    assert!(!std::path::Path::new("/tmp/orgata-duck.csv").exists());
    // Even the private views hold the team's rows only.
    let raw = "SELECT count(*) FROM raw_events";
    let raw = warehouse.query_on(SqlEngine::DuckDb, raw, &team_a(), QueryLimits::default()).await.unwrap();
    assert_eq!(text_rows(&raw), ["3"]);
    let endless = "SELECT count(*) FROM range(100000000000) a, range(1000) b";
    let limits = QueryLimits { timeout: Duration::from_millis(500), ..QueryLimits::default() };
    let e = warehouse.query_on(SqlEngine::DuckDb, endless, &team_a(), limits).await.unwrap_err();
    assert!(matches!(e, WarehouseError::Timeout(_)), "{e:?}");
}

#[test]
fn a_location_that_is_no_folder_or_storage_url_is_an_error() {
    let e = Warehouse::open("mailto:someone@example.com", HashMap::new()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "warehouse location `mailto:someone@example.com`: not a folder or a storage URL like s3://bucket/prefix"
    );
    let e = Warehouse::open("ftp://example.com/wh", HashMap::new()).unwrap_err();
    assert!(e.to_string().starts_with("warehouse location `ftp://example.com/wh`: "), "{e}");
}

/// A query over more than its memory budget spills about as much as its data, not a multiple of
/// it: strings are read as `Utf8`, so a spilling hash aggregation writes compact batches. With
/// string views every spilled batch carried all of its source batch's string buffers
/// (apache/datafusion#21325): this query then spilled 85–150 MB for its 8 MB of keys at budgets of
/// 28–48 MiB, and failed for want of memory at 24 MiB; as `Utf8` it spills 12.3–12.6 MB at 20–24
/// MiB (docs/benchmarks.md). The budget is one at which the aggregation spills on two cores.
#[tokio::test]
async fn a_query_that_spills_writes_its_data_once_not_gigabytes() {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = Warehouse::open(dir.path().to_str().unwrap(), HashMap::new()).unwrap();
    // 200,000 events, each its own case: 40-character case ids, too long to sit inline in a view.
    const EVENTS_N: usize = 200_000;
    let rows: Vec<Map<String, Value>> = (0..EVENTS_N)
        .map(|i| {
            let activity = ["Register", "Review", "Pay"][i % 3];
            let mut row = event(&format!("{i:08}"), "team-a", activity, "2026-03-02T09:00:00Z");
            row.insert("case_id".into(), json!(format!("case-{i:035}")));
            row
        })
        .collect();
    let batch = EVENTS.rows_from_json(&rows).unwrap();
    let key_bytes: usize = 40 * EVENTS_N;
    warehouse.append(&EVENTS, vec![batch], None, at(1)).await.unwrap();

    let grouped = "SELECT case_id, activity, count(*) AS n FROM events GROUP BY case_id, activity";
    let budget = QueryLimits { memory_bytes: 24 << 20, max_rows: 10, timeout: Duration::from_secs(120) };
    let result = warehouse.query(grouped, &TeamScope::All, budget).await.unwrap();
    assert!(result.spilled_bytes > 0, "24 MiB is too little for 200,000 groups, so the aggregation spills");
    assert!(
        result.spilled_bytes < 3 * key_bytes,
        "spilled {} bytes for {key_bytes} bytes of keys",
        result.spilled_bytes
    );
}
