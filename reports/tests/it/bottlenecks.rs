//! The bottleneck report: shares, queues and sentences on small logs computed by hand, its text
//! and JSON, and its consistency on every shared log.

use crate::activity_times::{ATOMIC, INTERVALS, engine_warehouse, team};
use crate::common::{
    MEAN_TOLERANCE, TOLERANCE, assert_close, import_csv, import_file, outlined, shared_log, warehouse,
};
use orgata_reports::{
    BottleneckReport, Filter, QueueCounts, QueueDirection, QueuePeriod, QueueTrend, bottlenecks, bottlenecks_per,
    case_report, directly_follows,
};
use serde_json::{Value, json};

fn time(text: &str) -> chrono::DateTime<chrono::Utc> {
    text.parse().unwrap()
}

fn day(date: &str, arrived: u64, completed: u64, open_at_end: u64) -> QueueCounts {
    QueueCounts { start: time(&format!("{date}T00:00:00Z")), arrived, completed, open_at_end }
}

/// Activity names in report order.
fn ranking(report: &BottleneckReport) -> Vec<&str> {
    report.activities.iter().map(|a| a.times.activity.as_str()).collect()
}

#[tokio::test]
async fn engine_bottlenecks_rank_split_and_explain() {
    let (_dir, warehouse) = engine_warehouse().await;
    let report = bottlenecks(&outlined(&warehouse, &team(), &Filter::engine()).await).await.unwrap();

    // Everything happened on 4 March 2024: one day.
    assert_eq!(report.period, QueuePeriod::Day);
    assert_eq!((report.cases, report.cycle_time_total_s, report.cycle_time_mean_s), (2, 15900.0, Some(7950.0)));
    assert!(report.split);
    // Notify has an open task only: no time yet, ranked last.
    assert_eq!(ranking(&report), ["Review", "Approve", "Notify"]);
    let shares: Vec<_> = report.activities.iter().map(|a| (a.share, a.waiting_share)).collect();
    assert_eq!(shares, [(8700.0 / 15900.0, Some(5100.0 / 8700.0)), (7200.0 / 15900.0, Some(0.75)), (0.0, None)]);
    // Shares add up to 1: the tasks follow one another.
    assert_close(report.activities.iter().map(|a| a.share).sum(), 1.0, TOLERANCE, "shares");

    // Review: t1, t3, t5 and the cancelled t7 arrived and left. Approve: t6 is still open.
    let [review, approve, notify] = &report.activities[..] else { panic!("three activities") };
    assert_eq!(review.queue.periods, [day("2024-03-04", 4, 4, 0)]);
    assert_eq!(approve.queue.periods, [day("2024-03-04", 3, 2, 1)]);
    assert_eq!(notify.queue.periods, [day("2024-03-04", 1, 0, 1)]);
    assert_eq!((approve.queue.open_at_end, approve.queue.peak), (1, 1));
    assert_eq!(approve.queue.peak_period, Some(time("2024-03-04T00:00:00Z")));
    assert_eq!(
        approve.queue.trend,
        Some(QueueTrend {
            direction: QueueDirection::Growing,
            from: time("2024-03-04T00:00:00Z"),
            periods: 1,
            open_before: 0,
            open_after: 1,
            arrived: 3,
            completed: 2,
        })
    );
    assert_eq!(review.queue.trend.as_ref().unwrap().direction, QueueDirection::Steady);

    let sentences: Vec<_> = report.activities.iter().map(|a| a.sentence.as_str()).collect();
    assert_eq!(
        sentences,
        [
            "Review: 55% of cycle time, of which 59% waiting; its queue held at 0 open tasks on 4 March 2024.",
            "Approve: 45% of cycle time, of which 75% waiting; its queue grew from 0 to 1 open task on 4 March 2024.",
            "Notify: nothing completed yet; its queue grew from 0 to 1 open task on 4 March 2024.",
        ]
    );
    let transitions: Vec<_> =
        report.transitions.iter().map(|t| (t.times.from.as_str(), t.share, t.sentence.as_str())).collect();
    assert_eq!(
        transitions,
        [
            (
                "Review",
                5400.0 / 15900.0,
                "Review → Approve: 34% of cycle time passes between them, 45m 00s on average over 2 hand-offs."
            ),
            (
                "Approve",
                2700.0 / 15900.0,
                "Approve → Review: 17% of cycle time passes between them, 45m 00s on average over 1 hand-off."
            ),
        ]
    );
    // The headline, the top activities, the top transition, then Notify's growing queue.
    assert_eq!(
        report.findings,
        [
            "2 cases took 2h 12m on average; waiting was 66% of the activities' time.",
            sentences[0],
            sentences[1],
            transitions[0].2,
            sentences[2],
        ]
    );

    assert_eq!(
        report.to_text(),
        "\
2 cases, 4h 25m of cycle time in all, 2h 12m per case on average; queues per day

#  activity  share  waiting  mean wait  mean work  mean not split  occurrences  rework cases  queue (recent)
-  --------  -----  -------  ---------  ---------  --------------  -----------  ------------  --------------
1  Review    54.7%    58.6%    28m 20s    20m 00s               —            3             1    0 → 0 steady
2  Approve   45.3%    75.0%    45m 00s    15m 00s               —            2             1   0 → 1 growing
3  Notify     0.0%        —          —          —               —            0             0   0 → 1 growing

#  from     to       share  mean gap  frequency
-  -------  -------  -----  --------  ---------
1  Review   Approve  34.0%   45m 00s          2
2  Approve  Review   17.0%   45m 00s          1

Findings:
- 2 cases took 2h 12m on average; waiting was 66% of the activities' time.
- Review: 55% of cycle time, of which 59% waiting; its queue held at 0 open tasks on 4 March 2024.
- Approve: 45% of cycle time, of which 75% waiting; its queue grew from 0 to 1 open task on 4 March 2024.
- Review → Approve: 34% of cycle time passes between them, 45m 00s on average over 2 hand-offs.
- Notify: nothing completed yet; its queue grew from 0 to 1 open task on 4 March 2024.
"
    );
    assert_eq!(report.to_string(), report.to_text());

    // JSON: an activity's times are flattened next to its share, queue and sentence.
    let value = serde_json::to_value(&report).unwrap();
    assert_eq!(value["period"], "day");
    let approve = &value["activities"][1];
    assert_eq!(approve["activity"], "Approve");
    assert_eq!(approve["waiting"], json!({"total_s": 5400.0, "mean_s": 2700.0, "max_s": 3600.0}));
    assert_eq!(approve["elapsed"], Value::Null);
    assert_eq!(approve["queue"]["trend"]["direction"], "growing");
    assert_eq!(approve["queue"]["periods"][0]["start"], "2024-03-04T00:00:00Z");
    assert_eq!(value["transitions"][0]["frequency"], 2);
}

