//! Comparisons computed by hand: source against source, team against team, period against period,
//! and the sentences of the notable changes.

use crate::activity_times::INTERVALS;
use crate::common::{assert_close, import_csv, warehouse};
use orgata_reports::{
    Change, Comparison, Filter, Report, ReportError, ReportKind, ReportOptions, TimeScope, Unit, Versus, run,
};
use orgata_warehouse::TeamScope;

/// INTERVALS with b taking two hours in case 1, and a case 3 the next day that repeats a.
const AFTER: &str = "\
case,activity,start,timestamp
1,a,2024-03-04T09:00:00Z,2024-03-04T09:30:00Z
1,b,2024-03-04T10:00:00Z,2024-03-04T12:00:00Z
1,c,2024-03-04T12:00:00Z,2024-03-04T12:15:00Z
2,a,2024-03-04T12:00:00Z,2024-03-04T12:10:00Z
2,b,2024-03-04T12:05:00Z,2024-03-04T12:20:00Z
2,c,2024-03-04T13:20:00Z,2024-03-04T13:30:00Z
3,a,2024-03-05T09:00:00Z,2024-03-05T09:20:00Z
3,a,2024-03-05T09:30:00Z,2024-03-05T09:40:00Z
3,b,2024-03-05T10:00:00Z,2024-03-05T10:30:00Z
";

fn team(id: &str) -> TeamScope {
    TeamScope::Teams(vec![id.into()])
}

fn options(versus: Versus) -> ReportOptions {
    ReportOptions { versus, ..ReportOptions::default() }
}

async fn comparison(
    warehouse: &orgata_warehouse::Warehouse,
    scope: &TeamScope,
    filter: &Filter,
    versus: Versus,
) -> Comparison {
    match run(ReportKind::Compare, warehouse, scope, filter, &options(versus)).await.unwrap().report {
        Report::Compare(comparison) => comparison,
        other => panic!("not a comparison: {other:?}"),
    }
}

/// The metric `key`'s base and other values.
fn values(comparison: &Comparison, key: &str) -> (Option<f64>, Option<f64>) {
    let metric = comparison.metrics.iter().find(|m| m.metric == key).unwrap_or_else(|| panic!("no metric {key}"));
    (metric.values.base, metric.values.other)
}

#[tokio::test]
async fn sources_compare_figure_by_figure() {
    let (_dir, warehouse) = warehouse();
    import_csv(&warehouse, "team-a", "before", INTERVALS).await;
    import_csv(&warehouse, "team-a", "after", AFTER).await;
    let versus = Versus { source: Some("after".into()), ..Versus::default() };
    let c = comparison(&warehouse, &team("team-a"), &Filter::source("before").unwrap(), versus).await;
    assert_eq!((c.base.as_str(), c.other.as_str()), ("source before", "source after"));

    // Case durations run from the first completion to the last: before 6300 s and 4800 s; after
    // 9900 s, 4800 s and 4200 s.
    let expected: [(&str, Option<f64>, Option<f64>); 12] = [
        ("cases", Some(2.0), Some(3.0)),
        ("events_per_case", Some(3.0), Some(3.0)),
        ("case_duration_mean_s", Some(5550.0), Some(6300.0)),
        ("case_duration_median_s", Some(5550.0), Some(4800.0)),
        ("case_duration_p90_s", Some(4800.0 + 1500.0 * 0.9), Some(4800.0 + 5100.0 * 0.8)),
        ("case_duration_p95_s", Some(4800.0 + 1500.0 * 0.95), Some(4800.0 + 5100.0 * 0.9)),
        ("case_duration_max_s", Some(6300.0), Some(9900.0)),
        // Case starts 09:30 and 12:10; then also the next day's 09:20.
        ("arrival_interval_mean_s", Some(9600.0), Some((9600.0 + 76200.0) / 2.0)),
        // Waiting: b 1800 + c 3600 before; after, b 1800 (case 1), c 3600 (case 2), the second a
        // 600 and b 1200 (case 3).
        ("waiting_per_case_s", Some(5400.0 / 2.0), Some(7200.0 / 3.0)),
        ("processing_per_case_s", Some(8400.0 / 2.0), Some(15600.0 / 3.0)),
        ("elapsed_per_case_s", None, None),
        ("repetitions_per_case", Some(0.0), Some(1.0 / 3.0)),
    ];
    assert_eq!(c.metrics.len(), expected.len());
    for (metric, (key, base, other)) in c.metrics.iter().zip(expected) {
        assert_eq!(metric.metric, key);
        match (metric.values.base, base, metric.values.other, other) {
            (Some(b), Some(eb), Some(o), Some(eo)) => {
                assert_close(b, eb, 1e-12, key);
                assert_close(o, eo, 1e-12, key);
            }
            _ => assert_eq!((metric.values.base, metric.values.other), (base, other), "{key}"),
        }
    }
    let cases = &c.metrics[0];
    assert_eq!((cases.name.as_str(), cases.unit), ("cases", Unit::Number));
    assert_eq!(cases.values, Change { base: Some(2.0), other: Some(3.0), change: Some(1.0), relative: Some(0.5) });
    // No relative change from 0.
    let repetitions = c.metrics.iter().find(|m| m.metric == "repetitions_per_case").unwrap();
    assert_eq!(repetitions.values.relative, None);

    // Activities: occurrences per case, mean time per occurrence, share of cycle time (before:
    // 8100 + 5400 s; after: 11700 + 5400 + 5400 s).
    let b = c.activities.iter().find(|a| a.activity == "b").unwrap();
    assert_eq!((b.per_case.base, b.per_case.other), (Some(1.0), Some(1.0)));
    assert_eq!((b.mean_time_s.base, b.mean_time_s.other), (Some(3150.0), Some(4300.0)));
    assert_close(b.share.base.unwrap(), 6300.0 / 13500.0, 1e-12, "b's share before");
    assert_close(b.share.other.unwrap(), 12900.0 / 22500.0, 1e-12, "b's share after");
    let a = c.activities.iter().find(|a| a.activity == "a").unwrap();
    assert_eq!(
        (a.per_case.other, a.mean_time_s.base, a.mean_time_s.other),
        (Some(4.0 / 3.0), Some(1200.0), Some(1200.0))
    );
    assert_eq!(a.mean_time_s.relative, Some(0.0));

    assert_eq!(
        c.findings,
        [
            "Mean time between case arrivals rose 346.9% from 2h 40m (source before) to 11h 55m (source after).",
            "Longest case duration rose 57.1% from 1h 45m (source before) to 2h 45m (source after).",
            "95th percentile of case duration rose 50.8% from 1h 43m (source before) to 2h 36m (source after).",
            "Cases rose 50.0% from 2 (source before) to 3 (source after).",
            "90th percentile of case duration rose 44.4% from 1h 42m (source before) to 2h 28m (source after).",
            "b: 1h 11m per occurrence against 52m 30s (36.5% longer), 1 against 1 occurrences per case.",
        ]
    );
    let text = Report::Compare(c).to_text();
    assert!(text.starts_with("source after against source before\n"), "{text}");
    assert!(text.contains("\ncases                                         2             3  +50.0%\n"), "{text}");
    assert!(text.contains("\nrepetitions per case                          0          0.33  —\n"), "{text}");
}

