//! Invariant 1 and 2 end to end: after months of demo history driven through the real engine,
//! replaying the change log (the last event of each record) reproduces the engine's state exactly,
//! so the warehouse can always be rebuilt from it.

use chrono::{Duration, Utc};
use orgata_engine::demo::{self, DemoOptions};
use orgata_engine::testing::{self, TestDatabase};
use orgata_engine::*;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

async fn replay_equals_state(db: TestDatabase) {
    let store = connect(&db.url).await.expect("connect");
    let clock = Arc::new(SimClock::new(Utc::now() - Duration::days(30)));
    let engine = Engine::new(store.clone(), clock.clone());
    let options = DemoOptions { seed: 7, days: 14, instances_per_day: 12.0 };
    let report = demo::run(&engine, &clock, &options, &|_, _| {}).await.expect("demo");
    assert!(report.created && report.instances > 50, "{report:?}");

    // Last state of every record, by entity and id, in commit order.
    let mut latest: HashMap<(String, String), Value> = HashMap::new();
    let mut pos = LogPosition::default();
    let mut count = 0;
    loop {
        let batch = store.read_changes(pos, 1_000).await.expect("read");
        let Some(last) = batch.last() else { break };
        pos = last.position;
        count += batch.len();
        for c in batch {
            latest.insert((c.entity, c.entity_id), c.data);
        }
    }
    assert_eq!(store.pending_changes(pos).await.unwrap(), 0);
    assert!(count > report.tasks, "every task insert and update has an event");

    // Compare every instance and task the admin can see with its replayed state.
    let org = engine.organisation_by_slug(demo::DEMO_ORG_SLUG).await.unwrap().unwrap();
    let admin = engine.user_by_email(&org.id, "admin@acme.example").await.unwrap().expect("admin");
    let scope = engine.scope_for(&admin.id).await.unwrap();
    let mut instances = 0;
    let mut tasks = 0;
    let mut after = None;
    loop {
        let page = engine
            .instances(&scope, InstanceFilter { after: after.clone(), limit: 500, ..Default::default() })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        for i in page {
            let detail = engine.instance(&scope, &i.id).await.unwrap();
            assert_eq!(
                latest[&("instance".to_string(), i.id.to_string())],
                serde_json::to_value(&detail.instance).unwrap()
            );
            for t in detail.tasks {
                assert_eq!(latest[&("task".to_string(), t.id.to_string())], serde_json::to_value(&t).unwrap());
                tasks += 1;
            }
            instances += 1;
        }
    }
    assert_eq!((instances, tasks), (report.instances, report.tasks));
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_log_replays_to_engine_state_on_sqlite() {
    replay_equals_state(testing::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_log_replays_to_engine_state_on_postgres() {
    if let Some(db) = testing::postgres().await {
        replay_equals_state(db).await;
    }
}
