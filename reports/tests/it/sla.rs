//! SLA breaches computed by hand: the engine's tasks against their steps' SLAs (on time, late,
//! overdue, within time, cancelled; playbook, version, time range and team filters), case targets
//! on a small CSV log, the engine's events and a shared log, and invalid targets.

use crate::common::{import_csv, import_file, outlined, shared_log, warehouse};
use orgata_reports::{CaseSla, Filter, OpenInstances, ReportError, SlaReport, StepSla, TimeScope, sla};
use orgata_warehouse::tables::{EVENTS, INSTANCES, TASKS};
use orgata_warehouse::{TeamScope, Warehouse, Watermark};
use serde_json::{Map, Value, json};

fn time(text: &str) -> chrono::DateTime<chrono::Utc> {
    text.parse().unwrap()
}

fn team() -> TeamScope {
    TeamScope::Teams(vec!["team-a".into()])
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// When the engine scenario is judged: 5 March 2024, noon.
const NOW: &str = "2024-03-05T12:00:00Z";

/// A version (`seq`) of a task. Times are `DD HH:MM` in March 2024; `sla_h` hours after ready
/// is the due time.
#[allow(clippy::too_many_arguments)]
fn task(
    seq: i64,
    team: &str,
    id: &str,
    instance: &str,
    (playbook, version): (&str, &str),
    (step, name): (&str, &str),
    status: &str,
    ready: Option<&str>,
    sla_h: Option<i64>,
    completed: Option<&str>,
) -> Map<String, Value> {
    let at = |t: &str| format!("2024-03-{}:00Z", t.replace(' ', "T"));
    let due = ready.zip(sla_h).map(|(r, h)| (time(&at(r)) + chrono::Duration::hours(h)).to_rfc3339());
    object(json!({
        "id": id, "instance_id": instance, "playbook_id": playbook, "version_id": version, "step_key": step,
        "name": name, "kind": "task", "status": status, "attempt": 1, "current": true, "role": null,
        "assignee_id": null, "ready_at": ready.map(at), "assigned_at": null, "started_at": null,
        "completed_at": completed.map(at), "due_at": due, "decision": null, "output": "{}", "revision": seq,
        "_id": id, "_op": if seq == 1 { "insert" } else { "update" }, "_xid": 0, "_seq": seq,
        "_at": "2024-03-04T00:00:00Z", "team_id": team,
    }))
}

fn instance(team: &str, id: &str, version: &str, status: &str, started: &str) -> Map<String, Value> {
    object(json!({
        "id": id, "playbook_id": "pb-1", "version_id": version, "title": id, "status": status,
        "started_at": started, "ended_at": if status == "running" { None } else { Some("2024-03-04T18:00:00Z") },
        "revision": 1, "_id": id, "_op": "insert", "_xid": 0, "_seq": 1, "_at": started, "team_id": team,
    }))
}

fn event(n: i64, team: &str, case: &str, activity: &str, lifecycle: &str, at: &str) -> Map<String, Value> {
    object(json!({
        "event_id": format!("e{n}"), "source": "orgata", "case_id": case, "activity": activity,
        "lifecycle": lifecycle, "ts": at, "ordinal": n, "playbook_id": "pb-1", "version_id": "v-1",
        "team_id": team, "month": "2024-03",
    }))
}

const V1: (&str, &str) = ("pb-1", "v-1");
const V2: (&str, &str) = ("pb-1", "v-2");
const REVIEW: (&str, &str) = ("review", "Review");
const APPROVE: (&str, &str) = ("approve", "Approve");

/// The engine scenario, judged at [`NOW`] (5 March, 12:00).
///
/// Review (pb-1, SLA 4h): t1 ready 4th 09:00, completed 10:00 (on time); t2 ready 09:00,
/// completed 13:00, exactly when due (on time); t3 ready 10:00, due 14:00, completed 16:30 (late
/// by 2h 30m; an earlier version of it was still open); t4 ready 5th 06:00, due 10:00, started
/// and not completed (overdue by 2h); t5 ready 5th 09:00, due 13:00 (within time); t6 ready 4th
/// 08:00, due 12:00, cancelled.
/// Approve (pb-1, SLA 1h in v-1, 2h in v-2): a1 ready 4th 10:00, rejected at 12:00 (late by 1h);
/// a2 ready 16:30, completed 17:00 (on time); a3 (v-2) ready 5th 08:00, due 10:00, assigned
/// (overdue by 2h).
/// No SLA: n1 (automated, completed at once), s1 (skipped). Review in pb-2 (SLA 1h): r1 ready 4th
/// 11:00, completed 11:30. Team b: an overdue Review, which team a never sees.
///
/// Instances: i1 (ended; complete events 10:00, 12:00, 13:00 on the 4th after a schedule event at
/// 09:00), i2 (ended; 16:30, 17:00), i3 (running since the 4th 12:00; complete events 4th 12:00
/// and 5th 06:00), i4 (running since 5th 09:00), i6 (v-2, running since 5th 08:00); team b's
/// running instance since 1 March.
async fn engine_warehouse() -> (tempfile::TempDir, Warehouse) {
    let (dir, warehouse) = warehouse();
    let a = "team-a";
    let tasks = [
        task(1, a, "t1", "i1", V1, REVIEW, "completed", Some("04 09:00"), Some(4), Some("04 10:00")),
        task(1, a, "t2", "i1", V1, REVIEW, "completed", Some("04 09:00"), Some(4), Some("04 13:00")),
        task(1, a, "t3", "i2", V1, REVIEW, "open", Some("04 10:00"), Some(4), None),
        task(2, a, "t3", "i2", V1, REVIEW, "completed", Some("04 10:00"), Some(4), Some("04 16:30")),
        task(1, a, "t4", "i3", V1, REVIEW, "started", Some("05 06:00"), Some(4), None),
        task(1, a, "t5", "i4", V1, REVIEW, "open", Some("05 09:00"), Some(4), None),
        task(1, a, "t6", "i5", V1, REVIEW, "cancelled", Some("04 08:00"), Some(4), None),
        task(1, a, "a1", "i1", V1, APPROVE, "rejected", Some("04 10:00"), Some(1), Some("04 12:00")),
        task(1, a, "a2", "i2", V1, APPROVE, "completed", Some("04 16:30"), Some(1), Some("04 17:00")),
        task(1, a, "a3", "i6", V2, APPROVE, "assigned", Some("05 08:00"), Some(2), None),
        task(1, a, "n1", "i1", V1, ("notify", "Notify"), "completed", Some("04 13:00"), None, Some("04 13:00")),
        task(1, a, "s1", "i2", V1, ("escalate", "Escalate"), "skipped", None, None, None),
        task(1, a, "r1", "j1", ("pb-2", "w-1"), REVIEW, "completed", Some("04 11:00"), Some(1), Some("04 11:30")),
        task(1, "team-b", "b1", "k1", V1, REVIEW, "open", Some("04 09:00"), Some(4), None),
    ];
    let batch = TASKS.rows_from_json(&tasks).unwrap();
    warehouse.append(&TASKS, vec![batch], None, Watermark { xid: 0, seq: 20 }).await.unwrap();
    let instances = [
        instance(a, "i1", "v-1", "completed", "2024-03-04T09:00:00Z"),
        instance(a, "i2", "v-1", "completed", "2024-03-04T10:00:00Z"),
        instance(a, "i3", "v-1", "running", "2024-03-04T12:00:00Z"),
        instance(a, "i4", "v-1", "running", "2024-03-05T09:00:00Z"),
        instance(a, "i5", "v-1", "cancelled", "2024-03-04T08:00:00Z"),
        instance(a, "i6", "v-2", "running", "2024-03-05T08:00:00Z"),
        instance("team-b", "k1", "v-1", "running", "2024-03-01T00:00:00Z"),
    ];
    let batch = INSTANCES.rows_from_json(&instances).unwrap();
    warehouse.append(&INSTANCES, vec![batch], None, Watermark { xid: 0, seq: 20 }).await.unwrap();
    let events = [
        event(1, a, "i1", "Review", "schedule", "2024-03-04T09:00:00Z"),
        event(2, a, "i1", "Review", "complete", "2024-03-04T10:00:00Z"),
        event(3, a, "i1", "Approve", "complete", "2024-03-04T12:00:00Z"),
        event(4, a, "i1", "Review", "complete", "2024-03-04T13:00:00Z"),
        event(5, a, "i2", "Review", "complete", "2024-03-04T16:30:00Z"),
        event(6, a, "i2", "Approve", "complete", "2024-03-04T17:00:00Z"),
        event(7, a, "i3", "Intake", "complete", "2024-03-04T12:00:00Z"),
        event(8, a, "i3", "Triage", "complete", "2024-03-05T06:00:00Z"),
        event(9, "team-b", "k1", "Review", "complete", "2024-03-01T00:00:00Z"),
        event(10, "team-b", "k1", "Review", "complete", "2024-03-04T00:00:00Z"),
    ];
    let batch = EVENTS.rows_from_json(&events).unwrap();
    warehouse.append(&EVENTS, vec![batch], None, Watermark { xid: 0, seq: 20 }).await.unwrap();
    (dir, warehouse)
}

/// A step's figures: `(on time, late, overdue, within time, cancelled)`, lateness mean and max.
fn step(
    playbook: &str,
    (key, name): (&str, &str),
    sla_s: Option<f64>,
    (on_time, late, overdue, within_time, cancelled): (u64, u64, u64, u64, u64),
    lateness: Option<(f64, f64)>,
) -> StepSla {
    let tasks = on_time + late + overdue + within_time;
    StepSla {
        playbook_id: playbook.into(),
        step_key: key.into(),
        name: name.into(),
        sla_s,
        tasks,
        on_time,
        late,
        overdue,
        within_time,
        cancelled,
        breaches: late + overdue,
        breach_rate: Some((late + overdue) as f64 / tasks as f64),
        lateness_mean_s: lateness.map(|l| l.0),
        lateness_max_s: lateness.map(|l| l.1),
    }
}

#[tokio::test]
async fn engine_tasks_against_their_step_slas() {
    let (_dir, warehouse) = engine_warehouse().await;
    let now = time(NOW);
    let report = sla(&outlined(&warehouse, &team(), &Filter::engine()).await, None, now).await.unwrap();
    assert_eq!(report.as_of, now);
    assert_eq!(report.cases, None);
    assert_eq!(
        report.steps,
        [
            // a1 late by 1h (rejected at 12:00, due 11:00), a3 overdue by 2h (due 5th 10:00);
            // the SLA is 1h in v-1 and 2h in v-2.
            step("pb-1", APPROVE, None, (1, 1, 1, 0, 0), Some((5400.0, 7200.0))),
            // t3 late by 2h 30m, t4 overdue by 2h; t2 completed exactly when due; t6 cancelled.
            step("pb-1", REVIEW, Some(14_400.0), (2, 1, 1, 1, 1), Some((8100.0, 9000.0))),
            step("pb-2", REVIEW, Some(3600.0), (1, 0, 0, 0, 0), None),
        ]
    );
    assert_eq!(report.steps[0].breach_rate, Some(2.0 / 3.0));
    assert_eq!(report.steps[1].breach_rate, Some(0.4));
    assert_eq!(
        report.findings,
        [
            "4 of 9 tasks with an SLA (44.4%) missed it, in 2 of 3 steps.",
            "Approve missed its SLA on 2 of 3 tasks (66.7%): 1 completed late, 1 overdue now; late by 1h 30m on \
             average, at most 2h 00m.",
            "Review missed its 4h 00m SLA on 2 of 5 tasks (40.0%): 1 completed late, 1 overdue now; late by 2h 15m \
             on average, at most 2h 30m.",
        ]
    );

    // Every team: team b's Review (due 4th 13:00) is overdue by 23h too.
    let all = sla(&outlined(&warehouse, &TeamScope::All, &Filter::engine()).await, None, now).await.unwrap();
    let review = all.steps.iter().find(|s| s.playbook_id == "pb-1" && s.step_key == "review").unwrap();
    assert_eq!((review.tasks, review.overdue, review.lateness_max_s), (6, 2, Some(82_800.0)));
    assert_eq!(review.lateness_mean_s, Some((9000.0 + 7200.0 + 82_800.0) / 3.0));
    // A team that has nothing sees nothing.
    let outsider = TeamScope::Teams(vec!["team-c".into()]);
    let nothing = sla(&outlined(&warehouse, &outsider, &Filter::engine()).await, None, now).await.unwrap();
    assert_eq!((nothing.steps.len(), nothing.findings.len()), (0, 0));

    // A day earlier (4th 12:00), `now` judges only the tasks not completed: t4, t5 and a3 are not
    // due by then (within time); completed tasks keep their figures (t3 late, a1 late).
    let earlier =
        sla(&outlined(&warehouse, &team(), &Filter::engine()).await, None, time("2024-03-04T12:00:00Z")).await.unwrap();
    let review = earlier.steps.iter().find(|s| s.playbook_id == "pb-1" && s.step_key == "review").unwrap();
    assert_eq!((review.on_time, review.late, review.overdue, review.within_time), (2, 1, 0, 2));
    assert_eq!((review.lateness_mean_s, review.lateness_max_s), (Some(9000.0), Some(9000.0)));
    let approve = earlier.steps.iter().find(|s| s.step_key == "approve").unwrap();
    assert_eq!((approve.late, approve.overdue, approve.within_time), (1, 0, 1));
}

#[tokio::test]
async fn step_slas_follow_the_playbook_version_and_time_range() {
    let (_dir, warehouse) = engine_warehouse().await;
    let now = time(NOW);
    let v1 = Filter::engine().playbook("pb-1").unwrap().version("v-1").unwrap();
    let report = sla(&outlined(&warehouse, &team(), &v1).await, None, now).await.unwrap();
    assert_eq!(
        report.steps,
        [
            // Only a1 (late by 1h) and a2 (on time): 50%, one SLA of 1h.
            step("pb-1", APPROVE, Some(3600.0), (1, 1, 0, 0, 0), Some((3600.0, 3600.0))),
            step("pb-1", REVIEW, Some(14_400.0), (2, 1, 1, 1, 1), Some((8100.0, 9000.0))),
        ]
    );
    assert_eq!(
        report.findings[1],
        "Approve missed its 1h 00m SLA on 1 of 2 tasks (50.0%): 1 completed late; late by 1h 00m on average, at \
         most 1h 00m."
    );
    let other = Filter::engine().playbook("pb-2").unwrap();
    let report = sla(&outlined(&warehouse, &team(), &other).await, None, now).await.unwrap();
    assert_eq!(report.steps, [step("pb-2", REVIEW, Some(3600.0), (1, 0, 0, 0, 0), None)]);
    assert_eq!(report.findings, ["No task has missed its SLA: 1 completed on time, 0 still within it."]);

    // Tasks ready on the 5th: t4 (overdue), t5 (within time), a3 (overdue). Whatever the scope.
    for scope in [TimeScope::Events, TimeScope::CasesStarted] {
        let fifth = Filter::engine().between(Some(time("2024-03-05T00:00:00Z")), None, scope).unwrap();
        let report = sla(&outlined(&warehouse, &team(), &fifth).await, None, now).await.unwrap();
        assert_eq!(
            report.steps,
            [
                step("pb-1", APPROVE, Some(7200.0), (0, 0, 1, 0, 0), Some((7200.0, 7200.0))),
                step("pb-1", REVIEW, Some(14_400.0), (0, 0, 1, 1, 0), Some((7200.0, 7200.0))),
            ]
        );
    }
    // Tasks ready before 4th 10:00: t1, t2, t6 (cancelled) — all fine; the skipped s1 has no
    // ready time and no due time.
    let early = Filter::engine().between(None, Some(time("2024-03-04T10:00:00Z")), TimeScope::Events).unwrap();
    let report = sla(&outlined(&warehouse, &team(), &early).await, None, now).await.unwrap();
    assert_eq!(report.steps, [step("pb-1", REVIEW, Some(14_400.0), (2, 0, 0, 0, 1), None)]);

    // Imported logs have no step SLAs.
    import_csv(&warehouse, "team-a", "log", "case,activity,timestamp\n1,a,2024-03-04T09:00:00Z\n").await;
    let report = sla(&outlined(&warehouse, &team(), &Filter::source("log").unwrap()).await, None, now).await.unwrap();
    assert_eq!(report, SlaReport { as_of: now, steps: Vec::new(), cases: None, findings: Vec::new() });
}

#[tokio::test]
async fn engine_cases_and_running_instances_against_a_target() {
    let (_dir, warehouse) = engine_warehouse().await;
    let now = time(NOW);
    let report = sla(&outlined(&warehouse, &team(), &Filter::engine()).await, Some(7200.0), now).await.unwrap();
    // Ended: i1 10:00 to 13:00 (complete events only; 1h over), i2 16:30 to 17:00. i3 (running,
    // 18h of events) is left out. Running at noon on the 5th: i3 for 24h, i4 for 3h, i6 for 4h.
    assert_eq!(
        report.cases,
        Some(CaseSla {
            target_s: 7200.0,
            cases: 2,
            breaches: 1,
            breach_rate: Some(0.5),
            excess_mean_s: Some(3600.0),
            excess_max_s: Some(3600.0),
            open: Some(OpenInstances {
                instances: 3,
                over_target: 3,
                excess_mean_s: Some((79_200.0 + 3600.0 + 7200.0) / 3.0),
                excess_max_s: Some(79_200.0),
            }),
        })
    );
    assert_eq!(
        report.findings[3..],
        [
            "1 of 2 cases (50.0%) took longer than the 2h 00m target, by 1h 00m on average, at most 1h 00m.",
            "3 of 3 running instances are already past the 2h 00m target, by 8h 20m on average.",
        ]
    );

    // Version v-1 leaves out i6; a day's target is missed by none (i3 is exactly a day old).
    let v1 = Filter::engine().version("v-1").unwrap();
    let day = sla(&outlined(&warehouse, &team(), &v1).await, Some(86_400.0), now).await.unwrap();
    assert_eq!(
        day.cases,
        Some(CaseSla {
            target_s: 86_400.0,
            cases: 2,
            breaches: 0,
            breach_rate: Some(0.0),
            excess_mean_s: None,
            excess_max_s: None,
            open: Some(OpenInstances { instances: 2, over_target: 0, excess_mean_s: None, excess_max_s: None }),
        })
    );
    assert_eq!(
        day.findings[day.findings.len() - 2..],
        [
            "None of the 2 cases took longer than the 1d 00h target.",
            "None of the 2 running instances is past the 1d 00h target yet.",
        ]
    );

    // Instances started on the 5th: i4 and i6, 3h and 4h old; no ended case has events then.
    let fifth = Filter::engine().between(Some(time("2024-03-05T00:00:00Z")), None, TimeScope::Events).unwrap();
    let report = sla(&outlined(&warehouse, &team(), &fifth).await, Some(12_600.0), now).await.unwrap();
    let cases = report.cases.unwrap();
    assert_eq!((cases.cases, cases.breach_rate), (0, None));
    assert_eq!(
        cases.open,
        Some(OpenInstances { instances: 2, over_target: 1, excess_mean_s: Some(1800.0), excess_max_s: Some(1800.0) })
    );

    // Team b's running instance (since 1 March) and its case are never counted for team a, but
    // are with every team's rows.
    let all = sla(&outlined(&warehouse, &TeamScope::All, &Filter::engine()).await, Some(7200.0), now).await.unwrap();
    let cases = all.cases.unwrap();
    assert_eq!((cases.cases, cases.open.unwrap().instances), (2, 4));
}

#[tokio::test]
async fn report_as_text() {
    let (_dir, warehouse) = engine_warehouse().await;
    let report = sla(&outlined(&warehouse, &team(), &Filter::engine()).await, Some(7200.0), time(NOW)).await.unwrap();
    assert_eq!(
        report.to_text(),
        "\
SLAs as of 2024-03-05 12:00:00 UTC

step        SLA  tasks  on time  late  overdue  within time  breached  mean lateness  max lateness
-------  ------  -----  -------  ----  -------  -----------  --------  -------------  ------------
Approve       —      3        1     1        1            0     66.7%         1h 30m        2h 00m
Review   4h 00m      5        2     1        1            1     40.0%         2h 15m        2h 30m
Review   1h 00m      1        1     0        0            0      0.0%              —             —

Case target 2h 00m: 1 of 2 cases over it; 3 of 3 running over it

Findings:
- 4 of 9 tasks with an SLA (44.4%) missed it, in 2 of 3 steps.
- Approve missed its SLA on 2 of 3 tasks (66.7%): 1 completed late, 1 overdue now; late by 1h 30m on average, at most 2h 00m.
- Review missed its 4h 00m SLA on 2 of 5 tasks (40.0%): 1 completed late, 1 overdue now; late by 2h 15m on average, at most 2h 30m.
- 1 of 2 cases (50.0%) took longer than the 2h 00m target, by 1h 00m on average, at most 1h 00m.
- 3 of 3 running instances are already past the 2h 00m target, by 8h 20m on average.
"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["steps"][1]["lateness_mean_s"], json!(8100.0));
    assert_eq!(json["cases"]["open"]["over_target"], json!(3));

    let (_dir, empty) = crate::common::warehouse();
    let report = sla(&outlined(&empty, &team(), &Filter::engine()).await, None, time(NOW)).await.unwrap();
    assert_eq!(report.to_text(), "SLAs as of 2024-03-05 12:00:00 UTC\n\nNo tasks with a step SLA in the selection.\n");
}

/// Case 1: 3h; case 2: 24h; case 3: a single event (0); case 4: 5h.
const CASES: &str = "\
case,activity,timestamp
1,a,2024-03-04T09:00:00Z
1,b,2024-03-04T12:00:00Z
2,a,2024-03-04T09:00:00Z
2,b,2024-03-05T09:00:00Z
3,a,2024-03-04T10:00:00Z
4,a,2024-03-04T08:00:00Z
4,b,2024-03-04T13:00:00Z
";

#[tokio::test]
async fn case_targets_on_a_small_log() {
    let (_dir, warehouse) = warehouse();
    import_csv(&warehouse, "team-a", "cases", CASES).await;
    let filter = Filter::source("cases").unwrap();
    let now = time(NOW);
    // 4h: case 2 by 20h, case 4 by 1h.
    let report = sla(&outlined(&warehouse, &team(), &filter).await, Some(14_400.0), now).await.unwrap();
    assert!(report.steps.is_empty());
    assert_eq!(
        report.cases,
        Some(CaseSla {
            target_s: 14_400.0,
            cases: 4,
            breaches: 2,
            breach_rate: Some(0.5),
            excess_mean_s: Some((72_000.0 + 3600.0) / 2.0),
            excess_max_s: Some(72_000.0),
            open: None,
        })
    );
    assert_eq!(
        report.findings,
        ["2 of 4 cases (50.0%) took longer than the 4h 00m target, by 10h 30m on average, at most 20h 00m."]
    );
    // Exactly 5h is not over a 5h target.
    let five = sla(&outlined(&warehouse, &team(), &filter).await, Some(18_000.0), now).await.unwrap().cases.unwrap();
    assert_eq!((five.breaches, five.excess_max_s), (1, Some(68_400.0)));
    // Events of the 4th only: case 2 is cut to its first event.
    let fourth = filter
        .clone()
        .between(Some(time("2024-03-04T00:00:00Z")), Some(time("2024-03-05T00:00:00Z")), TimeScope::Events)
        .unwrap();
    let cut = sla(&outlined(&warehouse, &team(), &fourth).await, Some(14_400.0), now).await.unwrap().cases.unwrap();
    assert_eq!((cut.cases, cut.breaches, cut.excess_mean_s), (4, 1, Some(3600.0)));
    // Another team sees no cases.
    let outsider = TeamScope::Teams(vec!["team-b".into()]);
    let none = sla(&outlined(&warehouse, &outsider, &filter).await, Some(14_400.0), now).await.unwrap();
    assert_eq!((none.cases.as_ref().map(|c| (c.cases, c.breach_rate)), none.findings.len()), (Some((0, None)), 0));
}

#[tokio::test]
async fn case_target_on_the_running_example() {
    let (_dir, warehouse) = warehouse();
    import_file(&warehouse, &shared_log("running-example.xes"), "team-a", "running").await;
    let report =
        sla(&outlined(&warehouse, &team(), &Filter::source("running").unwrap()).await, Some(7.0 * 86_400.0), time(NOW))
            .await
            .unwrap();
    // Obtained independently with Python's xml.etree over running-example.xes (last minus first
    // `time:timestamp` per trace, in seconds): case 3 1,368,780; 2 779,580; 1 703,320;
    // 6 852,300; 5 1,576,440; 4 520,920. Over 7 days (604,800): all but case 4, by 763,980,
    // 174,780, 98,520, 247,500 and 971,640 — 2,256,420 in all.
    assert_eq!(
        report.cases,
        Some(CaseSla {
            target_s: 604_800.0,
            cases: 6,
            breaches: 5,
            breach_rate: Some(5.0 / 6.0),
            excess_mean_s: Some(451_284.0),
            excess_max_s: Some(971_640.0),
            open: None,
        })
    );
}

#[tokio::test]
async fn invalid_case_targets_are_refused() {
    let (_dir, warehouse) = warehouse();
    for target in [0.0, -1.0, f64::NAN, f64::INFINITY, -0.0] {
        let result = sla(&outlined(&warehouse, &team(), &Filter::engine()).await, Some(target), time(NOW)).await;
        assert!(matches!(result, Err(ReportError::InvalidFilter(_))), "{target}: {result:?}");
    }
    // Nothing in the warehouse: an empty report.
    let report = sla(&outlined(&warehouse, &team(), &Filter::engine()).await, Some(60.0), time(NOW)).await.unwrap();
    assert!(report.steps.is_empty() && report.findings.is_empty());
    let cases = report.cases.unwrap();
    assert_eq!((cases.cases, cases.breaches, cases.breach_rate), (0, 0, None));
    assert_eq!(
        cases.open,
        Some(OpenInstances { instances: 0, over_target: 0, excess_mean_s: None, excess_max_s: None })
    );
}
