//! The streamer, on SQLite and PostgreSQL: a simulated history streams into the warehouse
//! exactly once, including after crashes between the archive and the tables and between two tables
//! of one batch; what the SQL layer shows equals the change log.

use orgata_engine::demo::{self, DemoOptions};
use orgata_engine::testing::TestDatabase;
use orgata_engine::{ChangeEvent, Engine, LogPosition, SimClock, Store};
use orgata_ingest::convert::to_batch;
use orgata_ingest::import::{self, LogFormat};
use orgata_ingest::sink::Sink;
use orgata_ingest::stream::Streamer;
use orgata_ingest::verify::verify;
use orgata_warehouse::tables;
use orgata_warehouse::{QueryLimits, TeamScope, Warehouse, Watermark};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A week of demo history: a few hundred instances over five playbooks.
async fn demo_history(db: &TestDatabase) -> Arc<dyn Store> {
    let store = orgata_engine::connect(&db.url).await.unwrap();
    let clock = Arc::new(SimClock::new(chrono::DateTime::UNIX_EPOCH));
    let engine = Engine::new(store.clone(), clock.clone());
    let options = DemoOptions { seed: 7, days: 7, instances_per_day: 12.0 };
    demo::run(&engine, &clock, &options, &|_, _| {}).await.unwrap();
    store
}

async fn all_changes(store: &dyn Store) -> Vec<ChangeEvent> {
    let (mut out, mut after) = (Vec::new(), LogPosition::default());
    loop {
        let batch = store.read_changes(after, 5_000).await.unwrap();
        let Some(last) = batch.last() else { return out };
        after = last.position;
        out.extend(batch);
    }
}

/// One text column of a query's rows, as `(first column, second column)` pairs.
async fn pairs(warehouse: &Warehouse, sql: &str) -> Vec<(String, i64)> {
    let result = warehouse.query(sql, &TeamScope::All, QueryLimits::default()).await.unwrap();
    let mut out = Vec::new();
    for batch in &result.batches {
        let keys = arrow::compute::cast(batch.column(0), &arrow::datatypes::DataType::Utf8).unwrap();
        let keys = keys.as_any().downcast_ref::<arrow::array::StringArray>().unwrap();
        let counts = arrow::compute::cast(batch.column(1), &arrow::datatypes::DataType::Int64).unwrap();
        let counts = counts.as_any().downcast_ref::<arrow::array::Int64Array>().unwrap();
        out.extend((0..batch.num_rows()).map(|i| (keys.value(i).to_string(), counts.value(i))));
    }
    out
}

/// What the warehouse should hold for `changes`: event rows per lifecycle, and the current status
/// of every task and instance, counted per status.
/// Counts by key, in key order.
type Counts = Vec<(String, i64)>;

fn expected(changes: &[ChangeEvent]) -> (Counts, Counts, Counts) {
    let mut lifecycles: BTreeMap<String, i64> = BTreeMap::new();
    let mut latest: HashMap<(&str, &str), &serde_json::Value> = HashMap::new();
    for c in changes {
        if c.entity == "task_event" {
            *lifecycles.entry(c.data["lifecycle"].as_str().unwrap().to_string()).or_default() += 1;
        }
        latest.insert((&c.entity, &c.entity_id), &c.data);
    }
    let statuses = |entity: &str| {
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        for ((e, _), data) in &latest {
            if *e == entity {
                *counts.entry(data["status"].as_str().unwrap().to_string()).or_default() += 1;
            }
        }
        counts.into_iter().collect::<Vec<_>>()
    };
    (lifecycles.into_iter().collect(), statuses("task"), statuses("instance"))
}

async fn assert_warehouse_equals_log(warehouse: &Warehouse, changes: &[ChangeEvent]) {
    let (lifecycles, tasks, instances) = expected(changes);
    assert!(lifecycles.len() >= 4 && tasks.len() >= 3, "a realistic history: {lifecycles:?} {tasks:?}");
    let by = |table: &str, column: &str| {
        format!("SELECT {column}, count(*) FROM {table} GROUP BY {column} ORDER BY {column}")
    };
    let engine_events = "(SELECT * FROM events WHERE source = 'orgata')";
    assert_eq!(pairs(warehouse, &by(engine_events, "lifecycle")).await, lifecycles);
    assert_eq!(pairs(warehouse, &by("tasks", "status")).await, tasks);
    assert_eq!(pairs(warehouse, &by("instances", "status")).await, instances);
    // No event twice.
    let duplicates =
        pairs(warehouse, "SELECT event_id, count(*) AS n FROM events GROUP BY event_id HAVING count(*) > 1").await;
    assert_eq!(duplicates, []);
}