#[tokio::test]
async fn teams_and_periods_are_sides_too() {
    let (_dir, warehouse) = warehouse();
    import_csv(&warehouse, "team-a", "log", INTERVALS).await;
    import_csv(&warehouse, "team-b", "log", AFTER).await;
    let filter = Filter::source("log").unwrap();

    let versus = Versus { team: Some("team-b".into()), ..Versus::default() };
    let c = comparison(&warehouse, &team("team-a"), &filter, versus).await;
    assert_eq!((c.base.as_str(), c.other.as_str()), ("team team-a", "team team-b"));
    assert_eq!(values(&c, "cases"), (Some(2.0), Some(3.0)));
    assert_eq!(values(&c, "case_duration_max_s"), (Some(6300.0), Some(9900.0)));

    // Team b's log, its first day against its second (events in each range).
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2024, 3, d).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let first_day = filter.clone().between(Some(day(4)), Some(day(5)), Default::default()).unwrap();
    let versus = Versus { from: Some(day(5)), to: Some(day(6)), ..Versus::default() };
    let c = comparison(&warehouse, &team("team-b"), &first_day, versus).await;
    assert_eq!((c.base.as_str(), c.other.as_str()), ("2024-03-04 – 2024-03-05", "2024-03-05 – 2024-03-06"));
    assert_eq!(values(&c, "cases"), (Some(2.0), Some(1.0)));
    assert_eq!(values(&c, "case_duration_mean_s"), (Some((9900.0 + 4800.0) / 2.0), Some(4200.0)));
    assert_eq!(values(&c, "arrival_interval_mean_s"), (Some(9600.0), None));
    // c occurs only on the first day.
    let only_c = c.activities.iter().find(|a| a.activity == "c").unwrap();
    assert_eq!((only_c.per_case.base, only_c.per_case.other, only_c.mean_time_s.other), (Some(1.0), Some(0.0), None));
    assert!(c.findings.contains(&"Only in 2024-03-04 – 2024-03-05: c.".to_string()), "{:?}", c.findings);

    // A side without events: a zero count and no other figures.
    let versus = Versus { source: Some("missing".into()), ..Versus::default() };
    let c = comparison(&warehouse, &team("team-a"), &filter, versus).await;
    assert_eq!(values(&c, "cases"), (Some(2.0), Some(0.0)));
    assert_eq!(values(&c, "case_duration_mean_s"), (Some(5550.0), None));
}

