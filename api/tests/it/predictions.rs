//! Predictions on the demo's history, on both databases: a model trained into the warehouse's
//! registry through the application layer (what `orgata model train`, REST and MCP call), the
//! forecasts of the team's running processes, one process's, and every refusal in words.

use crate::support::orgata_command;
use orgata_api::app::{App, AppError};
use orgata_engine::testing::TestDatabase;
use orgata_engine::{Engine, InstanceFilter, InstanceStatus, SystemClock};
use orgata_reports::TrainingOptions;
use orgata_warehouse::Warehouse;
use std::collections::HashMap;
use std::sync::Arc;

async fn forecasts_on_the_demo(db: TestDatabase) {
    let dir = tempfile::tempdir().unwrap();
    let demo =
        orgata_command(dir.path(), Some(&db.url)).args(["demo", "--days", "40", "--per-day", "8"]).output().unwrap();
    assert!(demo.status.success(), "{}", String::from_utf8_lossy(&demo.stderr));
    let store = orgata_engine::connect(&db.url).await.unwrap();
    let engine = Engine::new(store.clone(), Arc::new(SystemClock));
    let warehouse = Warehouse::open(dir.path().join("warehouse").to_str().unwrap(), HashMap::new()).unwrap();
    let app = App::new(engine, warehouse);
    let scope = orgata_engine::testing::demo_admin_scope(&app.engine).await;
    let teams = app.engine.teams(&scope).await.unwrap();
    let team = teams.iter().find(|t| t.name == "Operations").expect("the demo's Operations team").id.clone();

    let kind = |e: AppError| e.kind;
    assert_eq!(app.team_predictions(&scope, &team, false).await.map_err(kind).unwrap_err(), "no-model");
    assert!(app.team_models(&scope, &team).await.unwrap().is_empty());

    let options = TrainingOptions { case_target_s: Some(2.0 * 86_400.0), ..TrainingOptions::default() };
    let card = app.train_team_model(&scope, &team, None, options).await.unwrap();
    assert_eq!((card.version, card.source.as_str(), card.playbook_id.as_deref()), (1, "orgata", None));
    assert!(card.cases >= 50, "{card:?}");
    assert_eq!((card.case_target_s, card.case_target_quantile), (Some(2.0 * 86_400.0), None));
    assert!(card.features.iter().any(|f| f.starts_with("last: ")), "{:?}", card.features);
    assert!(card.evaluation.risk.is_some() && card.position.is_some(), "{card:?}");
    // The demo's steps have SLAs: the risk that a task misses one is told better than chance.
    let tasks = card.evaluation.task_risk.as_ref().expect("a task-risk score");
    assert!(tasks.moments > 0 && tasks.auc.unwrap() > 0.5, "{tasks:?}");
    assert_eq!(app.team_models(&scope, &team).await.unwrap(), vec![card.clone()]);

    // Every running process of the team has a forecast, those at risk first.
    let running = InstanceFilter {
        team_id: Some(team.clone()),
        status: Some(InstanceStatus::Running),
        limit: 1000,
        ..InstanceFilter::default()
    };
    let running = app.engine.instances(&scope, running).await.unwrap();
    let predictions = app.team_predictions(&scope, &team, false).await.unwrap();
    assert_eq!(predictions.model, card);
    let mut ids: Vec<String> = predictions.cases.iter().map(|c| c.case_id.clone()).collect();
    let mut expected: Vec<String> = running.iter().map(|i| i.id.to_string()).collect();
    ids.sort();
    expected.sort();
    assert_eq!(ids, expected);
    assert!(predictions.cases.windows(2).all(|w| w[0].at_risk >= w[1].at_risk));
    assert!(predictions.cases.iter().any(|c| !c.tasks.is_empty()), "open tasks with a due time have a risk");
    for case in &predictions.cases {
        assert!(case.remaining_low_s <= case.remaining_s && case.remaining_s <= case.remaining_high_s, "{case:?}");
        assert!(case.earliest_end <= case.expected_end && case.expected_end <= case.latest_end, "{case:?}");
        let risk = case.risk.unwrap();
        assert!((0.0..=1.0).contains(&risk) && case.at_risk == (risk >= orgata_reports::AT_RISK), "{case:?}");
        assert!(!case.next.is_empty() && case.next.len() <= orgata_reports::NEXT_LISTED, "{case:?}");
        assert!(case.next.windows(2).all(|w| w[0].probability >= w[1].probability));
        assert!(case.next.iter().map(|n| n.probability).sum::<f64>() <= 1.0 + 1e-9);
        for task in &case.tasks {
            assert!((0.0..=1.0).contains(&task.risk), "{task:?}");
            // Past its due time it is late for certain; before, a probability with its grounds.
            if task.reason.starts_with("Already late: its ") {
                assert!(task.risk == 1.0 && task.due_at < chrono::Utc::now(), "{task:?}");
            } else {
                assert!(task.reason.contains(" likely to miss its "), "{}", task.reason);
            }
            assert!(task.reason.ends_with('.'), "{}", task.reason);
        }
        let pace = ["slower than usual: ", "faster than usual: ", "as usual: "];
        let lead =
            format!("At risk: {} likely to take longer than 2d 00h; ", orgata_reports::text::whole_percent(risk));
        let rest = match case.reason.strip_prefix(&lead) {
            Some(rest) => rest.to_string(),
            None => case.reason.to_lowercase(),
        };
        assert_eq!(case.reason.starts_with("At risk: "), case.at_risk, "{}", case.reason);
        assert!(pace.iter().any(|p| rest.starts_with(p)) && case.reason.ends_with('.'), "{}", case.reason);
    }
    let at_risk = app.team_predictions(&scope, &team, true).await.unwrap();
    assert!(at_risk.cases.iter().all(|c| c.at_risk));
    assert_eq!(at_risk.cases.len(), predictions.cases.iter().filter(|c| c.at_risk).count());

    // One process: the same forecast as in the team's list.
    let first = &predictions.cases[0];
    let (model, one) = app.process_prediction(&scope, &first.case_id.as_str().into()).await.unwrap();
    assert_eq!(model.version, 1);
    assert_eq!(
        (&one.case_id, &one.expected_end, &one.next, &one.risk),
        (&first.case_id, &first.expected_end, &first.next, &first.risk)
    );
    assert_eq!(one.reason, first.reason);
    let ended = InstanceFilter {
        team_id: Some(team.clone()),
        status: Some(InstanceStatus::Completed),
        limit: 1,
        ..InstanceFilter::default()
    };
    let ended = &app.engine.instances(&scope, ended).await.unwrap()[0];
    let refused = app.process_prediction(&scope, &ended.id).await.unwrap_err();
    assert_eq!((refused.kind, refused.status.as_u16()), ("not-running", 409), "{}", refused.detail);
    let unknown = app.process_prediction(&scope, &"no-such-process".into()).await.unwrap_err();
    assert_eq!(unknown.status.as_u16(), 404);

    // A playbook's own model: it learns what its processes were started with, and forecasts
    // them in the team's lists and on their own; the other playbooks' stay with the team's.
    let finished = InstanceFilter { team_id: Some(team.clone()), limit: 10_000, ..InstanceFilter::default() };
    let mut per_playbook: HashMap<String, usize> = HashMap::new();
    for instance in app.engine.instances(&scope, finished).await.unwrap() {
        if instance.status != InstanceStatus::Running {
            *per_playbook.entry(instance.playbook_id.to_string()).or_default() += 1;
        }
    }
    let (busiest, ended) = per_playbook.iter().max_by_key(|(id, n)| (**n, (*id).clone())).unwrap();
    assert!(*ended >= orgata_reports::MIN_TRAINING_CASES, "{per_playbook:?}");
    let playbook = orgata_engine::PlaybookId::from(busiest.as_str());
    let own = app.train_team_model(&scope, &team, Some(&playbook), TrainingOptions::default()).await.unwrap();
    assert_eq!((own.version, own.playbook_id.as_deref(), own.cases), (1, Some(busiest.as_str()), *ended as u64));
    assert!(own.playbook_version.is_some_and(|v| v >= 1), "{own:?}");
    let named = |f: &String| f.starts_with("input.") || f == "version";
    assert!(own.features.iter().filter(|f| named(f)).count() >= 2, "{:?}", own.features);
    assert!(card.features.iter().any(|f| f.starts_with("playbook = ")), "{:?}", card.features);
    let mixed = app.team_predictions(&scope, &team, false).await.unwrap();
    assert_eq!((mixed.model.version, mixed.playbook_models.clone()), (1, vec![own.clone()]));
    assert_eq!(mixed.cases.len(), predictions.cases.len());
    let of_playbook: HashMap<String, String> =
        running.iter().map(|i| (i.id.to_string(), i.playbook_id.to_string())).collect();
    for case in &mixed.cases {
        let expected = (of_playbook[&case.case_id] == *busiest).then(|| busiest.clone());
        assert_eq!((case.model.playbook_id.clone(), case.model.version), (expected, 1), "{}", case.case_id);
    }
    let covered =
        mixed.cases.iter().find(|c| c.model.playbook_id.is_some()).expect("a running process of the playbook");
    let (model, one) = app.process_prediction(&scope, &covered.case_id.as_str().into()).await.unwrap();
    assert_eq!((model.playbook_id.as_deref(), &one.expected_end), (Some(busiest.as_str()), &covered.expected_end));
    let other_team = teams.iter().find(|t| t.id != team).unwrap();
    let foreign = app.engine.playbooks(&scope, Some(&other_team.id)).await.unwrap()[0].id.clone();
    let refused = app.train_team_model(&scope, &team, Some(&foreign), TrainingOptions::default()).await.unwrap_err();
    assert_eq!(refused.status.as_u16(), 404, "{}", refused.detail);

    // Forecasts follow the events: a task started (and streamed into the warehouse) is no longer
    // "not started" in its process's forecast.
    let (case, waiting) = predictions
        .cases
        .iter()
        .find_map(|c| c.tasks.iter().find(|t| t.reason.contains("not started")).map(|t| (c.case_id.clone(), t.clone())))
        .expect("an open task not started yet");
    app.engine.start_task(&scope, &waiting.task_id.as_str().into(), None).await.unwrap();
    let ingest = orgata_command(dir.path(), Some(&db.url)).arg("ingest").output().unwrap();
    assert!(ingest.status.success(), "{}", String::from_utf8_lossy(&ingest.stderr));
    let (_, after) = app.process_prediction(&scope, &case.as_str().into()).await.unwrap();
    let started = after.tasks.iter().find(|t| t.task_id == waiting.task_id).expect("the task's forecast");
    assert!(!started.reason.contains("not started"), "{}", started.reason);

    // Training again is the next version, listed first.
    // Without a target, the 80th percentile of the finished processes' durations is one.
    let typical = TrainingOptions { target_quantile: Some(0.8), ..TrainingOptions::default() };
    let second = app.train_team_model(&scope, &team, None, typical).await.unwrap();
    assert_eq!((second.version, second.case_target_quantile), (2, Some(0.8)));
    assert!(second.case_target_s.is_some_and(|t| t > 0.0) && second.evaluation.risk.is_some(), "{second:?}");
    let versions: Vec<(Option<String>, u32)> =
        app.team_models(&scope, &team).await.unwrap().into_iter().map(|c| (c.playbook_id, c.version)).collect();
    assert_eq!(versions, [(None, 2), (None, 1), (Some(busiest.clone()), 1)]);

    // A model file that cannot be read is an error in words, never a crash.
    let file = dir.path().join(format!("warehouse/models/{team}/orgata/all/000002/model.json.gz"));
    std::fs::write(&file, b"not a model").unwrap();
    let broken = app.team_predictions(&scope, &team, false).await.unwrap_err();
    assert_eq!(broken.kind, "model-unreadable", "{}", broken.detail);
    assert!(broken.detail.contains("000002/model.json.gz cannot be read"), "{}", broken.detail);
    store.close().await;
}

orgata_engine::on_both_databases!(forecasts_on_the_demo);
