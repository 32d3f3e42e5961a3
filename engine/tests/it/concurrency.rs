use crate::conformance;
use crate::support::*;
use orgata_engine::*;
use serde_json::json;
use std::sync::Arc;

conformance!(
    concurrent_completions_have_one_winner,
    concurrent_commits_have_one_winner,
    parallel_steps_complete_concurrently
);

/// Runs two calls at once from two engines (two server processes, in effect).
async fn race<T: Send + 'static>(
    a: impl Future<Output = Result<T>> + Send + 'static,
    b: impl Future<Output = Result<T>> + Send + 'static,
) -> (Result<T>, Result<T>) {
    let (ra, rb) = tokio::join!(tokio::spawn(a), tokio::spawn(b));
    (ra.expect("join"), rb.expect("join"))
}

async fn concurrent_completions_have_one_winner(h: Harness) {
    let w = World::new(&h, "acme").await;
    let p = w.playbook(&h, "Three", three_steps("doer")).await;
    let (e1, e2) = (Arc::new(h.reopen().await), Arc::new(h.reopen().await));
    for round in 0..10 {
        let started = w.start(&h, &p.playbook.id, json!({})).await;
        let id = started.tasks[0].id.clone();
        let call = |e: Arc<Engine>, n: i64| {
            let (scope, id) = (w.owner.clone(), id.clone());
            async move {
                let req = CompleteTask { output: json!({"by": n}), decision: None, expected_revision: Some(1) };
                e.complete_task(&scope, &id, req).await
            }
        };
        let (r1, r2) = race(call(e1.clone(), 1), call(e2.clone(), 2)).await;
        let (winner, loser) = match (r1, r2) {
            (Ok(w), Err(l)) | (Err(l), Ok(w)) => (w, l),
            (a, b) => {
                panic!("round {round}: expected exactly one winner, got {:?} and {:?}", a.map(|_| ()), b.map(|_| ()))
            }
        };
        assert!(matches!(loser, EngineError::Conflict { entity: "task", expected: 1, found: 2, .. }), "{loser}");
        // Exactly one completion is stored, with one successor and the winner's output.
        let detail = h.engine.instance(&w.owner, &started.instance.id).await.unwrap();
        let keys: Vec<&str> = detail.tasks.iter().map(|t| t.step_key.as_str()).collect();
        assert_eq!(keys, vec!["one", "two"]);
        assert_eq!(detail.tasks[0].output, winner.task.output);
        assert_eq!(detail.instance.revision, 2);
    }
}

async fn concurrent_commits_have_one_winner(h: Harness) {
    let w = World::new(&h, "acme").await;
    let p = w.playbook(&h, "Three", three_steps("doer")).await;
    let (e1, e2) = (Arc::new(h.reopen().await), Arc::new(h.reopen().await));
    let call = |e: Arc<Engine>, role: &'static str| {
        let (scope, id) = (w.owner.clone(), p.playbook.id.clone());
        async move { e.commit_version(&scope, &id, "main", three_steps(role), role, Some(1)).await }
    };
    let (r1, r2) = race(call(e1, "left"), call(e2, "right")).await;
    assert!(r1.is_ok() != r2.is_ok(), "exactly one commit wins");
    let loser = r1.err().or(r2.err()).unwrap();
    assert!(matches!(loser, EngineError::Conflict { entity: "branch", .. }), "{loser}");
    assert_eq!(h.engine.versions(&w.owner, &p.playbook.id).await.unwrap().len(), 2);
}

async fn parallel_steps_complete_concurrently(h: Harness) {
    // Completing different tasks of one instance at once: both succeed, serialised by the engine.
    let w = World::new(&h, "acme").await;
    let def = json!({ "steps": [
        {"key": "a", "name": "A", "kind": "task", "assignee": {"role": "x"}},
        {"key": "b", "name": "B", "kind": "task", "assignee": {"role": "x"}},
        {"key": "join", "name": "Join", "kind": "task", "depends_on": ["a", "b"], "assignee": {"role": "x"}}
    ]});
    let p = w.playbook(&h, "Fork", def).await;
    let (e1, e2) = (Arc::new(h.reopen().await), Arc::new(h.reopen().await));
    for _ in 0..5 {
        let started = w.start(&h, &p.playbook.id, json!({})).await;
        let call = |e: Arc<Engine>, key: &str| {
            let (scope, id) = (w.owner.clone(), task_of(&started.tasks, key).id.clone());
            async move { e.complete_task(&scope, &id, CompleteTask::default()).await }
        };
        let (r1, r2) = race(call(e1.clone(), "a"), call(e2.clone(), "b")).await;
        let (o1, o2) = (r1.unwrap(), r2.unwrap());
        // Whichever committed second saw the other's completion and activated the join once.
        assert_eq!(o1.created.len() + o2.created.len(), 1);
        let detail = h.engine.instance(&w.owner, &started.instance.id).await.unwrap();
        assert_eq!(detail.tasks.iter().filter(|t| t.step_key == "join").count(), 1);
        assert_eq!(detail.instance.revision, 3);
    }
}
