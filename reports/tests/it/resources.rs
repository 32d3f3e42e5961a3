//! The resources report: workload, utilisation and handovers on small logs computed by hand (an
//! interval log with roles, an atomic CSV log, the engine's tasks), on running-example.xes against
//! figures computed independently, its text, and team scoping.

use crate::activity_times::{import_xes, summary, team};
use crate::common::{TOLERANCE, assert_close, import_csv, import_file, outlined, shared_log, warehouse};
use orgata_reports::{
    Filter, Handover, QueuePeriod, ReportError, ResourceFigures, ResourceReport, ResourceWorkload, RoleFigures,
    TimeScope, TimeSummary, resources,
};
use orgata_warehouse::tables::{EVENTS, MEMBERSHIPS, USERS};
use orgata_warehouse::{TeamScope, Warehouse, Watermark};
use serde_json::{Map, Value, json};

fn time(text: &str) -> chrono::DateTime<chrono::Utc> {
    text.parse().unwrap()
}

/// An `events` row of team-a: `fields` over a completed event numbered `seq` of `source`.
fn event(source: &str, seq: i64, fields: Value) -> Map<String, Value> {
    let Value::Object(fields) = fields else { panic!("fields must be an object") };
    let mut row = Map::new();
    row.insert("event_id".into(), format!("{source}/{seq}").into());
    row.insert("source".into(), source.into());
    row.insert("lifecycle".into(), "complete".into());
    row.insert("ordinal".into(), seq.into());
    row.insert("team_id".into(), "team-a".into());
    row.extend(fields);
    let month = row["ts"].as_str().unwrap()[..7].to_string();
    row.insert("month".into(), month.into());
    row
}

async fn append(warehouse: &Warehouse, rows: &[Map<String, Value>]) {
    let batch = EVENTS.rows_from_json(rows).unwrap();
    let seq = rows.len() as i64;
    warehouse.append(&EVENTS, vec![batch], None, Watermark { xid: 0, seq }).await.unwrap();
}

/// (case, activity, resource, role, start, completion) on 4 (Monday) and 5 March 2024.
type Item =
    (&'static str, &'static str, Option<&'static str>, Option<&'static str>, Option<&'static str>, &'static str);

/// Case 1 (Monday): Anna registers, Ben checks, decides and — after Anna's notification —
/// closes. Case 2: Ben starts checking 5 minutes before Anna's registration completes; an archive
/// step without a resource; Ben decides on Tuesday, Anna notifies. Case 3 (Tuesday): Anna
/// registers and checks (as an expert), Ben decides while still deciding case 2 (parallel work),
/// Anna notifies without a start time.
const HAND: [Item; 14] = [
    ("1", "register", Some("Anna"), Some("clerk"), Some("04T09:00"), "04T09:30"),
    ("1", "check", Some("Ben"), Some("expert"), Some("04T10:00"), "04T11:00"),
    ("1", "decide", Some("Ben"), Some("expert"), Some("04T11:30"), "04T12:00"),
    ("1", "notify", Some("Anna"), Some("clerk"), Some("04T12:00"), "04T12:10"),
    ("1", "close", Some("Ben"), Some("expert"), Some("04T12:30"), "04T12:40"),
    ("2", "register", Some("Anna"), Some("clerk"), Some("04T09:15"), "04T09:45"),
    ("2", "check", Some("Ben"), Some("expert"), Some("04T09:40"), "04T10:40"),
    ("2", "archive", None, None, Some("04T11:00"), "04T11:05"),
    ("2", "decide", Some("Ben"), Some("expert"), Some("05T09:00"), "05T10:00"),
    ("2", "notify", Some("Anna"), Some("clerk"), Some("05T10:15"), "05T10:20"),
    ("3", "register", Some("Anna"), Some("clerk"), Some("05T08:00"), "05T08:20"),
    ("3", "check", Some("Anna"), Some("expert"), Some("05T08:30"), "05T09:30"),
    ("3", "decide", Some("Ben"), Some("expert"), Some("05T09:30"), "05T10:00"),
    ("3", "notify", Some("Anna"), Some("clerk"), None, "05T10:30"),
];