/// Cases of one item each (arrival at its start): review's queue fills again at the end of the
/// range, fix's empties.
const QUEUES: &str = "\
case,activity,start,timestamp
r1,review,2024-05-06T09:00:00Z,2024-05-06T17:00:00Z
r2,review,2024-05-07T09:00:00Z,2024-05-09T12:00:00Z
r3,review,2024-05-08T09:00:00Z,2024-05-09T13:00:00Z
r4,review,2024-05-11T09:00:00Z,2024-05-11T12:00:00Z
r5,review,2024-05-12T09:00:00Z,2024-05-14T10:00:00Z
r6,review,2024-05-13T09:00:00Z,2024-05-14T11:00:00Z
f1,fix,2024-05-10T09:00:00Z,2024-05-12T10:00:00Z
f2,fix,2024-05-10T10:00:00Z,2024-05-13T10:00:00Z
f3,fix,2024-05-11T09:00:00Z,2024-05-13T11:00:00Z
f4,fix,2024-05-12T09:00:00Z,2024-05-12T12:00:00Z
";

#[tokio::test]
async fn queues_grow_and_shrink_over_the_most_recent_periods() {
    let (_dir, warehouse) = warehouse();
    import_csv(&warehouse, "team-a", "queues", QUEUES).await;
    let filter = Filter::source("queues").unwrap();
    let report = bottlenecks(&outlined(&warehouse, &team(), &filter).await).await.unwrap();

    // 6 to 14 May: days. Cycle times: review 8 h, 51 h, 28 h, 3 h, 49 h, 26 h; fix 49 h, 72 h,
    // 50 h, 3 h.
    assert_eq!(report.period, QueuePeriod::Day);
    assert_eq!((report.cases, report.cycle_time_total_s), (10, 3600.0 * (165.0 + 174.0)));
    assert_eq!(ranking(&report), ["fix", "review"]);
    let [fix, review] = &report.activities[..] else { panic!("two activities") };
    // From the first arrival (6 May) to the last (13 May); the completions of the 14th are the
    // queue draining after the last arrival, left out.
    assert_eq!(
        review.queue.periods,
        [
            day("2024-05-06", 1, 1, 0),
            day("2024-05-07", 1, 0, 1),
            day("2024-05-08", 1, 0, 2),
            day("2024-05-09", 0, 2, 0),
            day("2024-05-10", 0, 0, 0),
            day("2024-05-11", 1, 1, 0),
            day("2024-05-12", 1, 0, 1),
            day("2024-05-13", 1, 0, 2),
        ]
    );
    assert_eq!(
        fix.queue.periods.iter().map(|p| (p.arrived, p.completed, p.open_at_end)).collect::<Vec<_>>(),
        [(0, 0, 0), (0, 0, 0), (0, 0, 0), (0, 0, 0), (2, 0, 2), (1, 0, 3), (1, 2, 2), (0, 2, 0)]
    );
    // Eight periods: the trend is over the last two (a quarter).
    assert_eq!(
        review.queue.trend,
        Some(QueueTrend {
            direction: QueueDirection::Growing,
            from: time("2024-05-12T00:00:00Z"),
            periods: 2,
            open_before: 0,
            open_after: 2,
            arrived: 2,
            completed: 0,
        })
    );
    assert_eq!((review.queue.peak, review.queue.peak_period), (2, Some(time("2024-05-08T00:00:00Z"))));
    assert_eq!(
        fix.queue.trend,
        Some(QueueTrend {
            direction: QueueDirection::Shrinking,
            from: time("2024-05-12T00:00:00Z"),
            periods: 2,
            open_before: 3,
            open_after: 0,
            arrived: 1,
            completed: 4,
        })
    );
    assert_eq!((fix.queue.peak, fix.queue.peak_period), (3, Some(time("2024-05-11T00:00:00Z"))));
    assert_eq!(
        report.findings,
        [
            "10 cases took 1d 09h on average; waiting was 0% of the activities' time.",
            "fix: 51% of cycle time, of which 0% waiting; its queue shrank from 3 to 0 open tasks in the 2 days from 12 May 2024.",
            "review: 49% of cycle time, of which 0% waiting; its queue grew from 0 to 2 open tasks in the 2 days from 12 May 2024.",
        ]
    );

    // Per week (from Monday 6 May): two weeks, the trend over the last.
    let weeks = bottlenecks_per(&outlined(&warehouse, &team(), &filter).await, QueuePeriod::Week).await.unwrap();
    let [fix, review] = &weeks.activities[..] else { panic!("two activities") };
    let counts = |start: &str, arrived, completed, open_at_end| QueueCounts {
        start: time(&format!("{start}T00:00:00Z")),
        arrived,
        completed,
        open_at_end,
    };
    assert_eq!(review.queue.periods, [counts("2024-05-06", 5, 4, 1), counts("2024-05-13", 1, 2, 0)]);
    assert_eq!(fix.queue.periods, [counts("2024-05-06", 4, 2, 2), counts("2024-05-13", 0, 2, 0)]);
    assert_eq!(
        review.sentence,
        "review: 49% of cycle time, of which 0% waiting; its queue shrank from 1 to 0 open tasks in the week of 13 May 2024."
    );
    // Per month: one month, as many arrived as completed.
    let months = bottlenecks_per(&outlined(&warehouse, &team(), &filter).await, QueuePeriod::Month).await.unwrap();
    assert_eq!(months.activities[1].queue.periods, [counts("2024-05-01", 6, 6, 0)]);
    assert_eq!(
        months.activities[1].sentence,
        "review: 49% of cycle time, of which 0% waiting; its queue held at 0 open tasks in May 2024."
    );
}

