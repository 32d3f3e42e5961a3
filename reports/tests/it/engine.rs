//! The engine's own events (source `orgata`): lifecycles of tasks, where a task's `start` event
//! gives its completion a start time; playbook and version filters.

use crate::common::{outlined, service_times, warehouse};
use orgata_reports::{
    Filter, Period, PeriodCounts, activity_report, bottlenecks, case_report, directly_follows, timeline, variants,
};
use orgata_warehouse::tables::{EVENTS, INSTANCES, PLAYBOOK_VERSIONS};
use orgata_warehouse::{TeamScope, Warehouse, Watermark};
use serde_json::{Map, Value, json};

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// One lifecycle event of a task of instance `case` on version `version` of playbook `pb-1`.
fn task_event(
    seq: i64,
    case: &str,
    version: &str,
    task: &str,
    activity: &str,
    lifecycle: &str,
    at: &str,
) -> Map<String, Value> {
    object(json!({
        "event_id": format!("{task}/{seq}/{lifecycle}"), "source": "orgata", "case_id": case, "activity": activity,
        "lifecycle": lifecycle, "ts": format!("2024-03-04T{at}:00Z"), "ordinal": seq, "playbook_id": "pb-1",
        "version_id": version, "task_id": task, "step_key": activity.to_lowercase(), "attempt": 1,
        "team_id": "team-a", "month": "2024-03",
    }))
}

fn instance(id: &str, version: &str, status: &str, ended: Option<&str>) -> Map<String, Value> {
    object(json!({
        "id": id, "playbook_id": "pb-1", "version_id": version, "title": id, "status": status,
        "started_at": "2024-03-04T09:00:00Z", "ended_at": ended, "revision": 1,
        "_id": id, "_op": "insert", "_xid": 0, "_seq": 1, "_at": "2024-03-04T09:00:00Z", "team_id": "team-a",
    }))
}

/// Instance i1 (completed): Review started 09:30, completed 10:00; Approve started 11:00,
/// completed 11:15. Instance i2 (running): Review started 12:10, completed 12:40; Approve
/// scheduled. Instance i3, on version v-2: Review started 13:00, completed 13:20.
async fn engine_events() -> (tempfile::TempDir, Warehouse) {
    let (dir, warehouse) = warehouse();
    let events = [
        task_event(1, "i1", "v-1", "t1", "Review", "schedule", "09:00"),
        task_event(2, "i1", "v-1", "t1", "Review", "start", "09:30"),
        task_event(3, "i1", "v-1", "t1", "Review", "complete", "10:00"),
        task_event(4, "i1", "v-1", "t2", "Approve", "schedule", "10:00"),
        task_event(5, "i1", "v-1", "t2", "Approve", "start", "11:00"),
        task_event(6, "i1", "v-1", "t2", "Approve", "complete", "11:15"),
        task_event(7, "i2", "v-1", "t3", "Review", "schedule", "12:00"),
        task_event(8, "i2", "v-1", "t3", "Review", "start", "12:10"),
        task_event(9, "i2", "v-1", "t3", "Review", "complete", "12:40"),
        task_event(10, "i2", "v-1", "t4", "Approve", "schedule", "12:40"),
        task_event(11, "i3", "v-2", "t5", "Review", "schedule", "13:00"),
        task_event(12, "i3", "v-2", "t5", "Review", "start", "13:00"),
        task_event(13, "i3", "v-2", "t5", "Review", "complete", "13:20"),
    ];
    let batch = EVENTS.rows_from_json(&events).unwrap();
    warehouse.append(&EVENTS, vec![batch], None, Watermark { xid: 0, seq: 13 }).await.unwrap();
    let instances = [
        instance("i1", "v-1", "completed", Some("2024-03-04T11:15:00Z")),
        instance("i2", "v-1", "running", None),
        instance("i3", "v-2", "completed", Some("2024-03-04T13:20:00Z")),
    ];
    let batch = INSTANCES.rows_from_json(&instances).unwrap();
    warehouse.append(&INSTANCES, vec![batch], None, Watermark { xid: 0, seq: 13 }).await.unwrap();
    (dir, warehouse)
}