/// The hand log as source `hand` of team-a.
async fn hand_warehouse() -> (tempfile::TempDir, Warehouse) {
    let (dir, warehouse) = warehouse();
    let at = |day_time: &str| format!("2024-03-{day_time}:00Z");
    let rows: Vec<_> = HAND
        .iter()
        .zip(1..)
        .map(|(&(case, activity, resource, role, start, end), seq)| {
            event(
                "hand",
                seq,
                json!({"case_id": case, "activity": activity, "resource": resource, "role": role,
                       "start_ts": start.map(at), "ts": at(end)}),
            )
        })
        .collect();
    append(&warehouse, &rows).await;
    (dir, warehouse)
}

/// A resource as (name, roles, items, processing, utilisation).
type Person<'a> = (&'a str, String, u64, Option<TimeSummary>, Option<f64>);

/// Each resource as a [`Person`].
fn people(report: &ResourceReport) -> Vec<Person<'_>> {
    report
        .resources
        .iter()
        .map(|r| (r.resource.as_str(), r.roles.join(", "), r.items, r.processing, r.utilisation))
        .collect()
}

/// The capacity of a day of a 40-hour week, in seconds.
const DAY_OF_40_HOURS: f64 = 40.0 * 3600.0 / 7.0;

#[tokio::test]
async fn resources_of_an_interval_log_with_roles() {
    let (_dir, warehouse) = hand_warehouse().await;
    let filter = Filter::source("hand").unwrap();
    let report = resources(&outlined(&warehouse, &team(), &filter).await, None, 40.0).await.unwrap();

    // 14 items, one (archive) without a resource: 13 assigned, Anna 7, Ben 6. The completions
    // span Monday 09:30 to Tuesday 10:30: days.
    assert_eq!((report.items, report.unassigned_items, report.period), (14, 1, QueuePeriod::Day));
    assert_eq!(report.hours_per_week, 40.0);
    let [anna, ben] = &report.resources[..] else { panic!("two resources: {:?}", report.resources) };
    // Anna's busy time: 30 + 10 + 30 + 5 + 20 + 60 minutes (case 3's notify has no start) over
    // two days of capacity.
    assert_eq!(
        *anna,
        ResourceFigures {
            resource: "Anna".into(),
            roles: vec!["clerk".into(), "expert".into()],
            items: 7,
            cases: 3,
            activities: 3,
            share: 7.0 / 13.0,
            processing: summary(9300.0, 1550.0, 3600.0),
            utilisation: Some(9300.0 / (2.0 * DAY_OF_40_HOURS)),
        }
    );
    // Ben's: 60 + 30 + 10 + 60 + 60 + 30 minutes.
    assert_eq!(
        *ben,
        ResourceFigures {
            resource: "Ben".into(),
            roles: vec!["expert".into()],
            items: 6,
            cases: 3,
            activities: 3,
            share: 6.0 / 13.0,
            processing: summary(15000.0, 2500.0, 3600.0),
            utilisation: Some(15000.0 / (2.0 * DAY_OF_40_HOURS)),
        }
    );
    assert_close(anna.utilisation.unwrap(), 0.2260416666666667, TOLERANCE, "Anna's utilisation");
    assert_close(ben.utilisation.unwrap(), 0.3645833333333333, TOLERANCE, "Ben's utilisation");

    // Roles by items: expert (Ben's six and Anna's check), clerk (Anna's other six; the archive
    // step has no role).
    assert_eq!(
        report.roles,
        [
            RoleFigures {
                role: "expert".into(),
                resources: 2,
                items: 7,
                cases: 3,
                processing: summary(18600.0, 18600.0 / 7.0, 3600.0),
            },
            RoleFigures {
                role: "clerk".into(),
                resources: 1,
                items: 6,
                cases: 3,
                processing: summary(5700.0, 1140.0, 1800.0)
            },
        ]
    );

    // Per day: Monday Anna 30 + 10 + 30 min, Ben 60 + 30 + 10 + 60; Tuesday Anna 5 + 20 + 60 (and
    // the notify without a start), Ben 60 + 30 — in parallel, 90 minutes within one hour.
    let workload = |resource: &str, day: &str, items, busy_s: f64| ResourceWorkload {
        resource: resource.into(),
        period_start: time(&format!("2024-03-{day}T00:00:00Z")),
        items,
        busy_s,
        utilisation: Some(busy_s / DAY_OF_40_HOURS),
    };
    assert_eq!(
        report.workload,
        [
            workload("Anna", "04", 3, 4200.0),
            workload("Anna", "05", 4, 5100.0),
            workload("Ben", "04", 4, 9600.0),
            workload("Ben", "05", 2, 5400.0),
        ]
    );
    assert_close(report.workload[2].utilisation.unwrap(), 0.4666666666666667, TOLERANCE, "Ben on Monday");

    // Anna → Ben: case 1 twice (30 and 20 minutes after), case 2 (Ben started 5 minutes before
    // Anna completed), case 3 (at once). Ben → Anna: case 1 (at once), case 2 (15 minutes), case 3
    // (30 minutes, to the notify without a start). Ben → archive → Ben and Anna → Anna are none.
    assert_eq!(
        report.handovers,
        [
            Handover { from: "Anna".into(), to: "Ben".into(), count: 4, cases: 3, mean_gap_s: 2700.0 / 4.0 },
            Handover { from: "Ben".into(), to: "Anna".into(), count: 3, cases: 3, mean_gap_s: 2700.0 / 3.0 },
        ]
    );

    // Per week: both days in the week of Monday 4 March, a whole 40-hour week of capacity.
    let weekly = resources(&outlined(&warehouse, &team(), &filter).await, Some(QueuePeriod::Week), 40.0).await.unwrap();
    let utilisation: Vec<_> = weekly.resources.iter().map(|r| (r.resource.as_str(), r.utilisation)).collect();
    assert_eq!(utilisation, [("Anna", Some(9300.0 / 144000.0)), ("Ben", Some(15000.0 / 144000.0))]);
    let weeks: Vec<_> = weekly.workload.iter().map(|w| (w.resource.as_str(), w.period_start, w.items)).collect();
    let monday = time("2024-03-04T00:00:00Z");
    assert_eq!(weeks, [("Anna", monday, 7), ("Ben", monday, 6)]);
    assert_eq!((weekly.roles, weekly.handovers), (report.roles.clone(), report.handovers.clone()));
    // Against a 4-hour week Ben was busy more than a Monday's capacity (parallel work).
    let short = resources(&outlined(&warehouse, &team(), &filter).await, None, 4.0).await.unwrap();
    assert_close(short.workload[2].utilisation.unwrap(), 9600.0 / (4.0 * 3600.0 / 7.0), TOLERANCE, "a short week");
    assert!(short.workload[2].utilisation.unwrap() > 1.0);

    // Tuesday only (events within the range): case 2's decide and notify, case 3.
    let tuesday = filter.clone().between(Some(time("2024-03-05T00:00:00Z")), None, TimeScope::Events).unwrap();
    let tuesday = resources(&outlined(&warehouse, &team(), &tuesday).await, None, 40.0).await.unwrap();
    let items: Vec<_> = tuesday.resources.iter().map(|r| (r.resource.as_str(), r.items, r.cases)).collect();
    assert_eq!(items, [("Anna", 4, 2), ("Ben", 2, 2)]);
    let handovers: Vec<_> = tuesday.handovers.iter().map(|h| (h.from.as_str(), h.to.as_str(), h.count)).collect();
    assert_eq!(handovers, [("Ben", "Anna", 2), ("Anna", "Ben", 1)]);
}

