//! Helpers shared by the tests: the shared logs, temporary warehouses, imports, comparisons.

use orgata_ingest::import::{self, LogFormat};
use orgata_reports::{ActivityReport, Events, Filter, ServiceTime};
use orgata_warehouse::{TeamScope, Warehouse};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Relative tolerance of the reference figures.
pub const TOLERANCE: f64 = 1e-9;
/// Relative tolerance of means over many values (summation order differs from NumPy's).
pub const MEAN_TOLERANCE: f64 = 1e-6;

/// A file of `../shared/eventlogs` (next to the repository), or of `ORGATA_EVENTLOGS`.
/// A "now" after every test log's events: no period of theirs is still running.
pub fn far_future() -> chrono::DateTime<chrono::Utc> {
    "2100-01-01T00:00:00Z".parse().unwrap()
}

pub fn shared_log(name: &str) -> PathBuf {
    shared_logs().join(name)
}

/// The folder of the shared event logs.
pub fn shared_logs() -> PathBuf {
    let candidates = [
        std::env::var("ORGATA_EVENTLOGS").map(PathBuf::from).ok(),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/eventlogs")),
        Some(PathBuf::from("/work/shared/eventlogs")),
    ];
    let dir = candidates.into_iter().flatten().find(|d| d.join("reference.json").is_file());
    dir.expect("the shared event logs: set ORGATA_EVENTLOGS to their folder")
}

/// An empty warehouse in a new temporary folder.
pub fn warehouse() -> (tempfile::TempDir, Warehouse) {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = Warehouse::open(dir.path().to_str().unwrap(), HashMap::new()).unwrap();
    (dir, warehouse)
}

/// The events `filter` selects within `scope`, outlined: what the report functions take.
pub async fn outlined<'a>(warehouse: &'a Warehouse, scope: &'a TeamScope, filter: &'a Filter) -> Events<'a> {
    Events::select(warehouse, scope, filter).await.unwrap()
}

/// The activities performed more than once in some case, and in how many cases.
pub fn rework(report: &ActivityReport) -> BTreeMap<String, u64> {
    let reworked = report.activities.iter().filter(|a| a.rework_cases > 0);
    reworked.map(|a| (a.activity.clone(), a.rework_cases)).collect()
}

/// Each activity's service time.
pub fn service_times(report: &ActivityReport) -> BTreeMap<String, ServiceTime> {
    report.activities.iter().map(|a| (a.activity.clone(), a.service_time.clone())).collect()
}

/// Imports a log file for `team` under `source`.
pub async fn import_file(warehouse: &Warehouse, file: &Path, team: &str, source: &str) {
    let format = LogFormat::from_path(file).expect("a known extension");
    import::import(warehouse, import::open(file).unwrap(), &format, team, source, |_| {}).await.unwrap();
}

/// Imports CSV text for `team` under `source`.
pub async fn import_csv(warehouse: &Warehouse, team: &str, source: &str, csv: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.csv");
    std::fs::write(&path, csv).unwrap();
    import_file(warehouse, &path, team, source).await;
}

/// Asserts `actual` is within `tolerance` of `expected`, relative to `expected` (exactly equal
/// when `expected` is 0).
#[track_caller]
pub fn assert_close(actual: f64, expected: f64, tolerance: f64, what: &str) {
    let ok = if expected == 0.0 { actual == 0.0 } else { ((actual - expected) / expected).abs() <= tolerance };
    assert!(ok, "{what}: {actual} is not {expected} (relative tolerance {tolerance})");
}

/// The entry of `log` in `tests/reference/temporal_profile.json` (PM4Py's temporal profile, and
/// the anomalies' and predictions' figures computed apart; `scripts/reference_temporal_profile.py`).
pub fn computed_reference(log: &str) -> serde_json::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference/temporal_profile.json");
    let all: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    all.as_array().unwrap().iter().find(|entry| entry["log"] == log).expect("a reference for the log").clone()
}