#[tokio::test]
async fn atomic_logs_report_elapsed_time_not_split() {
    let (_dir, warehouse) = warehouse();
    import_csv(&warehouse, "team-a", "atomic", ATOMIC).await;
    let report = bottlenecks(&outlined(&warehouse, &team(), &Filter::source("atomic").unwrap()).await).await.unwrap();

    assert_eq!(
        (report.period, report.split, report.cases, report.cycle_time_total_s),
        (QueuePeriod::Day, false, 3, 23400.0)
    );
    assert_eq!(ranking(&report), ["check", "decide", "register"]);
    let sentences: Vec<_> = report.activities.iter().map(|a| a.sentence.as_str()).collect();
    assert_eq!(
        sentences,
        [
            "check: 69% of cycle time (not split into waiting and working: no start times); its queue held at 0 open tasks on 2 January 2024.",
            "decide: 31% of cycle time (not split into waiting and working: no start times); its queue held at 0 open tasks on 2 January 2024.",
            "register: 0% of cycle time (not split into waiting and working: no start times); its queue held at 0 open tasks on 2 January 2024.",
        ]
    );
    assert!(report.activities.iter().all(|a| a.waiting_share.is_none()));
    let transitions: Vec<_> = report.transitions.iter().map(|t| (t.times.from.as_str(), t.times.to.as_str())).collect();
    assert_eq!(
        transitions,
        [("decide", "check"), ("check", "decide"), ("register", "check"), ("check", "check"), ("register", "decide")]
    );
    // register's share is 0: it is no finding.
    assert_eq!(
        report.findings,
        [
            "3 cases took 2h 10m on average.",
            sentences[0],
            sentences[1],
            "decide → check: 46% of cycle time passes between them, 3h 00m on average over 1 hand-off.",
        ]
    );
    assert!(
        report
            .to_text()
            .contains("\nThe data has no start times: each activity's time is the time since the previous event.\n")
    );
}