#[tokio::test]
async fn the_text_names_the_busiest_people_and_handovers() {
    let (_dir, warehouse) = hand_warehouse().await;
    let report =
        resources(&outlined(&warehouse, &team(), &Filter::source("hand").unwrap()).await, None, 40.0).await.unwrap();
    // Anna's mean work 1550 s, busy 9300 s; Ben's 2500 s and 15000 s; expert's 18600 s / 7,
    // clerk's 1140 s; the handovers' mean gaps 675 s and 900 s.
    assert_eq!(
        report.to_text(),
        "\
14 work items completed, 13 by 2 resources, 1 without a resource; utilisation against a 40-hour week, per day

#  resource  roles          items  share  cases  activities  mean work    busy  utilisation
-  --------  -------------  -----  -----  -----  ----------  ---------  ------  -----------
1  Anna      clerk, expert      7  53.8%      3           3    25m 50s  2h 35m        22.6%
2  Ben       expert             6  46.2%      3           3    41m 40s  4h 10m        36.5%

role    resources  items  cases  mean work
------  ---------  -----  -----  ---------
expert          2      7      3    44m 17s
clerk           1      6      3    19m 00s

handover from  to    count  cases  mean gap
-------------  ----  -----  -----  --------
Anna           Ben       4      3   11m 15s
Ben            Anna      3      3   15m 00s

- Anna completed 54% of the work items (7 of 13); utilisation 23% of a 40-hour week.
- Ben completed 46% of the work items (6 of 13); utilisation 36% of a 40-hour week.
- 1 work item was completed without a resource (7% of all).
- The most frequent handover is Anna → Ben: 4 times in 3 cases, 11m 15s later on average.
"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["period"], "day");
    assert_eq!(json["handovers"][0], json!({"from": "Anna", "to": "Ben", "count": 4, "cases": 3, "mean_gap_s": 675.0}));
}

/// A: Anna registers, Ben checks and decides, Anna notifies. B: Anna registers and Ben decides
/// at the same minute (file order), nobody checks. C: Anna registers, the next day.
const ATOMIC_RESOURCES: &str = "\
case,activity,timestamp,resource
A,register,2024-01-01T09:00:00Z,Anna
A,check,2024-01-01T10:00:00Z,Ben
A,decide,2024-01-01T11:00:00Z,Ben
A,notify,2024-01-01T11:30:00Z,Anna
B,register,2024-01-01T11:00:00Z,Anna
B,decide,2024-01-01T11:00:00Z,Ben
B,check,2024-01-01T14:00:00Z,
C,register,2024-01-02T08:00:00Z,Anna
";

#[tokio::test]
async fn atomic_logs_have_handovers_but_no_utilisation() {
    let (_dir, warehouse) = warehouse();
    import_csv(&warehouse, "team-a", "atomic", ATOMIC_RESOURCES).await;
    let report =
        resources(&outlined(&warehouse, &team(), &Filter::source("atomic").unwrap()).await, None, 40.0).await.unwrap();

    let figures = |resource: &str, items, cases, activities, share| ResourceFigures {
        resource: String::from(resource),
        roles: vec![],
        items,
        cases,
        activities,
        share,
        processing: None,
        utilisation: None,
    };
    assert_eq!(
        report,
        ResourceReport {
            items: 8,
            unassigned_items: 1,
            period: QueuePeriod::Day,
            hours_per_week: 40.0,
            resources: vec![figures("Anna", 4, 3, 2, 4.0 / 7.0), figures("Ben", 3, 2, 2, 3.0 / 7.0)],
            // The CSV importer reads no role column.
            roles: vec![],
            workload: vec![
                ResourceWorkload {
                    resource: "Anna".into(),
                    period_start: time("2024-01-01T00:00:00Z"),
                    items: 3,
                    busy_s: 0.0,
                    utilisation: None,
                },
                ResourceWorkload {
                    resource: "Anna".into(),
                    period_start: time("2024-01-02T00:00:00Z"),
                    items: 1,
                    busy_s: 0.0,
                    utilisation: None,
                },
                ResourceWorkload {
                    resource: "Ben".into(),
                    period_start: time("2024-01-01T00:00:00Z"),
                    items: 3,
                    busy_s: 0.0,
                    utilisation: None,
                },
            ],
            // A: register → check an hour later, decide → notify 30 minutes later; B: at once.
            handovers: vec![
                Handover { from: "Anna".into(), to: "Ben".into(), count: 2, cases: 2, mean_gap_s: 1800.0 },
                Handover { from: "Ben".into(), to: "Anna".into(), count: 1, cases: 1, mean_gap_s: 1800.0 },
            ],
            names: Default::default(),
        }
    );
    assert!(
        report
            .to_text()
            .contains("- Anna completed 57% of the work items (4 of 7); no start times, so no utilisation.")
    );
}

/// Instance e1: Review (t1) assigned to and started by usr_ann, reassigned to usr_ben, who
/// completes it; Approve (t2) started and completed by usr_ann. Instance e2: Review (t3) by
/// usr_ben; Approve (t4) assigned to usr_ann, still open.
#[tokio::test]
async fn engine_tasks_belong_to_whoever_completed_them() {
    let (_dir, warehouse) = warehouse();
    let task = |seq, case: &str, task: &str, activity: &str, lifecycle: &str, resource: Option<&str>, at: &str| {
        let role = if activity == "Review" { "reviewer" } else { "approver" };
        event(
            "orgata",
            seq,
            json!({"case_id": case, "task_id": task, "activity": activity, "lifecycle": lifecycle,
                   "resource": resource, "role": role, "ts": format!("2024-03-04T{at}:00Z"), "playbook_id": "pb-1",
                   "version_id": "v-1"}),
        )
    };
    let (ann, ben) = (Some("usr_ann"), Some("usr_ben"));
    let rows = [
        task(1, "e1", "t1", "Review", "schedule", None, "09:00"),
        task(2, "e1", "t1", "Review", "assign", ann, "09:10"),
        task(3, "e1", "t1", "Review", "start", ann, "09:30"),
        task(4, "e1", "t1", "Review", "reassign", ben, "09:40"),
        task(5, "e1", "t1", "Review", "complete", ben, "10:00"),
        task(6, "e1", "t2", "Approve", "schedule", None, "10:00"),
        task(7, "e1", "t2", "Approve", "start", ann, "11:00"),
        task(8, "e1", "t2", "Approve", "complete", ann, "11:15"),
        task(9, "e2", "t3", "Review", "schedule", None, "12:00"),
        task(10, "e2", "t3", "Review", "start", ben, "12:10"),
        task(11, "e2", "t3", "Review", "complete", ben, "12:40"),
        task(12, "e2", "t4", "Approve", "schedule", None, "12:40"),
        task(13, "e2", "t4", "Approve", "assign", ann, "12:45"),
    ];
    append(&warehouse, &rows).await;
    // The users, members of team-a; a third one in another team stays unseen.
    let versioned = |id: &str, fields: Value| {
        let mut row = json!({"_id": id, "_op": "insert", "_xid": 0, "_seq": 1, "_at": "2024-03-01T00:00:00Z",
                             "created_at": "2024-03-01T00:00:00Z"});
        row.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
        row.as_object().unwrap().clone()
    };
    let user = |id: &str, name: &str| {
        let email = format!("{id}@example.com");
        versioned(id, json!({"id": id, "org_id": "org", "email": email, "display_name": name, "org_role": "member"}))
    };
    let member = |id: &str, team: &str| {
        versioned(&format!("{team}/{id}"), json!({"user_id": id, "role": "member", "team_id": team}))
    };
    let users = [user("usr_ann", "Ann Lee"), user("usr_ben", "Ben Ode"), user("usr_cy", "Cy Other")];
    let members = [member("usr_ann", "team-a"), member("usr_ben", "team-a"), member("usr_cy", "team-b")];
    let position = Watermark { xid: 0, seq: 3 };
    warehouse.append(&USERS, vec![USERS.rows_from_json(&users).unwrap()], None, position).await.unwrap();
    warehouse.append(&MEMBERSHIPS, vec![MEMBERSHIPS.rows_from_json(&members).unwrap()], None, position).await.unwrap();
    let report = resources(&outlined(&warehouse, &team(), &Filter::engine()).await, None, 40.0).await.unwrap();
    let names: Vec<(&str, &str)> = report.names.iter().map(|(id, name)| (id.as_str(), name.as_str())).collect();
    assert_eq!(names, [("usr_ann", "Ann Lee"), ("usr_ben", "Ben Ode")]);
    let text = report.to_text();
    assert!(text.contains("- Ben Ode completed 67% of the work items (2 of 3)"), "{text}");
    assert!(text.contains("The most frequent handover is Ben Ode → Ann Lee: 1 time in 1 case"), "{text}");

    // Three completed tasks; the open t4 is nobody's yet.
    assert_eq!((report.items, report.unassigned_items, report.period), (3, 0, QueuePeriod::Day));
    assert_eq!(
        people(&report),
        [
            // t1 (started 09:30, by usr_ann, but completed by usr_ben at 10:00) and t3.
            ("usr_ben", "reviewer".into(), 2, summary(3600.0, 1800.0, 1800.0), Some(3600.0 / DAY_OF_40_HOURS)),
            ("usr_ann", "approver".into(), 1, summary(900.0, 900.0, 900.0), Some(900.0 / DAY_OF_40_HOURS)),
        ]
    );
    let roles: Vec<_> = report.roles.iter().map(|r| (r.role.as_str(), r.resources, r.items, r.cases)).collect();
    assert_eq!(roles, [("reviewer", 1, 2, 2), ("approver", 1, 1, 1)]);
    // usr_ben completed t1 at 10:00, usr_ann started t2 at 11:00.
    assert_eq!(
        report.handovers,
        [Handover { from: "usr_ben".into(), to: "usr_ann".into(), count: 1, cases: 1, mean_gap_s: 3600.0 }]
    );
}

/// `start` and `complete` events: the resource and role are the completing event's. Case 1: Anna
/// starts a, Ben completes it (20 minutes); Anna works on b (30 minutes). Case 2: Anna does a
/// alone, without a start event.
const PAIRS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0">
  <trace>
    <string key="concept:name" value="1"/>
    <event><string key="concept:name" value="a"/><string key="lifecycle:transition" value="start"/><string key="org:resource" value="Anna"/><date key="time:timestamp" value="2024-03-04T09:00:00.000+00:00"/></event>
    <event><string key="concept:name" value="a"/><string key="lifecycle:transition" value="complete"/><string key="org:resource" value="Ben"/><string key="org:role" value="expert"/><date key="time:timestamp" value="2024-03-04T09:20:00.000+00:00"/></event>
    <event><string key="concept:name" value="b"/><string key="lifecycle:transition" value="start"/><string key="org:resource" value="Anna"/><date key="time:timestamp" value="2024-03-04T10:00:00.000+00:00"/></event>
    <event><string key="concept:name" value="b"/><string key="lifecycle:transition" value="complete"/><string key="org:resource" value="Anna"/><string key="org:role" value="clerk"/><date key="time:timestamp" value="2024-03-04T10:30:00.000+00:00"/></event>
  </trace>
  <trace>
    <string key="concept:name" value="2"/>
    <event><string key="concept:name" value="a"/><string key="lifecycle:transition" value="complete"/><string key="org:resource" value="Anna"/><string key="org:role" value="clerk"/><date key="time:timestamp" value="2024-03-05T09:00:00.000+00:00"/></event>
  </trace>
</log>
"#;

#[tokio::test]
async fn paired_events_belong_to_whoever_completed_them() {
    let (_dir, warehouse) = warehouse();
    import_xes(&warehouse, "team-a", "pairs", PAIRS).await;
    let report =
        resources(&outlined(&warehouse, &team(), &Filter::source("pairs").unwrap()).await, None, 40.0).await.unwrap();

    // Three items (the `start` events are not items).
    assert_eq!((report.items, report.unassigned_items), (3, 0));
    assert_eq!(
        people(&report),
        [
            // b (30 minutes) on Monday, a without a start on Tuesday: two days of capacity.
            ("Anna", "clerk".into(), 2, summary(1800.0, 1800.0, 1800.0), Some(1800.0 / (2.0 * DAY_OF_40_HOURS))),
            ("Ben", "expert".into(), 1, summary(1200.0, 1200.0, 1200.0), Some(1200.0 / DAY_OF_40_HOURS)),
        ]
    );
    let tuesday: Vec<_> = report.workload.iter().filter(|w| w.period_start == time("2024-03-05T00:00:00Z")).collect();
    assert_eq!((tuesday[0].items, tuesday[0].busy_s, tuesday[0].utilisation), (1, 0.0, None));
    // Ben completed a at 09:20, Anna started b at 10:00.
    assert_eq!(
        report.handovers,
        [Handover { from: "Ben".into(), to: "Anna".into(), count: 1, cases: 1, mean_gap_s: 2400.0 }]
    );
}

#[tokio::test]
async fn running_example_handovers_match_an_independent_count() {
    let (_dir, warehouse) = warehouse();
    import_file(&warehouse, &shared_log("running-example.xes"), "team-a", "running").await;
    let report =
        resources(&outlined(&warehouse, &team(), &Filter::source("running").unwrap()).await, None, 40.0).await.unwrap();

    // The figures below were computed with Python's xml.etree over running-example.xes: each
    // trace's events ordered by time:timestamp (ties in file order), items counted per
    // org:resource, handovers between directly following events with different resources.
    assert_eq!((report.items, report.unassigned_items, report.period), (42, 0, QueuePeriod::Day));
    let people: Vec<_> =
        report.resources.iter().map(|r| (r.resource.as_str(), r.items, r.cases, r.activities)).collect();
    assert_eq!(
        people,
        [
            ("Sara", 12, 6, 2),
            ("Mike", 11, 6, 5),
            ("Ellen", 7, 5, 5),
            ("Pete", 7, 4, 3),
            ("Sean", 3, 3, 2),
            ("Sue", 2, 2, 2)
        ]
    );
    // Atomic events: no utilisation.
    assert!(report.resources.iter().all(|r| r.utilisation.is_none() && r.processing.is_none()));
    assert_eq!(report.handovers.len(), 18);
    assert_eq!(report.handovers.iter().map(|h| h.count).sum::<u64>(), 32);
    let top: Vec<_> = report
        .handovers
        .iter()
        .take(5)
        .map(|h| (h.from.as_str(), h.to.as_str(), h.count, h.cases, h.mean_gap_s))
        .collect();
    assert_eq!(
        top,
        [
            ("Sara", "Ellen", 4, 4, 327150.0),
            ("Ellen", "Mike", 3, 2, 118540.0),
            ("Mike", "Sara", 3, 3, 105680.0),
            ("Pete", "Sara", 3, 2, 146320.0),
            ("Mike", "Ellen", 2, 2, 4560.0),
        ]
    );
    let sue_pete = report.handovers.iter().find(|h| (h.from.as_str(), h.to.as_str()) == ("Sue", "Pete")).unwrap();
    assert_eq!((sue_pete.count, sue_pete.cases, sue_pete.mean_gap_s), (1, 1, 8880.0));
}

#[tokio::test]
async fn helpdesk_totals_match_an_independent_count() {
    let (_dir, warehouse) = warehouse();
    import_file(&warehouse, &shared_log("helpdesk.xes.gz"), "team-a", "helpdesk").await;
    let report = resources(&outlined(&warehouse, &team(), &Filter::source("helpdesk").unwrap()).await, None, 40.0)
        .await
        .unwrap();

    // Computed as for running-example.xes (xml.etree over the namespaced XES, events in time
    // order with ties in file order).
    assert_eq!((report.items, report.unassigned_items, report.resources.len()), (21348, 0, 22));
    let top: Vec<_> = report.resources.iter().take(3).map(|r| (r.resource.as_str(), r.items, r.cases)).collect();
    assert_eq!(top, [("Value 2", 4235, 1879), ("Value 5", 3748, 3706), ("Value 1", 3028, 1698)]);
    assert_eq!(report.handovers.len(), 244);
    assert_eq!(report.handovers.iter().map(|h| h.count).sum::<u64>(), 8648);
    let top: Vec<_> =
        report.handovers.iter().take(3).map(|h| (h.from.as_str(), h.to.as_str(), h.count, h.cases)).collect();
    assert_eq!(
        top,
        [("Value 2", "Value 5", 1018, 1016), ("Value 9", "Value 5", 476, 475), ("Value 13", "Value 5", 449, 449)]
    );
    // Every item counts once in the workload.
    assert_eq!(report.workload.iter().map(|w| w.items).sum::<u64>(), 21348);
}

#[tokio::test]
async fn other_teams_and_bad_weeks_are_refused_or_unseen() {
    let (_dir, warehouse) = hand_warehouse().await;
    // The same source name in team-b, worked by Zoe.
    import_csv(&warehouse, "team-b", "hand", "case,activity,timestamp,resource\n9,register,2024-03-04T09:00:00Z,Zoe\n")
        .await;
    let filter = Filter::source("hand").unwrap();
    let a = resources(&outlined(&warehouse, &team(), &filter).await, None, 40.0).await.unwrap();
    assert_eq!(a.items, 14);
    assert!(a.resources.iter().all(|r| r.resource != "Zoe"));
    let b = resources(&outlined(&warehouse, &TeamScope::Teams(vec!["team-b".into()]), &filter).await, None, 40.0)
        .await
        .unwrap();
    let people: Vec<_> = b.resources.iter().map(|r| (r.resource.as_str(), r.items)).collect();
    assert_eq!((b.items, people), (1, vec![("Zoe", 1)]));
    assert!(b.handovers.is_empty());
    // A team without the source: an empty report, not an error.
    let none = resources(&outlined(&warehouse, &TeamScope::Teams(vec!["team-c".into()]), &filter).await, None, 40.0)
        .await
        .unwrap();
    assert_eq!(
        none,
        ResourceReport {
            items: 0,
            unassigned_items: 0,
            period: QueuePeriod::Day,
            hours_per_week: 40.0,
            resources: vec![],
            roles: vec![],
            workload: vec![],
            handovers: vec![],
            names: Default::default(),
        }
    );
    assert_eq!(none.to_text(), "No completed work items in the selection.\n");

    for hours in [0.0, -8.0, 168.5, f64::NAN, f64::INFINITY] {
        let err = resources(&outlined(&warehouse, &team(), &filter).await, None, hours).await.unwrap_err();
        assert!(matches!(&err, ReportError::InvalidFilter(m) if m.contains("hours per week")), "{hours}: {err}");
    }
    assert!(resources(&outlined(&warehouse, &team(), &filter).await, None, 168.0).await.is_ok());
}
