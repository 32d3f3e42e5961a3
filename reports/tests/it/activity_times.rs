//! Waiting, processing and elapsed time per activity, computed by hand on small logs of every
//! kind: an interval log, XES start/complete pairs, an atomic log and the engine's own events.

use crate::common::{import_csv, import_file, outlined, service_times, warehouse};
use orgata_reports::{
    ActivityTime, ActivityTimes, Filter, TimeScope, TimeSummary, TransitionTime, activity_report, activity_times,
    directly_follows,
};
use orgata_warehouse::tables::EVENTS;
use orgata_warehouse::{TeamScope, Warehouse, Watermark};
use serde_json::{Map, Value, json};

pub fn team() -> TeamScope {
    TeamScope::Teams(vec!["team-a".into()])
}

/// Durations in seconds: total, mean, max.
pub fn summary(total_s: f64, mean_s: f64, max_s: f64) -> Option<TimeSummary> {
    Some(TimeSummary { total_s, mean_s, max_s })
}

pub fn transition(from: &str, to: &str, frequency: u64, total_s: f64) -> TransitionTime {
    TransitionTime { from: from.into(), to: to.into(), frequency, total_s, mean_s: total_s / frequency as f64 }
}

/// Case 1 runs a, b, c one after the other; in case 2, b starts 5 minutes before a completes.
pub const INTERVALS: &str = "\
case,activity,start,timestamp
1,a,2024-03-04T09:00:00Z,2024-03-04T09:30:00Z
1,b,2024-03-04T10:00:00Z,2024-03-04T11:00:00Z
1,c,2024-03-04T11:00:00Z,2024-03-04T11:15:00Z
2,a,2024-03-04T12:00:00Z,2024-03-04T12:10:00Z
2,b,2024-03-04T12:05:00Z,2024-03-04T12:20:00Z
2,c,2024-03-04T13:20:00Z,2024-03-04T13:30:00Z
";

#[tokio::test]
async fn interval_logs_split_waiting_from_processing() {
    let (_dir, warehouse) = warehouse();
    import_csv(&warehouse, "team-a", "intervals", INTERVALS).await;
    let filter = Filter::source("intervals").unwrap();
    let times = activity_times(&outlined(&warehouse, &team(), &filter).await).await.unwrap();

    // Case 1: 09:00 (a's start) to 11:15; case 2: 12:00 to 13:30.
    assert_eq!((times.cases, times.cycle_time_total_s), (2, 8100.0 + 5400.0));
    let split = |activity: &str, waiting, processing, total_s| ActivityTime {
        activity: activity.into(),
        occurrences: 2,
        cases: 2,
        rework_cases: 0,
        self_loops: 0,
        split_occurrences: 2,
        waiting,
        processing,
        elapsed: None,
        total_s,
    };
    assert_eq!(
        times.activities,
        [
            // a comes first in both cases: ready when it starts, no waiting; 30 and 10 minutes' work.
            split("a", summary(0.0, 0.0, 0.0), summary(2400.0, 1200.0, 1800.0), 2400.0),
            // Case 1: ready at a's completion (09:30), started 10:00. Case 2: started at 12:05,
            // before a completed at 12:10, so it waited 0 (never negative).
            split("b", summary(1800.0, 900.0, 1800.0), summary(4500.0, 2250.0, 3600.0), 6300.0),
            // Case 2: ready when b completed (12:20), started at 13:20.
            split("c", summary(3600.0, 1800.0, 3600.0), summary(1500.0, 750.0, 900.0), 5100.0),
        ]
    );
    // Case 1's times add up to its cycle time; case 2's a and b overlap by 5 minutes.
    let total: f64 = times.activities.iter().map(|a| a.total_s).sum();
    assert_eq!(total, times.cycle_time_total_s + 300.0);

    // Transitions are the directly-follows graph's: completion to the next start.
    assert_eq!(times.transitions, [transition("a", "b", 2, 1800.0 - 300.0), transition("b", "c", 2, 3600.0)]);
    let dfg = directly_follows(&outlined(&warehouse, &team(), &filter).await).await.unwrap();
    for edge in &dfg.edges {
        let found = times.transitions.iter().find(|t| t.from == edge.from && t.to == edge.to).unwrap();
        assert_eq!((found.frequency, found.mean_s), (edge.frequency, edge.mean_s));
    }
    // Ready is the previous item's completion, in start order (PM4Py's convention), not the
    // latest of all earlier ones: z started 15 minutes after y completed, while x still ran.
    let previous = "case,activity,start,timestamp\n\
        3,x,2024-03-04T09:00:00Z,2024-03-04T12:00:00Z\n\
        3,y,2024-03-04T09:30:00Z,2024-03-04T09:45:00Z\n\
        3,z,2024-03-04T10:00:00Z,2024-03-04T10:30:00Z\n";
    import_csv(&warehouse, "team-a", "previous", previous).await;
    let parallel =
        activity_times(&outlined(&warehouse, &team(), &Filter::source("previous").unwrap()).await).await.unwrap();
    let waiting: Vec<_> =
        parallel.activities.iter().map(|a| (a.activity.as_str(), a.waiting.unwrap().total_s)).collect();
    assert_eq!(waiting, [("x", 0.0), ("y", 0.0), ("z", 900.0)]);
    assert_eq!(parallel.cycle_time_total_s, 10800.0);

    // Processing is the service time.
    let service = service_times(&activity_report(&outlined(&warehouse, &team(), &filter).await).await.unwrap());
    for activity in &times.activities {
        assert_eq!(activity.processing.unwrap().mean_s, service[&activity.activity].mean_s);
    }
}