#[tokio::test]
async fn parallel_work_counts_for_each_activity_and_an_empty_selection_has_no_findings() {
    let (_dir, warehouse) = warehouse();
    import_csv(&warehouse, "team-a", "intervals", INTERVALS).await;
    let report =
        bottlenecks(&outlined(&warehouse, &team(), &Filter::source("intervals").unwrap()).await).await.unwrap();
    // Case 2's a and b overlap by 5 of the 225 minutes of cycle time.
    let shares: Vec<_> = report.activities.iter().map(|a| (a.times.activity.as_str(), a.share)).collect();
    assert_eq!(shares, [("b", 6300.0 / 13500.0), ("c", 5100.0 / 13500.0), ("a", 2400.0 / 13500.0)]);
    assert_close(shares.iter().map(|(_, s)| s).sum(), 13800.0 / 13500.0, TOLERANCE, "shares");
    assert_eq!(
        report.activities[0].sentence,
        "b: 47% of cycle time, of which 29% waiting; its queue held at 0 open tasks on 4 March 2024."
    );
    // a→b's gaps: 30 minutes, and -5 (b started before a completed).
    assert_eq!((report.transitions[1].times.total_s, report.transitions[1].share), (1500.0, 1500.0 / 13500.0));

    let none = bottlenecks(&outlined(&warehouse, &team(), &Filter::source("missing").unwrap()).await).await.unwrap();
    assert_eq!((none.cases, none.cycle_time_mean_s, none.activities.len(), none.findings.len()), (0, None, 0, 0));
    assert_eq!(none.to_text(), "No completed activities in the selection.\n");
}