async fn streams_exactly_once(db: TestDatabase) {
    let store = demo_history(&db).await;
    let changes = all_changes(store.as_ref()).await;
    let dir = tempfile::tempdir().unwrap();
    let warehouse = Warehouse::open(dir.path().to_str().unwrap(), HashMap::new()).unwrap();
    let streamer = Streamer::open(store.clone(), warehouse.clone(), 1_000).await.unwrap();
    let archive = streamer.archive();

    // A first batch, archived and committed.
    let head = store.read_changes(LogPosition::default(), (changes.len() / 3) as i64).await.unwrap();
    archive.append(&head).await.unwrap();
    Sink::open(warehouse.clone()).await.unwrap().commit(&head).await.unwrap();
    // The next batch is archived, then the process dies after its commit to `events` (the first
    // table of a batch), before the others.
    let next = store.read_changes(head.last().unwrap().position, 800).await.unwrap();
    archive.append(&next).await.unwrap();
    let events: Vec<&ChangeEvent> = next.iter().filter(|c| c.entity == "task_event").collect();
    assert!(!events.is_empty());
    let end = next.last().unwrap().position;
    let held = warehouse.watermark(&tables::EVENTS).await.unwrap();
    let reached = Watermark { xid: end.xid, seq: end.seq };
    warehouse.append(&tables::EVENTS, vec![to_batch(&tables::EVENTS, &events).unwrap()], held, reached).await.unwrap();
    drop(streamer);

    let mut streamer = Streamer::open(store.clone(), warehouse.clone(), 1_000).await.unwrap();
    let progress = streamer.run_until_caught_up().await.unwrap();
    assert_eq!(progress.replayed, next.len(), "the archived batch is replayed first");
    assert_eq!(progress.changes, changes.len() - head.len());
    assert_eq!(progress.position, changes.last().unwrap().position);
    assert_warehouse_equals_log(&warehouse, &changes).await;
    let again = streamer.run_until_caught_up().await.unwrap();
    assert_eq!((again.batches, again.changes), (0, 0), "nothing new, nothing written");

    // The archive equals the change log, and the tables rebuilt from it equal them too.
    assert_eq!(streamer.archive().events_after(LogPosition::default()).await.unwrap(), changes);
    // An imported log is not in the archive: the rebuild keeps it as it was.
    drop(streamer);
    let log = "case:concept:name,concept:name,time:timestamp\nc1,Register,2024-01-01T08:00:00Z\n\
               c1,Approve,2024-01-02T09:30:00Z\nc2,Register,2024-01-03T10:00:00Z\n";
    let csv = LogFormat::Csv(Default::default());
    import::import(&warehouse, std::io::Cursor::new(log), &csv, "team-a", "legacy", |_| {}).await.unwrap();
    let imported = "SELECT source, count(*) FROM events WHERE source <> 'orgata' GROUP BY source";
    assert_eq!(pairs(&warehouse, imported).await, [("legacy".to_string(), 3)]);
    warehouse.clear_change_data().await.unwrap();
    assert_eq!(warehouse.watermark(&tables::EVENTS).await.unwrap(), Some(Watermark::default()));
    assert_eq!(
        pairs(&warehouse, "SELECT source, count(*) FROM events GROUP BY source").await,
        [("legacy".to_string(), 3)]
    );
    let mut rebuilt = Streamer::open(store.clone(), warehouse.clone(), 1_000).await.unwrap();
    let progress = rebuilt.run_until_caught_up().await.unwrap();
    assert_eq!((progress.replayed, progress.changes), (changes.len(), changes.len()));
    assert_warehouse_equals_log(&warehouse, &changes).await;
    assert_eq!(pairs(&warehouse, imported).await, [("legacy".to_string(), 3)]);

    // The verifier agrees, and catches an event written twice.
    let clean = verify(store.as_ref(), &warehouse).await.unwrap();
    assert_eq!(clean.mismatches, Vec::<String>::new());
    let events_in_log = changes.iter().filter(|c| c.entity == "task_event").count() as i64;
    assert_eq!(clean.compared["events"], events_in_log);
    assert_eq!(clean.position, changes.last().unwrap().position);
    let held = warehouse.watermark(&tables::EVENTS).await.unwrap();
    let twice = vec![to_batch(&tables::EVENTS, &events[..1]).unwrap()];
    warehouse.append(&tables::EVENTS, twice, held, held.unwrap()).await.unwrap();
    let dirty = verify(store.as_ref(), &warehouse).await.unwrap();
    assert_eq!(dirty.mismatches.len(), 2, "{:?}", dirty.mismatches);
    assert!(dirty.mismatches[1].contains("distinct event ids"), "{:?}", dirty.mismatches);
    store.close().await;
}

orgata_engine::on_both_databases!(streams_exactly_once);
