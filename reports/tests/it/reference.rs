//! Every figure of `shared/eventlogs/reference.json` (computed by PM4Py 2.7.23), for every shared
//! log, imported into a warehouse and computed by the reports' SQL.

use crate::common::{
    MEAN_TOLERANCE, TOLERANCE, assert_close, import_file, outlined, rework, service_times, shared_log, shared_logs,
    warehouse,
};
use orgata_reports::{Filter, activity_report, case_report, directly_follows, variants};
use orgata_warehouse::TeamScope;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The shared logs, each checked by a test below.
const LOGS: [&str; 5] =
    ["running-example.xes", "receipt.xes.gz", "helpdesk.xes.gz", "interval_event_log.csv", "roadtraffic100traces.xes"];

fn reference() -> Vec<Value> {
    let text = std::fs::read_to_string(shared_log("reference.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap().as_array().unwrap().clone()
}

#[test]
fn every_shared_log_has_a_reference_and_a_test() {
    let referenced: BTreeSet<String> = reference().iter().map(|log| log["log"].as_str().unwrap().to_string()).collect();
    let files: BTreeSet<String> = std::fs::read_dir(shared_logs())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != "README.md" && name != "reference.json")
        .collect();
    let tested: BTreeSet<String> = LOGS.iter().map(|name| name.to_string()).collect();
    assert_eq!(referenced, files);
    assert_eq!(tested, files);
}

fn counts(value: &Value) -> BTreeMap<String, u64> {
    value.as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect()
}

fn number(value: &Value) -> f64 {
    value.as_f64().unwrap()
}

/// Imports `name` and checks every figure of its reference.
async fn matches_pm4py(name: &str) {
    let expected = reference().into_iter().find(|log| log["log"] == name).expect("a reference for the log");
    let (_dir, warehouse) = warehouse();
    import_file(&warehouse, &shared_log(name), "team-a", name).await;
    let scope = TeamScope::Teams(vec!["team-a".into()]);
    let filter = Filter::source(name).unwrap();

    let statistics = case_report(&outlined(&warehouse, &scope, &filter).await).await.unwrap().statistics;
    assert_eq!(statistics.events, expected["events"].as_u64().unwrap(), "{name}: events");
    assert_eq!(statistics.cases, expected["cases"].as_u64().unwrap(), "{name}: cases");
    let duration = statistics.duration_s.unwrap();
    let reference = &expected["case_duration_s"];
    assert_close(duration.mean, number(&reference["mean"]), MEAN_TOLERANCE, &format!("{name}: mean case duration"));
    assert_close(duration.median, number(&reference["median"]), TOLERANCE, &format!("{name}: median case duration"));
    assert_close(duration.min, number(&reference["min"]), TOLERANCE, &format!("{name}: shortest case"));
    assert_close(duration.max, number(&reference["max"]), TOLERANCE, &format!("{name}: longest case"));
    assert!(duration.min <= duration.median && duration.median <= duration.p90, "{name}: {duration:?}");
    assert!(duration.p90 <= duration.p95 && duration.p95 <= duration.max, "{name}: {duration:?}");

    let variants = variants(&outlined(&warehouse, &scope, &filter).await).await.unwrap();
    assert_eq!(variants.variants.len() as u64, expected["variants"].as_u64().unwrap(), "{name}: variants");
    assert_eq!(variants.cases, statistics.cases, "{name}: cases over the variants");
    let shares: f64 = variants.variants.iter().map(|v| v.share).sum();
    assert_close(shares, 1.0, TOLERANCE, &format!("{name}: shares of the variants"));
    let events: usize = variants.variants.iter().map(|v| v.activities.len() * v.frequency as usize).sum();
    assert_eq!(events as u64, statistics.events, "{name}: events over the variants");

    let dfg = directly_follows(&outlined(&warehouse, &scope, &filter).await).await.unwrap();
    let reference_edges = expected["dfg_edges"].as_array().unwrap();
    assert_eq!(dfg.edges.len(), reference_edges.len(), "{name}: edges");
    for reference in reference_edges {
        let (from, to) = (reference["from"].as_str().unwrap(), reference["to"].as_str().unwrap());
        let edge = dfg.edges.iter().find(|e| e.from == from && e.to == to);
        let edge = edge.unwrap_or_else(|| panic!("{name}: no edge {from} -> {to}"));
        let what = |figure: &str| format!("{name}: {from} -> {to}: {figure}");
        assert_eq!(edge.frequency, reference["frequency"].as_u64().unwrap(), "{}", what("frequency"));
        assert_close(edge.mean_s, number(&reference["mean_s"]), MEAN_TOLERANCE, &what("mean"));
        assert_close(edge.median_s, number(&reference["median_s"]), TOLERANCE, &what("median"));
        assert_close(edge.max_s, number(&reference["max_s"]), TOLERANCE, &what("max"));
        assert!(edge.min_s <= edge.median_s, "{}", what("min"));
    }
    assert_eq!(dfg.start_activities, counts(&expected["start_activities"]), "{name}: start activities");
    assert_eq!(dfg.end_activities, counts(&expected["end_activities"]), "{name}: end activities");

    let rework = rework(&activity_report(&outlined(&warehouse, &scope, &filter).await).await.unwrap());
    assert_eq!(rework, counts(&expected["rework_cases_per_activity"]), "{name}: rework");

    let arrival = case_report(&outlined(&warehouse, &scope, &filter).await).await.unwrap().arrival_average_s.unwrap();
    assert_close(arrival, number(&expected["case_arrival_average_s"]), MEAN_TOLERANCE, &format!("{name}: arrival"));

    let service = service_times(&activity_report(&outlined(&warehouse, &scope, &filter).await).await.unwrap());
    let reference = expected["service_time_mean_s"].as_object().unwrap();
    assert_eq!(
        service.keys().collect::<Vec<_>>(),
        reference.keys().collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>(),
        "{name}: activities with a service time"
    );
    for (activity, expected) in reference {
        let what = format!("{name}: service time of {activity}");
        assert_close(service[activity].mean_s, number(expected), MEAN_TOLERANCE, &what);
    }
    // Only the interval log has start times, for every event.
    let timed: u64 = service.values().map(|s| s.timed_events).sum();
    let counted: u64 = service.values().map(|s| s.events).sum();
    assert_eq!(counted, statistics.events, "{name}: events with a service time");
    assert_eq!(timed, if name == "interval_event_log.csv" { counted } else { 0 }, "{name}: events with a start time");
}

#[tokio::test]
async fn running_example_matches_pm4py() {
    matches_pm4py(LOGS[0]).await;
}

#[tokio::test]
async fn receipt_matches_pm4py() {
    matches_pm4py(LOGS[1]).await;
}

#[tokio::test]
async fn helpdesk_matches_pm4py() {
    matches_pm4py(LOGS[2]).await;
}

#[tokio::test]
async fn interval_log_matches_pm4py() {
    matches_pm4py(LOGS[3]).await;
}

#[tokio::test]
async fn road_traffic_matches_pm4py() {
    matches_pm4py(LOGS[4]).await;
}
