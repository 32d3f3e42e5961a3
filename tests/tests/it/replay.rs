//! Invariant 1 and 2 end to end: after months of demo history driven through the real engine,
//! replaying the change log (the last event of each record) reproduces the engine's state exactly,
//! so the warehouse can always be rebuilt from it.

use chrono::{Duration, Utc};
use orgata_engine::demo::{self, DemoOptions};
use orgata_engine::testing::{self, TestDatabase};
use orgata_engine::*;
use std::sync::Arc;

async fn replay_equals_state(db: TestDatabase) {
    let store = connect(&db.url).await.expect("connect");
    let clock = Arc::new(SimClock::new(Utc::now() - Duration::days(30)));
    let engine = Engine::new(store.clone(), clock.clone());
    let options = DemoOptions { seed: 7, days: 14, instances_per_day: 12.0 };
    let report = demo::run(&engine, &clock, &options, &|_, _| {}).await.expect("demo");
    assert!(report.created && report.instances > 50, "{report:?}");

    let scope = testing::demo_admin_scope(&engine).await;
    let compared = testing::assert_change_log_matches_state(&engine, &scope).await;
    assert_eq!(compared, (report.instances, report.tasks));
    store.close().await;
}

orgata_engine::on_both_databases!(replay_equals_state);
