use crate::conformance;
use crate::support::*;
use orgata_engine::definition::DefinitionError;
use orgata_engine::*;
use serde_json::json;

conformance!(
    versions_are_content_addressed_and_immutable,
    invalid_definitions_name_the_step,
    branches_move_with_optimistic_concurrency
);

async fn versions_are_content_addressed_and_immutable(h: Harness) {
    let w = World::new(&h, "acme").await;
    let p = w.playbook(&h, "Three", three_steps("doer")).await;
    let v1 = p.head.clone();
    assert_eq!(v1.id.as_str().len(), 64);
    assert_eq!(v1.parent_id, None);
    assert_eq!(
        v1.id,
        orgata_engine::service::version_id(&p.playbook.id, None, &v1.definition).unwrap(),
        "the id is the hash of the canonical JSON"
    );
    let running = w.start(&h, &p.playbook.id, json!({})).await;
    let mut changed = three_steps("doer");
    changed["steps"][2]["name"] = json!("Three (renamed)");
    let v2 = h.engine.commit_version(&w.owner, &p.playbook.id, "main", changed, "Rename", Some(1)).await.unwrap();
    assert_eq!(v2.parent_id.as_ref(), Some(&v1.id));
    assert_ne!(v2.id, v1.id);
    // The running instance stays on v1, a new one starts on v2.
    let one = task_of(&running.tasks, "one");
    let out = h.engine.complete_task(&w.owner, &one.id, CompleteTask::default()).await.unwrap();
    assert_eq!(out.instance.version_id, v1.id);
    assert_eq!(out.created[0].version_id, v1.id);
    let fresh = w.start(&h, &p.playbook.id, json!({})).await;
    assert_eq!(fresh.instance.version_id, v2.id);
    // History, oldest first, and v1 unchanged.
    let versions = h.engine.versions(&w.owner, &p.playbook.id).await.unwrap();
    assert_eq!(versions.iter().map(|v| v.id.clone()).collect::<Vec<_>>(), vec![v1.id.clone(), v2.id.clone()]);
    assert_eq!(versions[0], v1);
    assert_eq!((versions[0].number, versions[1].number), (1, 2));
    assert_eq!(versions[1].message, "Rename");
    let detail = h.engine.playbook(&w.owner, &p.playbook.id).await.unwrap();
    assert_eq!((detail.head.id, detail.branches[0].revision), (v2.id, 2));
}

