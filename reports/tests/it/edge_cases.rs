//! Small logs whose figures are computed by hand: ties in time, a single-event case, rework,
//! mixed lifecycles, start times and overlapping work, time ranges, filters, and teams' scopes.

use crate::common::{TOLERANCE, assert_close, import_csv, outlined, rework, service_times, warehouse};
use chrono::{DateTime, Utc};
use orgata_reports::{
    CountRule, Emptied, Filter, ReportError, ReportKind, ReportOptions, Selection, SourceCount, TimeScope, Variant,
    activity_report, bottlenecks, case_report, directly_follows, run, selection, variants,
};
use orgata_warehouse::{TeamScope, Warehouse};
use std::collections::BTreeMap;

/// Case A: register 09:00, check 10:00, decide 10:00 (a tie: file order), check 11:30 (rework).
/// Case B, written out of time order: decide 14:00, register 12:00, check 14:00 (a tie with
/// decide; file order puts decide first, against the alphabet). Case C: one event, the next day.
const TIES: &str = "\
case,activity,timestamp
A,register,2024-01-01T09:00:00Z
A,check,2024-01-01T10:00:00Z
A,decide,2024-01-01T10:00:00Z
B,decide,2024-01-01T14:00:00Z
B,register,2024-01-01T12:00:00Z
A,check,2024-01-01T11:30:00Z
B,check,2024-01-01T14:00:00Z
C,register,2024-01-02T08:00:00Z
";

fn team(name: &str) -> TeamScope {
    TeamScope::Teams(vec![name.into()])
}