/// A log of `start` and `complete` events, as XES. Case 1: a, b, a again (rework), then c
/// without a start event. Case 2: a and b in parallel, c without a start, and a start of a that
/// never completes.
const PAIRS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0">
  <trace>
    <string key="concept:name" value="1"/>
    <event><string key="concept:name" value="a"/><string key="lifecycle:transition" value="start"/><date key="time:timestamp" value="2024-03-04T09:00:00.000+00:00"/></event>
    <event><string key="concept:name" value="a"/><string key="lifecycle:transition" value="complete"/><date key="time:timestamp" value="2024-03-04T09:20:00.000+00:00"/></event>
    <event><string key="concept:name" value="b"/><string key="lifecycle:transition" value="start"/><date key="time:timestamp" value="2024-03-04T10:00:00.000+00:00"/></event>
    <event><string key="concept:name" value="b"/><string key="lifecycle:transition" value="complete"/><date key="time:timestamp" value="2024-03-04T10:30:00.000+00:00"/></event>
    <event><string key="concept:name" value="a"/><string key="lifecycle:transition" value="start"/><date key="time:timestamp" value="2024-03-04T11:00:00.000+00:00"/></event>
    <event><string key="concept:name" value="a"/><string key="lifecycle:transition" value="complete"/><date key="time:timestamp" value="2024-03-04T11:10:00.000+00:00"/></event>
    <event><string key="concept:name" value="c"/><string key="lifecycle:transition" value="complete"/><date key="time:timestamp" value="2024-03-04T12:00:00.000+00:00"/></event>
  </trace>
  <trace>
    <string key="concept:name" value="2"/>
    <event><string key="concept:name" value="a"/><string key="lifecycle:transition" value="start"/><date key="time:timestamp" value="2024-03-05T09:00:00.000+00:00"/></event>
    <event><string key="concept:name" value="b"/><string key="lifecycle:transition" value="start"/><date key="time:timestamp" value="2024-03-05T09:05:00.000+00:00"/></event>
    <event><string key="concept:name" value="a"/><string key="lifecycle:transition" value="complete"/><date key="time:timestamp" value="2024-03-05T09:30:00.000+00:00"/></event>
    <event><string key="concept:name" value="b"/><string key="lifecycle:transition" value="complete"/><date key="time:timestamp" value="2024-03-05T09:40:00.000+00:00"/></event>
    <event><string key="concept:name" value="c"/><string key="lifecycle:transition" value="complete"/><date key="time:timestamp" value="2024-03-05T09:50:00.000+00:00"/></event>
    <event><string key="concept:name" value="a"/><string key="lifecycle:transition" value="start"/><date key="time:timestamp" value="2024-03-05T10:00:00.000+00:00"/></event>
  </trace>
