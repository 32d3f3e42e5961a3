//! The anomalies report on the shared logs against figures computed apart with pandas, NumPy and
//! SciPy (`outliers` in `reports/tests/reference/temporal_profile.json`, by
//! `scripts/reference_temporal_profile.py`) and the temporal profile's conformance by PM4Py.

use crate::common::{
    TOLERANCE, assert_close, computed_reference, far_future, import_file, outlined, shared_log, warehouse,
};
use orgata_reports::{AnomalyReport, Filter, MIN_HISTORY, OUTLIERS_LISTED, OutlierKind, anomalies};
use orgata_warehouse::TeamScope;
use serde_json::Value;
use std::collections::BTreeSet;

/// The anomalies report of a shared log, at ζ 3.
async fn report_of(name: &str) -> AnomalyReport {
    let (_dir, warehouse) = warehouse();
    import_file(&warehouse, &shared_log(name), "team-a", name).await;
    let scope = TeamScope::Teams(vec!["team-a".into()]);
    let filter = Filter::source(name).unwrap();
    anomalies(&outlined(&warehouse, &scope, &filter).await, 3.0, far_future()).await.unwrap()
}

fn ids(value: &Value) -> BTreeSet<String> {
    value.as_array().unwrap().iter().map(|id| id.as_str().unwrap().to_string()).collect()
}

/// Checks a log's outliers and slower steps against the reference.
async fn matches_reference(name: &str) -> AnomalyReport {
    let report = report_of(name).await;
    let expected = computed_reference(name);
    let outliers = &expected["outliers"];
    let timing: BTreeSet<String> = expected["conformance"]["3.0"].as_object().unwrap().keys().cloned().collect();
    let (duration, rework, new_path) =
        (ids(&outliers["duration"]), ids(&outliers["rework"]), ids(&outliers["new_path"]));

    assert_eq!(report.finished_cases, report.temporal_profile.cases, "{name}: every imported case has finished");
    assert!(report.finished_cases as usize >= MIN_HISTORY, "{name}");
    let limit = report.duration_limit_s.unwrap();
    assert_close(limit, outliers["duration_limit_s"].as_f64().unwrap(), TOLERANCE, &format!("{name}: duration limit"));
    assert_eq!(report.repeats_limit, outliers["repeats_limit"].as_u64(), "{name}: repeats limit");
    assert_eq!(report.counts.timing, timing.len() as u64, "{name}: timing");
    assert_eq!(report.counts.duration, duration.len() as u64, "{name}: duration");
    assert_eq!(report.counts.rework, rework.len() as u64, "{name}: rework");
    assert_eq!(report.counts.new_path, new_path.len() as u64, "{name}: new paths");
    let all: BTreeSet<&String> = timing.iter().chain(&duration).chain(&rework).chain(&new_path).collect();
    assert_eq!(report.outlying_cases, all.len() as u64, "{name}: outlying cases");
    assert_eq!(report.outliers.len(), all.len().min(OUTLIERS_LISTED), "{name}: listed");
    for outlier in &report.outliers {
        let mut kinds = Vec::new();
        for (kind, cases) in [
            (OutlierKind::Timing, &timing),
            (OutlierKind::Duration, &duration),
            (OutlierKind::Rework, &rework),
            (OutlierKind::NewPath, &new_path),
        ] {
            if cases.contains(&outlier.case_id) {
                kinds.push(kind);
            }
        }
        assert_eq!(outlier.kinds, kinds, "{name}: case {}", outlier.case_id);
        assert!(!outlier.running);
        assert_eq!(outlier.strongest_deviation.is_some(), kinds.contains(&OutlierKind::Timing));
        assert!(outlier.finding.ends_with('.') && !outlier.finding.is_empty(), "{}", outlier.finding);
    }
    // Unusual in most ways first, then the latest.
    let order: Vec<(usize, chrono::DateTime<chrono::Utc>)> =
        report.outliers.iter().map(|o| (o.kinds.len(), o.started)).collect();
    assert!(order.windows(2).all(|w| w[0].0 > w[1].0 || (w[0].0 == w[1].0 && w[0].1 >= w[1].1)), "{name}: order");

    let slower = outliers["slower_steps"].as_array().unwrap();
    assert_eq!(report.slower_steps.len(), slower.len(), "{name}: slower steps {:?}", report.slower_steps);
    for (step, expected) in report.slower_steps.iter().zip(slower) {
        assert_eq!(step.activity, expected["activity"].as_str().unwrap());
        assert_eq!(step.recent, expected["recent"].as_u64().unwrap());
        assert_eq!(step.earlier, expected["earlier"].as_u64().unwrap());
        assert_close(step.recent_median_s, expected["recent_median_s"].as_f64().unwrap(), TOLERANCE, "recent median");
        assert_close(step.earlier_median_s, expected["earlier_median_s"].as_f64().unwrap(), TOLERANCE, "earlier");
        assert_close(step.p_value, expected["p_value"].as_f64().unwrap(), 1e-5, "p-value");
    }
    report
}