#[tokio::test]
async fn a_comparison_needs_a_valid_second_side() {
    let (_dir, warehouse) = warehouse();
    let filter = Filter::source("log").unwrap();
    let scope = team("team-a");
    let err = run(ReportKind::Compare, &warehouse, &scope, &filter, &ReportOptions::default()).await.unwrap_err();
    assert!(matches!(&err, ReportError::InvalidFilter(m) if m.starts_with("compare needs a second side")), "{err}");
    for versus in [
        Versus { team: Some("a b".into()), ..Versus::default() },
        Versus { source: Some("x'y".into()), ..Versus::default() },
        Versus { version_id: Some(String::new()), ..Versus::default() },
    ] {
        let err = run(ReportKind::Compare, &warehouse, &scope, &filter, &options(versus)).await.unwrap_err();
        assert!(matches!(err, ReportError::InvalidFilter(_)), "{err}");
    }
    // An empty range on the other side.
    let t = chrono::Utc::now();
    let versus = Versus { from: Some(t), to: Some(t), ..Versus::default() };
    let err = run(ReportKind::Compare, &warehouse, &scope, &filter, &options(versus)).await.unwrap_err();
    assert!(matches!(&err, ReportError::InvalidFilter(m) if m.contains("time range is empty")), "{err}");
}

/// AFTER with a case 4 that starts late on the first day and ends on the second.
const OVERNIGHT: &str = "\
4,a,2024-03-04T23:00:00Z,2024-03-04T23:30:00Z
4,b,2024-03-05T00:30:00Z,2024-03-05T01:00:00Z
";

#[tokio::test]
async fn periods_of_case_starts_take_every_event_of_their_cases() {
    let (_dir, warehouse) = warehouse();
    let log = format!("{AFTER}{OVERNIGHT}");
    import_csv(&warehouse, "team-b", "log", &log).await;
    import_csv(&warehouse, "team-c", "log", &log).await;
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2024, 3, d).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let started = |from: u32, to: u32| {
        Filter::source("log").unwrap().between(Some(day(from)), Some(day(to)), TimeScope::CasesStarted).unwrap()
    };
    let second_day = Versus { from: Some(day(5)), to: Some(day(6)), ..Versus::default() };
    let output = run(ReportKind::Compare, &warehouse, &team("team-b"), &started(4, 5), &options(second_day.clone()))
        .await
        .unwrap();
    let Report::Compare(c) = output.report else { panic!("not a comparison") };
    // Cases 1, 2 and 4 start on the first day (4 ends on the second), case 3 on the second.
    assert_eq!(values(&c, "cases"), (Some(3.0), Some(1.0)));
    assert_eq!(values(&c, "events_per_case"), (Some(8.0 / 3.0), Some(3.0)));
    assert_eq!(values(&c, "case_duration_mean_s"), (Some((9900.0 + 4800.0 + 5400.0) / 3.0), Some(4200.0)));
    assert_eq!(values(&c, "case_duration_median_s"), (Some(5400.0), Some(4200.0)));
    // The base side's selection counts the events of its cases.
    assert_eq!((output.selection.selected_events, output.selection.counted_events), (11, 8));

    // The same figures as when each side's events are selected apart (team c holds the same log).
    let apart = Versus { team: Some("team-c".into()), ..second_day };
    let d = comparison(&warehouse, &team("team-b"), &started(4, 5), apart).await;
    let figures = |c: &Comparison| {
        let metrics: Vec<Change> = c.metrics.iter().map(|m| m.values).collect();
        let activities: Vec<(String, Change, Change, Change)> =
            c.activities.iter().map(|a| (a.activity.clone(), a.per_case, a.mean_time_s, a.share)).collect();
        (metrics, activities)
    };
    assert_eq!(figures(&c), figures(&d));
    assert_eq!(d.base, "team team-b, 2024-03-04 – 2024-03-05");

    // Asked the other way round, the periods still read from the earlier to the later.
    let first_day = Versus { from: Some(day(4)), to: Some(day(5)), ..Versus::default() };
    let reversed = comparison(&warehouse, &team("team-b"), &started(5, 6), first_day).await;
    assert_eq!(
        (reversed.base.as_str(), reversed.other.as_str()),
        ("2024-03-04 – 2024-03-05", "2024-03-05 – 2024-03-06")
    );
    assert_eq!(figures(&reversed), figures(&c));

    // Overlapping ranges: case 3 is on both sides.
    let overlapping = Versus { from: Some(day(5)), to: Some(day(6)), ..Versus::default() };
    let c = comparison(&warehouse, &team("team-b"), &started(4, 6), overlapping).await;
    assert_eq!(values(&c, "cases"), (Some(4.0), Some(1.0)));
    assert_eq!(values(&c, "case_duration_max_s"), (Some(9900.0), Some(4200.0)));
}