</log>
"#;

/// Imports XES text for `team` under `source`.
pub async fn import_xes(warehouse: &Warehouse, team: &str, source: &str, xes: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.xes");
    std::fs::write(&path, xes).unwrap();
    import_file(warehouse, &path, team, source).await;
}

#[tokio::test]
async fn xes_start_and_complete_events_pair_up() {
    let (_dir, warehouse) = warehouse();
    import_xes(&warehouse, "team-a", "pairs", PAIRS).await;
    let times = activity_times(&outlined(&warehouse, &team(), &Filter::source("pairs").unwrap()).await).await.unwrap();

    // Case 1: 09:00 to 12:00, its items one after the other. Case 2: 09:00 to 09:50.
    assert_eq!((times.cases, times.cycle_time_total_s), (2, 10800.0 + 3000.0));
    assert_eq!(
        times.activities,
        [
            // Case 1: 0 + 20 min's work, then (rework) ready at b's completion 10:30, started
            // 11:00, 10 min's work. Case 2: 0 + 30 min.
            ActivityTime {
                activity: "a".into(),
                occurrences: 3,
                cases: 2,
                rework_cases: 1,
                self_loops: 0,
                split_occurrences: 3,
                waiting: summary(1800.0, 600.0, 1800.0),
                processing: summary(3600.0, 1200.0, 1800.0),
                elapsed: None,
                total_s: 5400.0,
            },
            // Case 1: ready at 09:20, started 10:00, 30 min's work. Case 2: started 09:05 while a
            // ran (no waiting), 35 min's work.
            ActivityTime {
                activity: "b".into(),
                occurrences: 2,
                cases: 2,
                rework_cases: 0,
                self_loops: 0,
                split_occurrences: 2,
                waiting: summary(2400.0, 1200.0, 2400.0),
                processing: summary(3900.0, 1950.0, 2100.0),
                elapsed: None,
                total_s: 6300.0,
            },
            // No start events: the time since the latest completion before it (11:10 → 12:00,
            // 09:40 → 09:50), not split.
            ActivityTime {
                activity: "c".into(),
                occurrences: 2,
                cases: 2,
                rework_cases: 0,
                self_loops: 0,
                split_occurrences: 0,
                waiting: None,
                processing: None,
                elapsed: summary(3600.0, 1800.0, 3000.0),
                total_s: 3600.0,
            },
        ]
    );
    // In start order: case 1 a b a c, case 2 a b c (b starts 25 minutes before a completes).
    assert_eq!(
        times.transitions,
        [
            transition("a", "b", 2, 2400.0 - 1500.0),
            transition("a", "c", 1, 3000.0),
            transition("b", "a", 1, 1800.0),
            transition("b", "c", 1, 600.0),
        ]
    );
}

/// A: register 09:00, check 10:00, check again 10:30 (a self-loop), decide 12:30. B: register
/// 11:00, decide 11:00 (a tie: file order), check 14:00. C: register alone, the next day.
pub const ATOMIC: &str = "\
case,activity,timestamp
A,register,2024-01-01T09:00:00Z
A,check,2024-01-01T10:00:00Z
A,check,2024-01-01T10:30:00Z
A,decide,2024-01-01T12:30:00Z
B,register,2024-01-01T11:00:00Z
B,decide,2024-01-01T11:00:00Z
B,check,2024-01-01T14:00:00Z
C,register,2024-01-02T08:00:00Z
";

