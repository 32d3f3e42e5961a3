//! The temporal profile and its conformance against PM4Py 2.7.23's figures
//! (`reports/tests/reference/temporal_profile.json`, computed by
//! `scripts/reference_temporal_profile.py` from the shared logs) for every shared log, at ζ 3 and
//! 6.

use crate::common::{
    MEAN_TOLERANCE, TOLERANCE, assert_close, computed_reference, import_file, outlined, shared_log, warehouse,
};
use orgata_reports::{DEVIATING_CASES_LISTED, Filter, ReportError, temporal_profile};
use orgata_warehouse::TeamScope;
use std::collections::BTreeSet;

/// The logs, as the reference names them.
const LOGS: [&str; 5] =
    ["running-example.xes", "receipt.xes.gz", "helpdesk.xes.gz", "interval_event_log.csv", "roadtraffic100traces.xes"];

/// A deviation as the reference lists it: from, to, time, ζ (none where the pair never varies).
type Listed = (String, String, f64, Option<f64>);

/// Imports `name` and checks its profile and its deviations at ζ 3 and 6 against PM4Py's.
async fn matches_pm4py(name: &str) {
    let expected = computed_reference(name);
    let (_dir, warehouse) = warehouse();
    import_file(&warehouse, &shared_log(name), "team-a", name).await;
    let scope = TeamScope::Teams(vec!["team-a".into()]);
    let filter = Filter::source(name).unwrap();

    for zeta in [3.0, 6.0] {
        let profile = temporal_profile(&outlined(&warehouse, &scope, &filter).await, zeta).await.unwrap();
        assert_eq!(profile.zeta, zeta);
        let pairs = expected["profile"].as_array().unwrap();
        assert_eq!(profile.pairs.len(), pairs.len(), "{name}: pairs");
        for (pair, reference) in profile.pairs.iter().zip(pairs) {
            let what = |figure: &str| format!("{name}: {} → {}: {figure}", pair.from, pair.to);
            assert_eq!(
                (pair.from.as_str(), pair.to.as_str()),
                (reference["from"].as_str().unwrap(), reference["to"].as_str().unwrap())
            );
            assert!(pair.observations >= 1, "{}", what("observations"));
            assert_close(pair.mean_s, reference["mean_s"].as_f64().unwrap(), MEAN_TOLERANCE, &what("mean"));
            assert_close(pair.stdev_s, reference["stdev_s"].as_f64().unwrap(), MEAN_TOLERANCE, &what("stdev"));
        }

        let conformance = expected["conformance"][format!("{zeta:.1}")].as_object().unwrap();
        let deviations: usize = conformance.values().map(|d| d.as_array().unwrap().len()).sum();
        assert_eq!(profile.deviating_cases, conformance.len() as u64, "{name} at ζ {zeta}: deviating cases");
        assert_eq!(profile.deviations, deviations as u64, "{name} at ζ {zeta}: deviations");
        assert_eq!(profile.cases_listed.len(), conformance.len().min(DEVIATING_CASES_LISTED), "{name}: listed");
        for case in &profile.cases_listed {
            let what = format!("{name} at ζ {zeta}: case {}", case.case_id);
            let reference = conformance.get(&case.case_id).unwrap_or_else(|| panic!("{what} deviates for PM4Py"));
            let mut reference: Vec<Listed> = reference
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    (
                        d[0].as_str().unwrap().into(),
                        d[1].as_str().unwrap().into(),
                        d[2].as_f64().unwrap(),
                        d[3].as_f64(),
                    )
                })
                .collect();
            let mut ours: Vec<Listed> =
                case.deviations.iter().map(|d| (d.from.clone(), d.to.clone(), d.time_s, d.zeta)).collect();
            let order = |a: &Listed, b: &Listed| (&a.0, &a.1).cmp(&(&b.0, &b.1)).then(a.2.total_cmp(&b.2));
            reference.sort_by(order);
            ours.sort_by(order);
            assert_eq!(ours.len(), reference.len(), "{what}: {ours:?}");
            for (ours, reference) in ours.iter().zip(&reference) {
                assert_eq!((&ours.0, &ours.1), (&reference.0, &reference.1), "{what}");
                assert_close(ours.2, reference.2, TOLERANCE, &format!("{what}: time"));
                match (ours.3, reference.3) {
                    (Some(ours), Some(reference)) => {
                        assert_close(ours, reference, MEAN_TOLERANCE, &format!("{what}: ζ"))
                    }
                    (ours, reference) => assert_eq!(ours, reference, "{what}: ζ of a pair that never varies"),
                }
            }
            // The most deviating first: each case's largest ζ is no smaller than the next case's.
            let largest = |d: Option<f64>| d.unwrap_or(f64::INFINITY);
            assert!(case.deviations.windows(2).all(|w| largest(w[0].zeta) >= largest(w[1].zeta)), "{what}");
        }
        let largest: Vec<f64> =
            profile.cases_listed.iter().map(|c| c.deviations[0].zeta.unwrap_or(f64::INFINITY)).collect();
        assert!(largest.windows(2).all(|w| w[0] >= w[1]), "{name}: cases by their largest ζ");
        let listed: BTreeSet<&str> = profile.cases_listed.iter().map(|c| c.case_id.as_str()).collect();
        assert_eq!(listed.len(), profile.cases_listed.len(), "{name}: each case listed once");
    }
}

#[tokio::test]
async fn every_shared_log_matches_pm4py() {
    for name in LOGS {
        matches_pm4py(name).await;
    }
}

#[tokio::test]
async fn a_zeta_that_is_not_a_number_of_0_or_more_is_refused() {
    let (_dir, warehouse) = warehouse();
    let scope = TeamScope::Teams(vec!["team-a".into()]);
    let filter = Filter::source("none").unwrap();
    for zeta in [-1.0, f64::NAN, f64::INFINITY] {
        let error = temporal_profile(&outlined(&warehouse, &scope, &filter).await, zeta).await.unwrap_err();
        assert!(matches!(error, ReportError::InvalidFilter(_)), "{error}");
        assert_eq!(error.to_string(), format!("invalid filter: zeta must be a number of 0 or more, not {zeta}"));
    }
}