async fn invalid_definitions_name_the_step(h: Harness) {
    let w = World::new(&h, "acme").await;
    let cases = [
        (json!({"steps": []}), DefinitionError::NoSteps),
        (
            json!({"steps": [{"key": "a", "name": "A", "kind": "task", "assignee": {"role": "x"}, "depends_on": ["ghost"]}]}),
            DefinitionError::UnknownDependency { step: "a".into(), dependency: "ghost".into() },
        ),
        (
            json!({"steps": [
                {"key": "a", "name": "A", "kind": "task", "assignee": {"role": "x"}, "depends_on": ["c"]},
                {"key": "b", "name": "B", "kind": "task", "assignee": {"role": "x"}, "depends_on": ["a"]},
                {"key": "c", "name": "C", "kind": "task", "assignee": {"role": "x"}, "depends_on": ["b"]}
            ]}),
            DefinitionError::Cycle { step: "a".into(), cycle: vec!["a".into(), "c".into(), "b".into(), "a".into()] },
        ),
        (
            json!({"steps": [{"key": "a", "name": "A", "kind": "form", "assignee": {"role": "x"}, "form": {"type": "nonsense"}}]}),
            DefinitionError::InvalidSchema { step: "a".into(), reason: String::new() },
        ),
        (
            json!({"steps": [{"key": "a", "name": "A", "kind": "task"}]}),
            DefinitionError::InvalidAssignee { step: "a".into(), reason: String::new() },
        ),
        (
            json!({"steps": [
                {"key": "a", "name": "A", "kind": "task", "assignee": {"role": "x"}},
                {"key": "b", "name": "B", "kind": "approval", "assignee": {"role": "x"}, "on_reject": {"rework": "a"}}
            ]}),
            DefinitionError::InvalidOnReject { step: "b".into(), reason: String::new() },
        ),
        (
            json!({"steps": [
                {"key": "a", "name": "A", "kind": "task", "assignee": {"role": "x"}, "condition": {"var": "steps.b.ok", "op": "eq", "value": true}},
                {"key": "b", "name": "B", "kind": "task", "assignee": {"role": "x"}}
            ]}),
            DefinitionError::InvalidCondition { step: "a".into(), var: "steps.b.ok".into(), reason: String::new() },
        ),
        (
            json!({"steps": [{"key": "a", "name": "A", "kind": "task", "assignee": {"role": "x"}}, {"key": "a", "name": "A2", "kind": "task", "assignee": {"role": "x"}}]}),
            DefinitionError::DuplicateStep { step: "a".into() },
        ),
        (
            json!({"steps": [{"key": "a", "name": "A", "kind": "task", "assignee": {"role": "x"}, "sla": "soon"}]}),
            DefinitionError::Malformed(String::new()),
        ),
    ];
    for (definition, expected) in cases {
        let err = h.engine.create_playbook(&w.owner, &w.team.id, "Bad", definition, "").await.unwrap_err();
        let EngineError::Definition(actual) = err else { panic!("expected a definition error, got {err}") };
        assert_eq!(std::mem::discriminant(&actual), std::mem::discriminant(&expected), "{actual}");
        match (&actual, &expected) {
            (DefinitionError::InvalidSchema { step, .. }, DefinitionError::InvalidSchema { step: s, .. })
            | (DefinitionError::InvalidAssignee { step, .. }, DefinitionError::InvalidAssignee { step: s, .. })
            | (DefinitionError::InvalidOnReject { step, .. }, DefinitionError::InvalidOnReject { step: s, .. }) => {
                assert_eq!(step, s)
            }
            (
                DefinitionError::InvalidCondition { step, var, .. },
                DefinitionError::InvalidCondition { step: s, var: v, .. },
            ) => {
                assert_eq!((step, var), (s, v))
            }
            (DefinitionError::Malformed(m), _) => {
                assert!(m.starts_with("at steps[0].sla: invalid duration `soon`"), "{m}")
            }
            _ => assert_eq!(actual, expected),
        }
    }
    assert!(h.engine.playbooks(&w.owner, None).await.unwrap().is_empty(), "nothing was saved");
}

async fn branches_move_with_optimistic_concurrency(h: Harness) {
    let w = World::new(&h, "acme").await;
    let p = w.playbook(&h, "Three", three_steps("doer")).await;
    let unchanged =
        h.engine.commit_version(&w.owner, &p.playbook.id, "main", three_steps("doer"), "", None).await.unwrap_err();
    assert!(matches!(unchanged, EngineError::Validation(ref f) if f[0].field == "definition"));
    let draft = h.engine.create_branch(&w.owner, &p.playbook.id, "draft", None).await.unwrap();
    assert_eq!(draft.head, p.head.id);
    let on_draft = h
        .engine
        .commit_version(&w.owner, &p.playbook.id, "draft", three_steps("reviewer"), "Other role", Some(1))
        .await
        .unwrap();
    let stale = h
        .engine
        .commit_version(&w.owner, &p.playbook.id, "draft", three_steps("lead"), "Lost edit", Some(1))
        .await
        .unwrap_err();
    assert!(matches!(stale, EngineError::Conflict { entity: "branch", expected: 1, found: 2, .. }), "{stale}");
    // main did not move; starting on the draft branch runs the draft's head.
    let detail = h.engine.playbook(&w.owner, &p.playbook.id).await.unwrap();
    assert_eq!(detail.head.id, p.head.id);
    let req = StartInstance {
        playbook_id: p.playbook.id.clone(),
        branch: Some("draft".into()),
        title: Some("Try".into()),
        input: json!({}),
    };
    let started = h.engine.start_instance(&w.owner, req).await.unwrap();
    assert_eq!(started.instance.version_id, on_draft.id);
    assert_eq!(started.tasks[0].role.as_deref(), Some("reviewer"));
    let dup = h.engine.create_branch(&w.owner, &p.playbook.id, "draft", None).await.unwrap_err();
    assert!(matches!(dup, EngineError::AlreadyExists { entity: "branch", .. }));
}