#[tokio::test]
async fn atomic_logs_give_elapsed_times_that_add_up_to_the_cycle_time() {
    let (_dir, warehouse) = warehouse();
    import_csv(&warehouse, "team-a", "atomic", ATOMIC).await;
    let times = activity_times(&outlined(&warehouse, &team(), &Filter::source("atomic").unwrap()).await).await.unwrap();

    // A: 3.5 h, B: 3 h, C: 0.
    assert_eq!((times.cases, times.cycle_time_total_s), (3, 12600.0 + 10800.0));
    let atomic = |activity: &str, occurrences, cases, rework_cases, self_loops, elapsed| ActivityTime {
        activity: String::from(activity),
        occurrences,
        cases,
        rework_cases,
        self_loops,
        split_occurrences: 0,
        waiting: None,
        processing: None,
        elapsed,
        total_s: elapsed.unwrap().total_s,
    };
    assert_eq!(
        times.activities,
        [
            // A: 1 h after register, 30 min after the first check; B: 3 h after decide.
            atomic("check", 3, 2, 1, 1, summary(16200.0, 5400.0, 10800.0)),
            // A: 2 h after check; B: at the same time as register.
            atomic("decide", 2, 2, 0, 0, summary(7200.0, 3600.0, 7200.0)),
            // Always first in its case: nothing before it.
            atomic("register", 3, 3, 0, 0, summary(0.0, 0.0, 0.0)),
        ]
    );
    let elapsed: f64 = times.activities.iter().map(|a| a.elapsed.unwrap().total_s).sum();
    assert_eq!(elapsed, times.cycle_time_total_s);
    assert_eq!(
        times.transitions,
        [
            transition("check", "check", 1, 1800.0),
            transition("check", "decide", 1, 7200.0),
            transition("decide", "check", 1, 10800.0),
            transition("register", "check", 1, 3600.0),
            transition("register", "decide", 1, 0.0),
        ]
    );

    // Cases that started on the 1st: A and B.
    let day = Filter::source("atomic")
        .unwrap()
        .between(None, Some("2024-01-02T00:00:00Z".parse().unwrap()), TimeScope::CasesStarted)
        .unwrap();
    let started = activity_times(&outlined(&warehouse, &team(), &day).await).await.unwrap();
    assert_eq!((started.cases, started.cycle_time_total_s), (2, 23400.0));
    assert_eq!(started.activities.iter().find(|a| a.activity == "register").unwrap().occurrences, 2);
    // Nothing selected, nothing to report.
    let none = activity_times(&outlined(&warehouse, &team(), &Filter::source("missing").unwrap()).await).await.unwrap();
    assert_eq!(none, ActivityTimes { cases: 0, cycle_time_total_s: 0.0, activities: vec![], transitions: vec![] });
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// One lifecycle event of task `task` (activity `activity`) of instance `case`, at `at` on
/// 4 March 2024, as the engine's change stream writes it.
fn task_event(seq: i64, case: &str, task: &str, activity: &str, lifecycle: &str, at: &str) -> Map<String, Value> {
    object(json!({
        "event_id": format!("{task}/{seq}/{lifecycle}"), "source": "orgata", "case_id": case, "activity": activity,
        "lifecycle": lifecycle, "ts": format!("2024-03-04T{at}:00Z"), "ordinal": seq, "playbook_id": "pb-1",
        "version_id": "v-1", "task_id": task, "step_key": activity.to_lowercase(), "attempt": 1,
        "team_id": "team-a", "month": "2024-03",
    }))
}

/// Instance i1: Review (t1: ready 09:00, started 09:30, completed 10:00), Approve (t2: ready
/// 10:00, started 11:00, completed 11:15, rejected), Review again (t3: ready 11:15, completed
/// 12:00 without a start event), Approve again (t4: ready 12:00, started 12:30, completed 12:45).
/// Instance i2: Review (t5: ready 13:00, started 13:10, completed 13:40), Approve (t6: ready
/// 13:40, assigned 13:45, still open). Instance i3: Review (t7: ready 14:00, cancelled 14:30) and
/// Notify (t8: ready 14:00, still open).
pub async fn engine_warehouse() -> (tempfile::TempDir, Warehouse) {
    let (dir, warehouse) = warehouse();
    let events = [
        task_event(1, "i1", "t1", "Review", "schedule", "09:00"),
        task_event(2, "i1", "t1", "Review", "start", "09:30"),
        task_event(3, "i1", "t1", "Review", "complete", "10:00"),
        task_event(4, "i1", "t2", "Approve", "schedule", "10:00"),
        task_event(5, "i1", "t2", "Approve", "assign", "10:30"),
        task_event(6, "i1", "t2", "Approve", "start", "11:00"),
        task_event(7, "i1", "t2", "Approve", "complete", "11:15"),
        task_event(8, "i1", "t3", "Review", "schedule", "11:15"),
        task_event(9, "i1", "t3", "Review", "complete", "12:00"),
        task_event(10, "i1", "t4", "Approve", "schedule", "12:00"),
        task_event(11, "i1", "t4", "Approve", "start", "12:30"),
        task_event(12, "i1", "t4", "Approve", "complete", "12:45"),
        task_event(13, "i2", "t5", "Review", "schedule", "13:00"),
        task_event(14, "i2", "t5", "Review", "start", "13:10"),
        task_event(15, "i2", "t5", "Review", "complete", "13:40"),
        task_event(16, "i2", "t6", "Approve", "schedule", "13:40"),
        task_event(17, "i2", "t6", "Approve", "assign", "13:45"),
        task_event(18, "i3", "t7", "Review", "schedule", "14:00"),
        task_event(19, "i3", "t8", "Notify", "schedule", "14:00"),
        task_event(20, "i3", "t7", "Review", "ate_abort", "14:30"),
    ];
    let batch = EVENTS.rows_from_json(&events).unwrap();
    warehouse.append(&EVENTS, vec![batch], None, Watermark { xid: 0, seq: 20 }).await.unwrap();
    (dir, warehouse)
}

#[tokio::test]
async fn engine_tasks_wait_from_schedule_to_start_and_work_from_start_to_completion() {
    let (_dir, warehouse) = engine_warehouse().await;
    let times = activity_times(&outlined(&warehouse, &team(), &Filter::engine()).await).await.unwrap();

    // i1: 09:00 to 12:45; i2: 13:00 to 13:40 (its open task does not count); i3 completed nothing.
    assert_eq!((times.cases, times.cycle_time_total_s), (2, 13500.0 + 2400.0));
    assert_eq!(
        times.activities,
        [
            ActivityTime {
                activity: "Approve".into(),
                occurrences: 2,
                cases: 1,
                rework_cases: 1,
                self_loops: 0,
                split_occurrences: 2,
                waiting: summary(3600.0 + 1800.0, 2700.0, 3600.0),
                processing: summary(900.0 + 900.0, 900.0, 900.0),
                elapsed: None,
                total_s: 7200.0,
            },
            // t3, completed without a start, waited all its 45 minutes.
            ActivityTime {
                activity: "Review".into(),
                occurrences: 3,
                cases: 2,
                rework_cases: 1,
                self_loops: 0,
                split_occurrences: 3,
                waiting: summary(1800.0 + 2700.0 + 600.0, 1700.0, 2700.0),
                processing: summary(1800.0 + 0.0 + 1800.0, 1200.0, 1800.0),
                elapsed: None,
                total_s: 8700.0,
            },
        ]
    );
    // Tasks follow one another without gaps: the times add up to the cycle time.
    let total: f64 = times.activities.iter().map(|a| a.total_s).sum();
    assert_eq!(total, times.cycle_time_total_s);
    // Review completed 10:00, Approve started 11:00; Approve completed 11:15, Review (no start)
    // completed 12:00; Review completed 12:00, Approve started 12:30. As the graph has them.
    assert_eq!(
        times.transitions,
        [transition("Approve", "Review", 1, 2700.0), transition("Review", "Approve", 2, 5400.0)]
    );
    let dfg = directly_follows(&outlined(&warehouse, &team(), &Filter::engine()).await).await.unwrap();
    let edges: Vec<_> = dfg.edges.iter().map(|e| (e.from.as_str(), e.to.as_str(), e.frequency, e.mean_s)).collect();
    assert_eq!(edges, [("Review", "Approve", 2, 2700.0), ("Approve", "Review", 1, 2700.0)]);
    // Another team sees nothing.
    let other =
        activity_times(&outlined(&warehouse, &TeamScope::Teams(vec!["team-b".into()]), &Filter::engine()).await)
            .await
            .unwrap();
    assert_eq!((other.cases, other.activities.len()), (0, 0));
}
