//! The prediction models' evaluation on the shared logs: the temporal split and the baselines
//! against figures computed apart with pandas (`prediction_baselines` in
//! `reports/tests/reference/temporal_profile.json`), and the models against the baselines.

use crate::common::{MEAN_TOLERANCE, assert_close, computed_reference, import_file, outlined, shared_log, warehouse};
use orgata_reports::{Evaluation, Filter, ReportError, TrainingOptions, evaluate};
use orgata_warehouse::TeamScope;
use serde_json::Value;

fn reference(name: &str) -> Value {
    computed_reference(name)["prediction_baselines"].clone()
}

/// Evaluates the models on a shared log and checks the split and the baselines.
async fn evaluated(name: &str, options: TrainingOptions) -> Result<Evaluation, ReportError> {
    let (_dir, warehouse) = warehouse();
    import_file(&warehouse, &shared_log(name), "team-a", name).await;
    let scope = TeamScope::Teams(vec!["team-a".into()]);
    let filter = Filter::source(name).unwrap();
    evaluate(&outlined(&warehouse, &scope, &filter).await, options).await
}

fn check_baselines(name: &str, evaluation: &Evaluation) {
    let expected = reference(name);
    let split_at: chrono::DateTime<chrono::Utc> = expected["split_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(evaluation.split_at, split_at, "{name}");
    assert_eq!(evaluation.training_cases, expected["training_cases"].as_u64().unwrap(), "{name}");
    assert_eq!(evaluation.test_cases, expected["test_cases"].as_u64().unwrap(), "{name}");
    assert_eq!(evaluation.test_prefixes, expected["test_prefixes"].as_u64().unwrap(), "{name}");
    let r = &evaluation.remaining_time;
    let figure = |key: &str| expected[key].as_f64().unwrap();
    assert_close(r.by_last_activity_mae_s, figure("remaining_by_last_activity_mae_s"), MEAN_TOLERANCE, name);
    assert_close(r.by_prefix_length_mae_s, figure("remaining_by_prefix_length_mae_s"), MEAN_TOLERANCE, name);
    let baseline = evaluation.next_activity.baseline_accuracy;
    assert_close(baseline, figure("next_activity_baseline_accuracy"), 1e-12, name);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helpdesk_models_beat_the_baselines() {
    let evaluation = evaluated("helpdesk.xes.gz", TrainingOptions::default()).await.unwrap();
    check_baselines("helpdesk.xes.gz", &evaluation);
    // The remaining time's error at least a fifth below the better baseline's (the bar).
    assert!(evaluation.remaining_time.improvement >= 0.2, "{}", evaluation.to_text());
    assert!(evaluation.next_time.mae_s < evaluation.next_time.baseline_mae_s, "{}", evaluation.to_text());
    // The next activity at least as often right as Tax et al.'s LSTM (2017) on this log: 0.712.
    assert!(evaluation.next_activity.accuracy >= 0.712, "{}", evaluation.to_text());
    assert!(evaluation.risk.is_none());
    let lengths: Vec<(u32, bool, u64)> =
        evaluation.remaining_time.by_prefix_length.iter().map(|l| (l.length, l.and_longer, l.prefixes)).collect();
    assert_eq!(
        lengths,
        [(1, false, 916), (2, false, 916), (3, false, 877), (4, false, 534), (5, false, 160)]
            .into_iter()
            .chain([(6, false, 60), (7, false, 21), (8, false, 6), (9, false, 1), (10, true, 4)])
            .collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipt_models_beat_the_baselines() {
    let options = TrainingOptions { case_target_s: Some(7.0 * 86_400.0), ..TrainingOptions::default() };
    let evaluation = evaluated("receipt.xes.gz", options).await.unwrap();
    check_baselines("receipt.xes.gz", &evaluation);
    let text = evaluation.to_text();
    assert!(evaluation.remaining_time.improvement >= 0.2, "{text}");
    assert!(evaluation.next_activity.accuracy > evaluation.next_activity.baseline_accuracy, "{text}");
    let risk = evaluation.risk.as_ref().unwrap();
    assert_eq!(risk.case_target_s, 7.0 * 86_400.0);
    assert!(risk.auc.unwrap() > 0.5, "{text}");
    assert!(text.contains("Risk of exceeding 7d 00h: AUC"), "{text}");
}

#[tokio::test]
async fn too_little_history_is_refused_in_words() {
    let error = evaluated("running-example.xes", TrainingOptions::default()).await.unwrap_err();
    assert!(matches!(error, ReportError::NotEnoughHistory(_)), "{error}");
    assert_eq!(
        error.to_string(),
        "6 finished cases; an evaluation learns from the first 80% of them and needs at least 50 there"
    );
}