#[tokio::test]
async fn engine_tasks_give_waiting_and_service_times() {
    let (_dir, warehouse) = engine_events().await;
    let scope = TeamScope::Teams(vec!["team-a".into()]);
    let filter = Filter::engine().playbook("pb-1").unwrap().version("v-1").unwrap();

    // Complete events only: i1's Review and Approve, i2's Review.
    let statistics = case_report(&outlined(&warehouse, &scope, &filter).await).await.unwrap().statistics;
    assert_eq!((statistics.cases, statistics.events), (2, 3));
    let duration = statistics.duration_s.unwrap();
    assert_eq!((duration.min, duration.max, duration.mean), (0.0, 4500.0, 2250.0));

    // Review completed at 10:00, Approve started at 11:00: an hour of waiting.
    let dfg = directly_follows(&outlined(&warehouse, &scope, &filter).await).await.unwrap();
    let edges: Vec<_> = dfg.edges.iter().map(|e| (e.from.as_str(), e.to.as_str(), e.frequency, e.mean_s)).collect();
    assert_eq!(edges, [("Review", "Approve", 1, 3600.0)]);

    // Variants are of ended processes: i1's Review → Approve; i2, running, is counted apart.
    let found = variants(&outlined(&warehouse, &scope, &filter).await).await.unwrap();
    let paths: Vec<_> = found.variants.iter().map(|v| (v.activities.join(" → "), v.frequency)).collect();
    assert_eq!((found.cases, found.running_cases, paths), (1, 1, vec![("Review → Approve".to_string(), 1)]));

    // Started to completed: Review 30 min twice, Approve 15 min.
    let service = service_times(&activity_report(&outlined(&warehouse, &scope, &filter).await).await.unwrap());
    let means: Vec<_> = service.iter().map(|(a, s)| (a.as_str(), s.mean_s, s.events, s.timed_events)).collect();
    assert_eq!(means, [("Approve", 900.0, 1, 1), ("Review", 1800.0, 2, 2)]);

    // The running instance i2 is not completed and still open at the end of the day, which is
    // not over yet at 23:59:59.
    let now = "2024-03-04T23:59:59Z".parse().unwrap();
    let day = timeline(&outlined(&warehouse, &scope, &filter).await, Period::Day, None, now).await.unwrap();
    let start = "2024-03-04T00:00:00Z".parse().unwrap();
    assert_eq!(day.periods, [PeriodCounts { start, started: 2, completed: 1, open_at_end: 1, partial: true }]);
    // The engine's processes are live: a day later the timeline runs on to that day.
    let later = "2024-03-05T08:00:00Z".parse().unwrap();
    let days = timeline(&outlined(&warehouse, &scope, &filter).await, Period::Day, None, later).await.unwrap();
    let next = "2024-03-05T00:00:00Z".parse().unwrap();
    assert_eq!(days.periods[1], PeriodCounts { start: next, started: 0, completed: 0, open_at_end: 1, partial: true });

    // The playbook without a version filter covers i3 too; another playbook covers nothing.
    let playbook = Filter::engine().playbook("pb-1").unwrap();
    let statistics = case_report(&outlined(&warehouse, &scope, &playbook).await).await.unwrap().statistics;
    assert_eq!((statistics.cases, statistics.events), (3, 4));
    let service = service_times(&activity_report(&outlined(&warehouse, &scope, &playbook).await).await.unwrap());
    assert_eq!((service["Review"].mean_s, service["Review"].timed_events), (1600.0, 3));
    let other = Filter::engine().playbook("pb-2").unwrap();
    assert_eq!(case_report(&outlined(&warehouse, &scope, &other).await).await.unwrap().statistics.cases, 0);
    // Another team sees none of it.
    let outsider = TeamScope::Teams(vec!["team-b".into()]);
    assert_eq!(case_report(&outlined(&warehouse, &outsider, &playbook).await).await.unwrap().statistics.cases, 0);
}

/// A version `id` of playbook `pb-1` whose step `Approve` is follow-up work, or not.
fn version(id: &str, approve_follows_up: bool) -> Map<String, Value> {
    let definition = json!({ "steps": [
        { "key": "review", "name": "Review", "kind": "task", "assignee": { "role": "member" } },
        { "key": "approve", "name": "Approve", "kind": "approval", "depends_on": ["review"],
          "assignee": { "role": "manager" }, "follow_up": approve_follows_up },
    ]});
    object(json!({
        "id": id, "playbook_id": "pb-1", "number": 1, "definition": definition.to_string(), "message": "v",
        "created_at": "2024-03-01T00:00:00Z", "_id": id, "_op": "insert", "_xid": 0, "_seq": 1,
        "_at": "2024-03-01T00:00:00Z", "team_id": "team-a",
    }))
}

#[tokio::test]
async fn follow_up_steps_are_labelled_and_never_the_headline() {
    let (_dir, warehouse) = engine_events().await;
    let batch = PLAYBOOK_VERSIONS.rows_from_json(&[version("v-1", true), version("v-2", false)]).unwrap();
    warehouse.append(&PLAYBOOK_VERSIONS, vec![batch], None, Watermark { xid: 0, seq: 13 }).await.unwrap();
    let scope = TeamScope::Teams(vec!["team-a".into()]);

    // On version 1, Approve (after Review) is follow-up work: labelled, and Review is the headline.
    let filter = Filter::engine().playbook("pb-1").unwrap().version("v-1").unwrap();
    let report = bottlenecks(&outlined(&warehouse, &scope, &filter).await).await.unwrap();
    let approve = report.activities.iter().find(|a| a.times.activity == "Approve").unwrap();
    assert!(approve.follow_up && approve.sentence.starts_with("Approve (follow-up work, after the outcome): "));
    let review = report.activities.iter().find(|a| a.times.activity == "Review").unwrap();
    assert!(!review.follow_up);
    assert_eq!(report.headline.as_ref(), Some(&review.sentence));
    assert!(report.transitions.iter().all(|t| t.follow_up), "Review → Approve leads to follow-up work");
    // It is no top finding; it is still said, labelled, because its queue grows (i2 waits on it).
    assert_eq!(
        report.findings,
        [
            "2 cases took 1h 27m on average; waiting was 57% of the activities' time; follow-up work after the \
             outcome (Approve) was 43% of the cycle time.",
            "Review: 57% of cycle time, of which 40% waiting; its queue held at 0 open tasks on 4 March 2024.",
            "Approve (follow-up work, after the outcome): 43% of cycle time, of which 80% waiting; its queue grew \
             from 0 to 1 open task on 4 March 2024.",
        ]
    );

    // Version 2 marks nothing: no label, the largest share is the headline.
    let filter = Filter::engine().playbook("pb-1").unwrap().version("v-2").unwrap();
    let report = bottlenecks(&outlined(&warehouse, &scope, &filter).await).await.unwrap();
    assert!(report.activities.iter().all(|a| !a.follow_up));
    assert_eq!(report.headline.as_ref(), Some(&report.activities[0].sentence));
}