fn time(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn names(activities: &[&str]) -> Vec<String> {
    activities.iter().map(|a| a.to_string()).collect()
}

async fn ties() -> (tempfile::TempDir, Warehouse) {
    let (dir, warehouse) = warehouse();
    import_csv(&warehouse, "team-a", "ties", TIES).await;
    (dir, warehouse)
}

#[tokio::test]
async fn ties_in_time_keep_file_order_and_single_event_cases_count() {
    let (_dir, warehouse) = ties().await;
    let (scope, filter) = (team("team-a"), Filter::source("ties").unwrap());

    let statistics = case_report(&outlined(&warehouse, &scope, &filter).await).await.unwrap().statistics;
    assert_eq!((statistics.cases, statistics.events), (3, 8));
    // Durations 9,000 s (A), 7,200 s (B), 0 (C).
    let duration = statistics.duration_s.unwrap();
    assert_close(duration.mean, 5400.0, TOLERANCE, "mean");
    assert_close(duration.median, 7200.0, TOLERANCE, "median");
    assert_eq!((duration.min, duration.max), (0.0, 9000.0));
    // Ranks 0..2: p90 at 1.8 = 7,200 + 0.8 × 1,800; p95 at 1.9.
    assert_close(duration.p90, 8640.0, TOLERANCE, "p90");
    assert_close(duration.p95, 8820.0, TOLERANCE, "p95");
    // The quartiles at ranks 0.5 and 1.5.
    assert_eq!((duration.p25, duration.p75), (3600.0, 8100.0));

    let found = variants(&outlined(&warehouse, &scope, &filter).await).await.unwrap();
    assert_eq!(found.cases, 3);
    let variant = |activities: &[&str], duration: f64| Variant {
        activities: names(activities),
        frequency: 1,
        share: 1.0 / 3.0,
        mean_duration_s: duration,
        median_duration_s: duration,
    };
    assert_eq!(
        found.variants,
        [
            variant(&["register"], 0.0),
            variant(&["register", "check", "decide", "check"], 9000.0),
            variant(&["register", "decide", "check"], 7200.0),
        ]
    );

    let dfg = directly_follows(&outlined(&warehouse, &scope, &filter).await).await.unwrap();
    let edges: Vec<_> = dfg
        .edges
        .iter()
        .map(|e| (e.from.as_str(), e.to.as_str(), e.frequency, e.mean_s, e.median_s, e.min_s, e.max_s))
        .collect();
    assert_eq!(
        edges,
        [
            // A's 5,400 s and B's 0: a median of two values is their mean.
            ("decide", "check", 2, 2700.0, 2700.0, 0.0, 5400.0),
            ("check", "decide", 1, 0.0, 0.0, 0.0, 0.0),
            ("register", "check", 1, 3600.0, 3600.0, 3600.0, 3600.0),
            ("register", "decide", 1, 7200.0, 7200.0, 7200.0, 7200.0),
        ]
    );
    assert_eq!(dfg.start_activities, counts(&[("register", 3)]));
    assert_eq!(dfg.end_activities, counts(&[("check", 2), ("register", 1)]));

    assert_eq!(
        rework(&activity_report(&outlined(&warehouse, &scope, &filter).await).await.unwrap()),
        counts(&[("check", 1)])
    );
    // Starts at 09:00 and 12:00 on the 1st and 08:00 on the 2nd: gaps of 3 h and 20 h.
    let arrival = case_report(&outlined(&warehouse, &scope, &filter).await).await.unwrap().arrival_average_s;
    assert_close(arrival.unwrap(), 41400.0, TOLERANCE, "arrival");
    // No start times: every service time is 0, as in PM4Py.
    let service = service_times(&activity_report(&outlined(&warehouse, &scope, &filter).await).await.unwrap());
    let means: Vec<_> = service.iter().map(|(a, s)| (a.as_str(), s.mean_s, s.events, s.timed_events)).collect();
    assert_eq!(means, [("check", 0.0, 3, 0), ("decide", 0.0, 2, 0), ("register", 0.0, 3, 0)]);
}

#[tokio::test]
async fn a_single_case_has_no_arrival_rate_and_an_empty_selection_has_no_figures() {
    let (_dir, warehouse) = warehouse();
    import_csv(&warehouse, "team-a", "one", "case,activity,timestamp\n1,a,2024-01-01T09:00:00Z\n").await;
    let scope = team("team-a");
    let one = Filter::source("one").unwrap();
    let statistics = case_report(&outlined(&warehouse, &scope, &one).await).await.unwrap().statistics;
    assert_eq!((statistics.cases, statistics.events), (1, 1));
    let duration = statistics.duration_s.unwrap();
    let d = duration;
    assert_eq!([d.mean, d.median, d.p25, d.p75, d.p90, d.p95, d.min, d.max], [0.0; 8]);
    assert_eq!(case_report(&outlined(&warehouse, &scope, &one).await).await.unwrap().arrival_average_s, None);
    let dfg = directly_follows(&outlined(&warehouse, &scope, &one).await).await.unwrap();
    assert!(dfg.edges.is_empty());
    assert_eq!((dfg.start_activities, dfg.end_activities), (counts(&[("a", 1)]), counts(&[("a", 1)])));

    let none = Filter::source("missing").unwrap();
    let statistics = case_report(&outlined(&warehouse, &scope, &none).await).await.unwrap().statistics;
    assert_eq!((statistics.cases, statistics.events, statistics.duration_s), (0, 0, None));
    let found = variants(&outlined(&warehouse, &scope, &none).await).await.unwrap();
    assert_eq!((found.cases, found.variants.len()), (0, 0));
    let dfg = directly_follows(&outlined(&warehouse, &scope, &none).await).await.unwrap();
    assert!(dfg.edges.is_empty() && dfg.start_activities.is_empty() && dfg.end_activities.is_empty());
    assert!(rework(&activity_report(&outlined(&warehouse, &scope, &none).await).await.unwrap()).is_empty());
    assert!(service_times(&activity_report(&outlined(&warehouse, &scope, &none).await).await.unwrap()).is_empty());
    assert_eq!(case_report(&outlined(&warehouse, &scope, &none).await).await.unwrap().arrival_average_s, None);
}

#[tokio::test]
async fn mixed_lifecycles_count_complete_events_only() {
    let (_dir, warehouse) = warehouse();
    let log = "\
case,activity,timestamp,lifecycle
1,a,2024-03-01T10:00:00Z,start
1,a,2024-03-01T10:30:00Z,complete
1,b,2024-03-01T10:45:00Z,start
1,b,2024-03-01T11:00:00Z,COMPLETE
2,a,2024-03-01T12:00:00Z,start
";
    import_csv(&warehouse, "team-a", "mixed", log).await;
    let (scope, filter) = (team("team-a"), Filter::source("mixed").unwrap());
    // Case 2 has no complete event, so it is not counted at all.
    let statistics = case_report(&outlined(&warehouse, &scope, &filter).await).await.unwrap().statistics;
    assert_eq!((statistics.cases, statistics.events), (1, 2));
    assert_eq!(statistics.duration_s.unwrap().max, 1800.0);
    let dfg = directly_follows(&outlined(&warehouse, &scope, &filter).await).await.unwrap();
    assert_eq!(dfg.edges.len(), 1);
    assert_eq!((dfg.edges[0].from.as_str(), dfg.edges[0].to.as_str(), dfg.edges[0].mean_s), ("a", "b", 1800.0));

    // A log of start events only does not mix lifecycles: all its events count.
    import_csv(&warehouse, "team-a", "starts", "case,activity,timestamp,lifecycle\n1,a,2024-03-01T10:00:00Z,start\n")
        .await;
    let statistics =
        case_report(&outlined(&warehouse, &scope, &Filter::source("starts").unwrap()).await).await.unwrap().statistics;
    assert_eq!((statistics.cases, statistics.events), (1, 1));
}

/// An incident log whose transitions are its own statuses, with no `complete` among them (as the
/// BPI Challenge 2013 incident logs): every event counts, as in PM4Py, instead of none.
const INCIDENTS: &str = "\
case,activity,timestamp,lifecycle
INC1,Accepted,2024-03-01T09:00:00Z,In Progress
INC1,Queued,2024-03-01T10:00:00Z,Awaiting Assignment
INC1,Accepted,2024-03-01T12:00:00Z,In Progress
INC1,Completed,2024-03-01T15:00:00Z,Resolved
INC2,Accepted,2024-03-02T09:00:00Z,In Progress
INC2,Completed,2024-03-02T10:30:00Z,Resolved
";

#[tokio::test]
async fn statuses_without_complete_count_every_event() {
    let (_dir, warehouse) = warehouse();
    import_csv(&warehouse, "team-a", "incidents", INCIDENTS).await;
    let (scope, filter) = (team("team-a"), Filter::source("incidents").unwrap());
    let statistics = case_report(&outlined(&warehouse, &scope, &filter).await).await.unwrap().statistics;
    assert_eq!((statistics.cases, statistics.events), (2, 6));
    let durations = statistics.duration_s.unwrap();
    assert_eq!((durations.min, durations.max, durations.mean), (5400.0, 21600.0, 13500.0));
    let found = variants(&outlined(&warehouse, &scope, &filter).await).await.unwrap();
    let sequences: Vec<(Vec<String>, u64)> =
        found.variants.iter().map(|v| (v.activities.clone(), v.frequency)).collect();
    assert_eq!(
        sequences,
        [(names(&["Accepted", "Completed"]), 1), (names(&["Accepted", "Queued", "Accepted", "Completed"]), 1)]
    );
    let dfg = directly_follows(&outlined(&warehouse, &scope, &filter).await).await.unwrap();
    let edges: Vec<(&str, &str, u64, f64)> =
        dfg.edges.iter().map(|e| (e.from.as_str(), e.to.as_str(), e.frequency, e.mean_s)).collect();
    assert_eq!(
        edges,
        [("Accepted", "Completed", 2, 8100.0), ("Accepted", "Queued", 1, 3600.0), ("Queued", "Accepted", 1, 7200.0)]
    );
    let rework = rework(&activity_report(&outlined(&warehouse, &scope, &filter).await).await.unwrap());
    assert_eq!(rework.get("Accepted").copied(), Some(1));
}

#[tokio::test]
async fn start_times_order_the_graph_and_give_service_times() {
    let (_dir, warehouse) = warehouse();
    // Case 1: b starts 5 minutes before a completes. Case 2: x starts first, y completes first.
    let log = "\
case,activity,start,timestamp
1,a,2024-03-01T10:00:00Z,2024-03-01T10:10:00Z
1,b,2024-03-01T10:05:00Z,2024-03-01T10:20:00Z
1,c,2024-03-01T10:30:00Z,2024-03-01T10:40:00Z
2,x,2024-03-01T09:00:00Z,2024-03-01T12:00:00Z
2,y,2024-03-01T10:00:00Z,2024-03-01T11:00:00Z
";
    import_csv(&warehouse, "team-a", "intervals", log).await;
    let (scope, filter) = (team("team-a"), Filter::source("intervals").unwrap());
    // Pairs in order of start time, from completion to the next start (PM4Py): overlap is negative.
    let dfg = directly_follows(&outlined(&warehouse, &scope, &filter).await).await.unwrap();
    let edges: Vec<_> = dfg.edges.iter().map(|e| (e.from.as_str(), e.to.as_str(), e.frequency, e.mean_s)).collect();
    assert_eq!(edges, [("a", "b", 1, -300.0), ("b", "c", 1, 600.0), ("x", "y", 1, -7200.0)]);
    // Overlapping work is said in words, never as a negative duration.
    let report = bottlenecks(&outlined(&warehouse, &scope, &filter).await).await.unwrap();
    let overlap = report.transitions.iter().find(|t| t.times.from == "x").unwrap();
    assert_eq!(overlap.sentence, "x → y: they overlap by 2h 00m on average over 1 hand-off.");
    assert!(report.to_text().contains("overlaps by 2h 00m"), "{}", report.to_text());
    // Start and end activities, variants and durations go by completion time, as in PM4Py.
    assert_eq!(dfg.start_activities, counts(&[("a", 1), ("y", 1)]));
    assert_eq!(dfg.end_activities, counts(&[("c", 1), ("x", 1)]));
    let found = variants(&outlined(&warehouse, &scope, &filter).await).await.unwrap();
    let sequences: Vec<_> = found.variants.iter().map(|v| v.activities.clone()).collect();
    assert_eq!(sequences, [names(&["a", "b", "c"]), names(&["y", "x"])]);
    let duration =
        case_report(&outlined(&warehouse, &scope, &filter).await).await.unwrap().statistics.duration_s.unwrap();
    assert_eq!((duration.min, duration.max), (1800.0, 3600.0));

    let service = service_times(&activity_report(&outlined(&warehouse, &scope, &filter).await).await.unwrap());
    let means: Vec<_> = service.iter().map(|(a, s)| (a.as_str(), s.mean_s, s.timed_events)).collect();
    assert_eq!(means, [("a", 600.0, 1), ("b", 900.0, 1), ("c", 600.0, 1), ("x", 10800.0, 1), ("y", 3600.0, 1)]);
}

#[tokio::test]
async fn time_ranges_cut_events_or_select_cases() {
    let (_dir, warehouse) = ties().await;
    let scope = team("team-a");
    let (from, to) = (Some(time("2024-01-01T10:00:00Z")), Some(time("2024-01-02T00:00:00Z")));

    // Events from 10:00 on the 1st, before the 2nd: A loses its first event, C is outside.
    let events = Filter::source("ties").unwrap().between(from, to, TimeScope::Events).unwrap();
    let statistics = case_report(&outlined(&warehouse, &scope, &events).await).await.unwrap().statistics;
    assert_eq!((statistics.cases, statistics.events), (2, 6));
    assert_eq!(statistics.duration_s.unwrap().max, 7200.0);
    let dfg = directly_follows(&outlined(&warehouse, &scope, &events).await).await.unwrap();
    assert_eq!(dfg.start_activities, counts(&[("check", 1), ("register", 1)]));

    // Cases that started from 10:00 on: B and C, whole, even past the end of the range.
    let started = Filter::source("ties").unwrap().between(from, None, TimeScope::CasesStarted).unwrap();
    let statistics = case_report(&outlined(&warehouse, &scope, &started).await).await.unwrap().statistics;
    assert_eq!((statistics.cases, statistics.events), (2, 4));
    let started = Filter::source("ties").unwrap().between(None, to, TimeScope::CasesStarted).unwrap();
    let statistics = case_report(&outlined(&warehouse, &scope, &started).await).await.unwrap().statistics;
    assert_eq!((statistics.cases, statistics.events), (2, 7));

    // The range's ends: `from` is included, `to` is not.
    let exact = Filter::source("ties")
        .unwrap()
        .between(Some(time("2024-01-02T08:00:00Z")), Some(time("2024-01-02T08:00:00.000001Z")), TimeScope::Events)
        .unwrap();
    assert_eq!(case_report(&outlined(&warehouse, &scope, &exact).await).await.unwrap().statistics.events, 1);
    let before = Filter::source("ties")
        .unwrap()
        .between(Some(time("2024-01-01T00:00:00Z")), Some(time("2024-01-02T08:00:00Z")), TimeScope::Events)
        .unwrap();
    assert_eq!(case_report(&outlined(&warehouse, &scope, &before).await).await.unwrap().statistics.events, 7);
}

#[tokio::test]
async fn a_teams_scope_hides_other_teams_sources_and_cases() {
    let (_dir, warehouse) = ties().await;
    // Team B imports its own log under another name, and a log under the same name as team A's.
    import_csv(&warehouse, "team-b", "private", "case,activity,timestamp\n1,x,2024-01-01T09:00:00Z\n").await;
    import_csv(&warehouse, "team-b", "ties", "case,activity,timestamp\nA,register,2024-01-05T09:00:00Z\n").await;

    let hidden = case_report(&outlined(&warehouse, &team("team-a"), &Filter::source("private").unwrap()).await)
        .await
        .unwrap()
        .statistics;
    assert_eq!((hidden.cases, hidden.events), (0, 0));
    let seen = case_report(&outlined(&warehouse, &team("team-b"), &Filter::source("private").unwrap()).await)
        .await
        .unwrap()
        .statistics;
    assert_eq!((seen.cases, seen.events), (1, 1));
    let own = case_report(&outlined(&warehouse, &team("team-a"), &Filter::source("ties").unwrap()).await)
        .await
        .unwrap()
        .statistics;
    assert_eq!((own.cases, own.events), (3, 8));

    // Seeing both teams, case A of team A and case A of team B stay two cases.
    let both = TeamScope::Teams(vec!["team-a".into(), "team-b".into()]);
    let filter = Filter::source("ties").unwrap();
    let statistics = case_report(&outlined(&warehouse, &both, &filter).await).await.unwrap().statistics;
    assert_eq!((statistics.cases, statistics.events), (4, 9));
    let found = variants(&outlined(&warehouse, &TeamScope::All, &filter).await).await.unwrap();
    assert_eq!(
        (found.cases, found.variants[0].activities.clone(), found.variants[0].frequency),
        (4, names(&["register"]), 2)
    );
    let dfg = directly_follows(&outlined(&warehouse, &both, &filter).await).await.unwrap();
    assert_eq!(dfg.start_activities, counts(&[("register", 4)]));
    assert_eq!(dfg.edges.iter().map(|e| e.frequency).sum::<u64>(), 5);
}

#[test]
fn filters_accept_only_plain_identifiers_and_real_ranges() {
    for bad in ["", "a'b", "x; DROP TABLE events", "a b", "naïve", &"x".repeat(101)] {
        assert!(matches!(Filter::source(bad), Err(ReportError::InvalidFilter(_))), "{bad:?}");
    }
    let filter = Filter::source("receipt.xes.gz").unwrap();
    assert!(matches!(filter.clone().playbook("pb' OR '1'='1"), Err(ReportError::InvalidFilter(_))));
    assert!(matches!(filter.clone().version("v--1\n"), Err(ReportError::InvalidFilter(_))));
    let at = time("2024-01-01T00:00:00Z");
    assert!(matches!(
        filter.clone().between(Some(at), Some(at), TimeScope::Events),
        Err(ReportError::InvalidFilter(_))
    ));
    let filter = filter.playbook("0192f0c4-7e1a-7000-8000-000000000001").unwrap().version("ab12").unwrap();
    assert_eq!(
        (filter.source_name(), filter.playbook_id(), filter.version_id()),
        ("receipt.xes.gz", Some("0192f0c4-7e1a-7000-8000-000000000001"), Some("ab12"))
    );
    assert!(Filter::engine().is_engine());
}

/// Every report says which events it counted and why, and which filter left nothing.
#[tokio::test]
async fn selections_say_what_counts_and_which_filter_left_nothing() {
    let (_dir, warehouse) = ties().await;
    import_csv(&warehouse, "team-a", "incidents", INCIDENTS).await;
    let mixed = "case,activity,timestamp,lifecycle\n1,a,2024-03-01T10:00:00Z,start\n1,a,2024-03-01T10:30:00Z,complete\n\
                 1,b,2024-03-01T10:45:00Z,start\n1,b,2024-03-01T11:00:00Z,COMPLETE\n2,a,2024-03-01T12:00:00Z,start\n";
    import_csv(&warehouse, "team-a", "mixed", mixed).await;
    import_csv(&warehouse, "team-b", "elsewhere", TIES).await;
    let scope = team("team-a");
    let transitions = |s: &Selection| -> Vec<(Option<String>, u64)> {
        s.transitions.iter().map(|t| (t.transition.clone(), t.events)).collect()
    };
    let source = |name: &str| Filter::source(name).unwrap();

    // Only `complete` events: all count, and nothing needs saying.
    let all = selection(&outlined(&warehouse, &scope, &source("ties")).await).await.unwrap();
    assert_eq!((all.selected_events, all.counted_events, all.rule), (8, 8, CountRule::Every));
    assert_eq!(transitions(&all), [(Some("complete".into()), 8)]);
    assert_eq!((all.summary.as_str(), all.is_notable(), all.emptied_by), ("Counted all 8 events.", false, None));

    // Statuses of its own and no `complete`: every event counts, and the report says so.
    let statuses = selection(&outlined(&warehouse, &scope, &source("incidents")).await).await.unwrap();
    assert_eq!((statuses.selected_events, statuses.counted_events, statuses.rule), (6, 6, CountRule::NoComplete));
    assert_eq!(
        transitions(&statuses),
        [(Some("in progress".into()), 3), (Some("resolved".into()), 2), (Some("awaiting assignment".into()), 1)]
    );
    assert_eq!(
        statuses.summary,
        "Counted all 6 events, though none is a `complete` transition: the log's transitions are its own \
         (in progress 3, resolved 2, awaiting assignment 1), so every event counts as a step, as in PM4Py."
    );
    let report =
        run(ReportKind::Cases, &warehouse, &scope, &source("incidents"), &ReportOptions::default()).await.unwrap();
    let text = report.to_text();
    assert!(text.starts_with(&format!("{}\n\n2 cases, 6 events;", statuses.summary)), "{text}");

    // Mixed transitions: only the completions count.
    let completions = selection(&outlined(&warehouse, &scope, &source("mixed")).await).await.unwrap();
    assert_eq!(
        (completions.selected_events, completions.counted_events, completions.rule),
        (5, 2, CountRule::CompleteOnly)
    );
    assert_eq!(
        completions.summary,
        "Counted the 2 events whose transition is `complete`, of 5 selected: the log mixes transitions \
         (start 3, complete 2), and a step counts once, when it completes."
    );
    assert!(!completions.is_notable(), "the convention of lifecycle logs goes without saying in text");

    // Each filter that can leave nothing is named, with what there is without it.
    let emptied = |filter: Filter| {
        let warehouse = &warehouse;
        let scope = &scope;
        async move { selection(&outlined(warehouse, scope, &filter).await).await.unwrap() }
    };
    let missing = emptied(source("missing")).await;
    assert_eq!((missing.selected_events, missing.counted_events), (0, 0));
    let sources = vec![
        SourceCount { source: "ties".into(), events: 8 },
        SourceCount { source: "incidents".into(), events: 6 },
        SourceCount { source: "mixed".into(), events: 5 },
    ];
    assert_eq!(missing.emptied_by, Some(Emptied::Source { source: "missing".into(), sources }));
    assert_eq!(
        missing.summary,
        "No events: the source `missing` has none here. The events here come from `ties` (8), `incidents` (6), \
         `mixed` (5); choose one with the source filter."
    );
    let playbook = emptied(source("ties").playbook("pb-1").unwrap()).await;
    assert_eq!(playbook.emptied_by, Some(Emptied::Playbook { playbook_id: "pb-1".into() }));
    let version = emptied(source("ties").version("v-9").unwrap()).await;
    assert_eq!(version.emptied_by, Some(Emptied::Version { version_id: "v-9".into() }));
    let (from, to) = (Some(time("2025-01-01T00:00:00Z")), Some(time("2025-02-01T00:00:00Z")));
    let later = emptied(source("ties").between(from, to, TimeScope::Events).unwrap()).await;
    let (first, last) = (time("2024-01-01T09:00:00Z"), time("2024-01-02T08:00:00Z"));
    assert_eq!(later.emptied_by, Some(Emptied::TimeRange { events: 8, first, last }));
    assert_eq!(
        later.summary,
        "No events: the time range 2025-01-01 – 2025-02-01 holds none of the 8 events the other filters select, \
         which run from 2024-01-01 09:00 to 2024-01-02 08:00."
    );
    let unstarted = emptied(source("ties").between(from, None, TimeScope::CasesStarted).unwrap()).await;
    assert_eq!((unstarted.selected_events, unstarted.counted_events), (8, 0));
    assert_eq!(
        unstarted.emptied_by,
        Some(Emptied::CasesStarted { cases: 3, first, last: time("2024-01-02T08:00:00Z") })
    );
    let started = Filter::source("ties")
        .unwrap()
        .between(Some(time("2024-01-01T10:00:00Z")), None, TimeScope::CasesStarted)
        .unwrap();
    let started = emptied(started).await;
    assert_eq!((started.selected_events, started.counted_events, started.emptied_by), (8, 4, None));
    assert_eq!(started.summary, "Counted all 4 events in the cases started in the time range.");

    // A report of nothing says only why, in text and in JSON.
    let filter = source("ties").between(from, to, TimeScope::Events).unwrap();
    let report = run(ReportKind::Variants, &warehouse, &scope, &filter, &ReportOptions::default()).await.unwrap();
    assert_eq!(report.to_text(), format!("{}\n", later.summary));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["report"], "variants");
    assert_eq!(
        json["selection"]["emptied_by"],
        serde_json::json!({"filter": "time_range", "events": 8, "first": "2024-01-01T09:00:00Z", "last": "2024-01-02T08:00:00Z"})
    );
}