#[tokio::test]
async fn receipt_outliers_match_the_reference() {
    let report = matches_reference("receipt.xes.gz").await;
    assert_eq!(
        report.findings,
        [
            "91 cases of 1,434 (6%) spent an unusual time between two of their activities (beyond 3 standard \
             deviations); the most unusual: case-8141, where “T06 Determine necessity of stop advice” → “T10 \
             Determine necessity to stop indication” took 138d 06h against 18h 01m ± 5d 02h usually (27.0 standard \
             deviations).",
            "95 cases took far longer than usual (over 20d 07h: the upper quartile plus 3 interquartile ranges).",
            "10 cases repeated steps more than 5 times (more often than 99% of cases).",
            "86 cases followed a path no other case followed (6% of the finished ones).",
        ]
    );
    // The cases unusual in every way top the list, the latest first.
    let top = &report.outliers[0];
    assert_eq!(top.case_id, "case-8323");
    assert_eq!(top.kinds, [OutlierKind::Timing, OutlierKind::Duration, OutlierKind::Rework, OutlierKind::NewPath]);
    assert_eq!((top.repeats, top.duration_s), (17, 2_409_961.927));
    assert!(
        top.finding.starts_with(
            "“Confirmation of receipt” → “T04 Determine confirmation of receipt” took 27d 21h against 1d 23h ± 7d 22h \
             usually (3.3 standard deviations); took 27d 21h, far longer than usual (over 20d 07h is rare); repeated \
             steps 17 times (more than 99% of cases: over 5); followed a path no other case followed (Confirmation of \
             receipt → T06 Determine necessity of stop advice → … →"
        ),
        "{}",
        top.finding
    );
    let everything: Vec<&str> =
        report.outliers.iter().filter(|o| o.kinds.len() == 4).map(|o| o.case_id.as_str()).collect();
    assert_eq!(everything, ["case-8323", "case-4808", "case-4771", "case-891"]);
}

#[tokio::test]
async fn helpdesk_outliers_and_its_slower_step_match_the_reference() {
    let report = matches_reference("helpdesk.xes.gz").await;
    assert_eq!(
        report.findings,
        [
            "203 cases of 4,580 (4%) spent an unusual time between two of their activities (beyond 3 standard \
             deviations); the most unusual: Case 3886, where “Insert ticket” → “Assign seriousness” took 40d 08h \
             against 1d 08h ± 4d 11h usually (8.8 standard deviations).",
            "46 cases repeated steps more than 3 times (more often than 99% of cases).",
            "135 cases followed a path no other case followed (3% of the finished ones).",
            "“Resolve ticket” has slowed down: 25d 00h (median) over the last 14 days against 5h 50m before, 102.8× \
             (7 times against 4,974).",
        ]
    );
    assert_eq!(report.duration_limit_s.map(|s| s.round()), Some(7_345_607.0));
    assert_eq!(report.counts.duration, 0);
}

#[tokio::test]
async fn interval_log_outliers_match_the_reference() {
    matches_reference("interval_event_log.csv").await;
}

#[tokio::test]
async fn road_traffic_outliers_match_the_reference() {
    matches_reference("roadtraffic100traces.xes").await;
}

#[tokio::test]
async fn too_little_history_is_said_and_no_case_is_called_unusual_for_its_duration() {
    let report = report_of("running-example.xes").await;
    assert_eq!(report.finished_cases, 6);
    assert_eq!((report.duration_limit_s, report.repeats_limit), (None, None));
    assert_eq!(report.outlying_cases, 0);
    assert!(report.outliers.is_empty() && report.slower_steps.is_empty());
    assert_eq!(
        report.findings,
        vec!["Only 6 cases have finished: at least 20 are needed to tell an unusual case from the usual.".to_string()]
    );
}