/// Runs the report on a shared log and checks it against the other reports: the elapsed times
/// of an atomic log add up to the case durations; the interval log's processing means are
/// PM4Py's service times; transitions are the graph's edges; every arrival is in a period.
async fn consistent_on(name: &str, period: QueuePeriod, first_period: &str) {
    let (_dir, warehouse) = warehouse();
    import_file(&warehouse, &shared_log(name), "team-a", name).await;
    let filter = Filter::source(name).unwrap();
    let report = bottlenecks(&outlined(&warehouse, &team(), &filter).await).await.unwrap();
    let statistics = case_report(&outlined(&warehouse, &team(), &filter).await).await.unwrap().statistics;
    assert_eq!(report.cases, statistics.cases, "{name}: cases");
    let shares: f64 = report.activities.iter().map(|a| a.share).sum();
    let total: f64 = report.activities.iter().map(|a| a.times.total_s).sum();
    assert_close(shares * report.cycle_time_total_s, total, TOLERANCE, &format!("{name}: shares"));
    let occurrences: u64 = report.activities.iter().map(|a| a.times.occurrences).sum();
    assert_eq!(occurrences, statistics.events, "{name}: occurrences");

    let interval = name == "interval_event_log.csv";
    assert_eq!(report.split, interval, "{name}: split");
    if interval {
        let text = std::fs::read_to_string(shared_log("reference.json")).unwrap();
        let references: Value = serde_json::from_str(&text).unwrap();
        let reference = references.as_array().unwrap().iter().find(|r| r["log"] == name).unwrap();
        for activity in &report.activities {
            let expected = reference["service_time_mean_s"][&activity.times.activity].as_f64().unwrap();
            let processing = activity.times.processing.unwrap();
            let what = format!("{name}: processing of {}", activity.times.activity);
            assert_close(processing.mean_s, expected, MEAN_TOLERANCE, &what);
            assert_eq!((activity.times.split_occurrences, activity.times.elapsed), (activity.times.occurrences, None));
        }
    } else {
        // Atomic: each activity's time is the time since its case's previous event, so they add up
        // to the cases' durations (last minus first event).
        let durations = statistics.duration_s.unwrap().mean * statistics.cases as f64;
        assert_close(report.cycle_time_total_s, durations, MEAN_TOLERANCE, &format!("{name}: cycle time"));
        let elapsed: f64 = report.activities.iter().map(|a| a.times.elapsed.unwrap().total_s).sum();
        assert_close(elapsed, report.cycle_time_total_s, 1e-12, &format!("{name}: elapsed"));
        assert!(report.activities.iter().all(|a| a.times.waiting.is_none() && a.times.processing.is_none()));
        assert_close(shares, 1.0, 1e-12, &format!("{name}: shares add up"));
    }

    let dfg = directly_follows(&outlined(&warehouse, &team(), &filter).await).await.unwrap();
    assert_eq!(report.transitions.len(), dfg.edges.len(), "{name}: transitions");
    for edge in &dfg.edges {
        let found = report.transitions.iter().find(|t| t.times.from == edge.from && t.times.to == edge.to);
        let found = found.unwrap_or_else(|| panic!("{name}: no transition {} -> {}", edge.from, edge.to));
        assert_eq!(found.times.frequency, edge.frequency, "{name}: {} -> {}", edge.from, edge.to);
        let what = format!("{name}: {} -> {} mean", edge.from, edge.to);
        assert_close(found.times.mean_s, edge.mean_s, MEAN_TOLERANCE, &what);
    }

    // Every item arrives within the periods; they are a handful to a few dozen.
    for activity in &report.activities {
        let arrived: u64 = activity.queue.periods.iter().map(|p| p.arrived).sum();
        assert_eq!(arrived, activity.times.occurrences, "{name}: arrivals of {}", activity.times.activity);
    }
    // The periods fit the log's time span, from that of its first event (or start).
    assert_eq!(report.period, period, "{name}: period");
    let periods = &report.activities[0].queue.periods;
    assert_eq!(periods[0].start, time(first_period), "{name}: first period");
    assert!((1..=36).contains(&periods.len()), "{name}: {} periods of a {:?}", periods.len(), report.period);
    assert!(report.findings[0].starts_with(&format!("{} cases took ", report.cases)), "{name}: {:?}", report.findings);
    assert!(report.findings.len() >= 3, "{name}: {:?}", report.findings);
}

#[tokio::test]
async fn running_example_report_is_consistent() {
    consistent_on("running-example.xes", QueuePeriod::Day, "2010-12-30T00:00:00Z").await;
}

#[tokio::test]
async fn receipt_report_is_consistent() {
    consistent_on("receipt.xes.gz", QueuePeriod::Month, "2010-10-01T00:00:00Z").await;
}

#[tokio::test]
async fn helpdesk_report_is_consistent() {
    consistent_on("helpdesk.xes.gz", QueuePeriod::Quarter, "2010-01-01T00:00:00Z").await;
}

#[tokio::test]
async fn interval_log_report_is_consistent() {
    consistent_on("interval_event_log.csv", QueuePeriod::Month, "2015-01-01T00:00:00Z").await;
}

#[tokio::test]
async fn road_traffic_report_is_consistent() {
    consistent_on("roadtraffic100traces.xes", QueuePeriod::Year, "2000-01-01T00:00:00Z").await;
}