/// A lifecycle transition per month (a file each: files are partitioned by month; the import
/// stores transitions in lower case), then a month whose file mixes `start` and `complete`.
const SPELLED_BY_MONTH: &str = "\
case,activity,timestamp,lifecycle
1,a,2024-01-10T09:00:00Z,COMPLETE
2,a,2024-01-11T09:00:00Z,COMPLETE
2,b,2024-02-01T09:00:00Z,complete
3,a,2024-03-05T09:00:00Z,In Progress
3,b,2024-03-06T09:00:00Z,In Progress
3,c,2024-03-07T09:00:00Z,In Progress
";
const MIXED_MONTH: &str = "\
4,a,2024-04-01T09:00:00Z,start
4,a,2024-04-01T10:00:00Z,complete
";

#[tokio::test]
async fn the_outline_from_the_files_statistics_is_the_scans() {
    let (_dir, warehouse) = warehouse();
    let scope = team("team-a");
    let whole = Filter::source("spelled").unwrap();
    // The same events through a time range on the events, which the files' statistics cannot
    // answer: the scan's outline.
    let scanned = whole.clone().between(Some(time("2000-01-01T00:00:00Z")), None, TimeScope::Events).unwrap();
    let selection_of = |filter: Filter| {
        let warehouse = &warehouse;
        let scope = &scope;
        async move { run(ReportKind::Cases, warehouse, scope, &filter, &ReportOptions::default()).await.unwrap().selection }
    };

    import_csv(&warehouse, "team-a", "spelled", SPELLED_BY_MONTH).await;
    let files = warehouse.source_files(&scope, "spelled").await.unwrap();
    let spellings: Vec<(String, u64)> =
        files.lifecycles.unwrap().into_iter().map(|c| (c.lifecycle, c.events)).collect();
    assert_eq!(spellings.into_iter().collect::<BTreeMap<_, _>>(), counts(&[("complete", 3), ("in progress", 3)]));
    let from_files = selection_of(whole.clone()).await;
    assert_eq!(from_files, selection_of(scanned.clone()).await);
    assert_eq!(
        (from_files.selected_events, from_files.counted_events, from_files.rule),
        (6, 3, CountRule::CompleteOnly)
    );
    let transitions: Vec<(Option<&str>, u64)> =
        from_files.transitions.iter().map(|t| (t.transition.as_deref(), t.events)).collect();
    assert_eq!(transitions, [(Some("complete"), 3), (Some("in progress"), 3)]);

    // A file of two spellings: the statistics do not settle it, and the outline scans.
    import_csv(&warehouse, "team-a", "spelled", &format!("{SPELLED_BY_MONTH}{MIXED_MONTH}")).await;
    assert_eq!(warehouse.source_files(&scope, "spelled").await.unwrap().lifecycles, None);
    let scanned_only = selection_of(whole).await;
    assert_eq!(scanned_only, selection_of(scanned).await);
    assert_eq!((scanned_only.selected_events, scanned_only.counted_events), (8, 4));
}
