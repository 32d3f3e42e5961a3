use crate::conformance;
use crate::support::*;
use chrono::Duration;
use orgata_engine::*;
use serde_json::json;

conformance!(
    runs_a_purchase_to_completion,
    condition_skips_approval,
    form_output_is_validated,
    approval_rejection_ends_path,
    approval_rejection_ends_process,
    approval_rejection_reworks,
    round_robin_and_user_assignment,
    illegal_transitions_are_refused,
    cancelling_an_instance_cancels_its_tasks,
    input_is_validated_and_size_limited,
    comments_on_instances_and_tasks,
    task_lists_filter,
    processes_take_their_title_from_their_input,
);

async fn processes_take_their_title_from_their_input(h: Harness) {
    let w = World::new(&h, "acme").await;
    let step = json!([{"key": "a", "name": "A", "kind": "task", "assignee": {"role": "member"}}]);
    let p = w.playbook(&h, "Incidents", json!({ "steps": step })).await;
    let titled = w.start(&h, &p.playbook.id, json!({"summary": "Search is slow", "severity": "sev2"})).await;
    assert_eq!(titled.instance.title, "Search is slow");
    // Without a text field to take it from: the playbook's name and the start time.
    let plain = w.start(&h, &p.playbook.id, json!({"amount": 3})).await;
    assert_eq!(plain.instance.title, format!("Incidents {}", t0().format("%Y-%m-%d %H:%M")));
    // A playbook may name the field.
    let schema = json!({"type": "object", "properties": {"vendor": {"type": "string"}, "summary": {"type": "string"}}});
    let named = json!({ "steps": step, "input_schema": schema, "title_from": "vendor" });
    let q = w.playbook(&h, "Purchases", named).await;
    let bought = w.start(&h, &q.playbook.id, json!({"vendor": "Acme Ltd", "summary": "Chairs"})).await;
    assert_eq!(bought.instance.title, "Acme Ltd");
}

async fn runs_a_purchase_to_completion(h: Harness) {
    let w = World::new(&h, "acme").await;
    let req = w.member(&h, "rita", "requester").await;
    let mgr = w.member(&h, "max", "manager").await;
    let buyer = w.member(&h, "bo", "buyer").await;
    let p = w.playbook(&h, "Purchase", purchase_definition()).await;
    let started = w.start(&h, &p.playbook.id, json!({"amount": 2500})).await;
    assert_eq!(started.instance.status, InstanceStatus::Running);
    assert_eq!(started.instance.version_id, p.head.id);
    assert_eq!(started.tasks.len(), 1);
    let request = &started.tasks[0];
    assert_eq!(
        (request.step_key.as_str(), request.status, request.role.as_deref()),
        ("request", TaskStatus::Open, Some("requester"))
    );
    assert_eq!(request.ready_at, Some(t0()));
    assert_eq!(request.due_at, Some(t0() + Duration::days(1)));

    // Claimed after 30 minutes, started after 45, completed after 60.
    h.advance(30);
    let claimed = h.engine.claim_task(&req, &request.id, Some(1)).await.unwrap();
    assert_eq!((claimed.status, claimed.revision), (TaskStatus::Assigned, 2));
    h.advance(15);
    h.engine.start_task(&req, &request.id, None).await.unwrap();
    h.advance(15);
    let done = h
        .engine
        .complete_task(
            &req,
            &request.id,
            CompleteTask { output: json!({"item": "Laptop", "quantity": 2}), ..Default::default() },
        )
        .await
        .unwrap();
    let t = &done.task;
    assert_eq!(t.status, TaskStatus::Completed);
    assert_eq!(t.ready_at, Some(t0()));
    assert_eq!(t.assigned_at, Some(t0() + Duration::minutes(30)));
    assert_eq!(t.started_at, Some(t0() + Duration::minutes(45)));
    assert_eq!(t.completed_at, Some(t0() + Duration::minutes(60)));
    // budget (automated) ran at once; approval became ready because 2500 > 1000.
    let created: Vec<(&str, TaskStatus)> = done.created.iter().map(|t| (t.step_key.as_str(), t.status)).collect();
    assert_eq!(created, vec![("budget", TaskStatus::Completed), ("approve", TaskStatus::Open)]);
    assert_eq!(done.instance.data["steps"]["request"], json!({"item": "Laptop", "quantity": 2}));

    h.advance(120);
    let approval = task_of(&done.created, "approve").clone();
    let missing = h.engine.complete_task(&mgr, &approval.id, CompleteTask::default()).await.unwrap_err();
    assert!(matches!(missing, EngineError::Validation(ref p) if p[0].field == "decision"), "{missing}");
    let approved = h
        .engine
        .complete_task(&mgr, &approval.id, CompleteTask { decision: Some(Decision::Approve), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(approved.task.decision.as_deref(), Some("approved"));
    assert_eq!(approved.task.assignee_id.as_ref(), Some(mgr.user_id()));
    assert_eq!(approved.instance.data["steps"]["approve"], json!({"decision": "approved"}));
    let order = task_of(&approved.created, "order").clone();
    assert_eq!(order.role.as_deref(), Some("buyer"));
    h.advance(10);
    let finished = h.engine.complete_task(&buyer, &order.id, CompleteTask::default()).await.unwrap();
    assert_eq!(finished.instance.status, InstanceStatus::Completed);
    assert_eq!(finished.instance.outcome.as_deref(), Some("completed"));
    assert_eq!(finished.instance.ended_at, Some(t0() + Duration::minutes(190)));

    let detail = h.engine.instance(&w.owner, &started.instance.id).await.unwrap();
    let steps: Vec<(&str, TaskStatus)> = detail.tasks.iter().map(|t| (t.step_key.as_str(), t.status)).collect();
    assert_eq!(
        steps,
        vec![
            ("request", TaskStatus::Completed),
            ("budget", TaskStatus::Completed),
            ("approve", TaskStatus::Completed),
            ("order", TaskStatus::Completed)
        ]
    );
    assert_eq!(detail.instance, finished.instance);
}

async fn condition_skips_approval(h: Harness) {
    let w = World::new(&h, "acme").await;
    let p = w.playbook(&h, "Purchase", purchase_definition()).await;
    let started = w.start(&h, &p.playbook.id, json!({"amount": 200})).await;
    let done = h
        .engine
        .complete_task(
            &w.owner,
            &started.tasks[0].id,
            CompleteTask { output: json!({"item": "Pens"}), ..Default::default() },
        )
        .await
        .unwrap();
    // approve is skipped (200 <= 1000), so order depends on a skipped step and is skipped too.
    let created: Vec<(&str, TaskStatus)> = done.created.iter().map(|t| (t.step_key.as_str(), t.status)).collect();
    assert_eq!(
        created,
        vec![("budget", TaskStatus::Completed), ("approve", TaskStatus::Skipped), ("order", TaskStatus::Skipped)]
    );
    assert_eq!(done.instance.status, InstanceStatus::Completed);
}

async fn form_output_is_validated(h: Harness) {
    let w = World::new(&h, "acme").await;
    let p = w.playbook(&h, "Purchase", purchase_definition()).await;
    let started = w.start(&h, &p.playbook.id, json!({"amount": 5})).await;
    let id = started.tasks[0].id.clone();
    let before = h.all_changes().await.len();
    let err = h
        .engine
        .complete_task(&w.owner, &id, CompleteTask { output: json!({"item": "", "quantity": 0}), ..Default::default() })
        .await
        .unwrap_err();
    let EngineError::Validation(problems) = err else { panic!("expected validation error") };
    let mut fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    fields.sort();
    assert_eq!(fields, vec!["/output/item", "/output/quantity"]);
    let err = h
        .engine
        .complete_task(&w.owner, &id, CompleteTask { output: json!({"quantity": 1}), ..Default::default() })
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Validation(ref p) if p.len() == 1 && p[0].field == "/output" && p[0].message.contains("item"))
    );
    let not_object = h
        .engine
        .complete_task(&w.owner, &id, CompleteTask { output: json!([1, 2]), ..Default::default() })
        .await
        .unwrap_err();
    assert!(matches!(not_object, EngineError::Validation(_)));
    let decision_on_form = h
        .engine
        .complete_task(
            &w.owner,
            &id,
            CompleteTask { output: json!({"item": "x"}), decision: Some(Decision::Approve), ..Default::default() },
        )
        .await
        .unwrap_err();
    assert!(matches!(decision_on_form, EngineError::Validation(ref p) if p[0].field == "decision"));
    // Nothing was written by the failed attempts.
    assert_eq!(h.all_changes().await.len(), before);
    let task = h.engine.task(&w.owner, &id).await.unwrap();
    assert_eq!((task.status, task.revision), (TaskStatus::Open, 1));
}

fn review_definition(on_reject: serde_json::Value) -> serde_json::Value {
    json!({ "steps": [
        {"key": "draft", "name": "Draft", "kind": "task", "assignee": {"role": "writer"}},
        {"key": "notify", "name": "Notify", "kind": "task", "assignee": {"role": "writer"}},
        {"key": "review", "name": "Review", "kind": "approval", "depends_on": ["draft"], "assignee": {"role": "lead"}, "on_reject": on_reject},
        {"key": "publish", "name": "Publish", "kind": "task", "depends_on": ["review"], "assignee": {"role": "writer"}}
    ]})
}

async fn reject_review(h: &Harness, w: &World, on_reject: serde_json::Value) -> (InstanceDetail, TaskOutcome) {
    let p = w.playbook(h, "Review", review_definition(on_reject)).await;
    let started = w.start(h, &p.playbook.id, json!({})).await;
    let draft = task_of(&started.tasks, "draft");
    let done = h.engine.complete_task(&w.owner, &draft.id, CompleteTask::default()).await.unwrap();
    let review = task_of(&done.created, "review");
    let rejected = h
        .engine
        .complete_task(
            &w.owner,
            &review.id,
            CompleteTask { output: json!({"reason": "typos"}), decision: Some(Decision::Reject), ..Default::default() },
        )
        .await
        .unwrap();
    (started, rejected)
}

async fn approval_rejection_ends_path(h: Harness) {
    let w = World::new(&h, "acme").await;
    let (started, rejected) = reject_review(&h, &w, json!("end_path")).await;
    assert_eq!(rejected.task.status, TaskStatus::Rejected);
    assert_eq!(
        rejected.created.iter().map(|t| (t.step_key.as_str(), t.status)).collect::<Vec<_>>(),
        vec![("publish", TaskStatus::Skipped)]
    );
    // notify still runs; the instance completes after it.
    assert_eq!(rejected.instance.status, InstanceStatus::Running);
    let notify = task_of(&started.tasks, "notify");
    let done = h.engine.complete_task(&w.owner, &notify.id, CompleteTask::default()).await.unwrap();
    assert_eq!(
        (done.instance.status, done.instance.outcome.as_deref()),
        (InstanceStatus::Completed, Some("completed"))
    );
}

async fn approval_rejection_ends_process(h: Harness) {
    let w = World::new(&h, "acme").await;
    let (started, rejected) = reject_review(&h, &w, json!("end_process")).await;
    assert_eq!(
        (rejected.instance.status, rejected.instance.outcome.as_deref()),
        (InstanceStatus::Completed, Some("rejected"))
    );
    let detail = h.engine.instance(&w.owner, &started.instance.id).await.unwrap();
    assert_eq!(task_of(&detail.tasks, "notify").status, TaskStatus::Cancelled);
    assert_eq!(task_of(&detail.tasks, "publish").status, TaskStatus::Skipped);
}

async fn approval_rejection_reworks(h: Harness) {
    let w = World::new(&h, "acme").await;
    let (started, rejected) = reject_review(&h, &w, json!({"rework": "draft"})).await;
    assert_eq!(rejected.instance.status, InstanceStatus::Running);
    assert_eq!(rejected.created.len(), 1);
    let redo = &rejected.created[0];
    assert_eq!((redo.step_key.as_str(), redo.attempt, redo.status), ("draft", 2, TaskStatus::Open));
    assert!(!rejected.task.current, "the rejected review is superseded");
    let done = h.engine.complete_task(&w.owner, &redo.id, CompleteTask::default()).await.unwrap();
    let review2 = task_of(&done.created, "review");
    assert_eq!(review2.attempt, 2);
    let approved = h
        .engine
        .complete_task(&w.owner, &review2.id, CompleteTask { decision: Some(Decision::Approve), ..Default::default() })
        .await
        .unwrap();
    let publish = task_of(&approved.created, "publish");
    h.engine.complete_task(&w.owner, &publish.id, CompleteTask::default()).await.unwrap();
    let notify = task_of(&started.tasks, "notify");
    let last = h.engine.complete_task(&w.owner, &notify.id, CompleteTask::default()).await.unwrap();
    assert_eq!(last.instance.status, InstanceStatus::Completed);
    let detail = h.engine.instance(&w.owner, &started.instance.id).await.unwrap();
    let history: Vec<(&str, i32, TaskStatus, bool)> =
        detail.tasks.iter().map(|t| (t.step_key.as_str(), t.attempt, t.status, t.current)).collect();
    assert_eq!(
        history,
        vec![
            ("draft", 1, TaskStatus::Completed, false),
            ("notify", 1, TaskStatus::Completed, true),
            ("review", 1, TaskStatus::Rejected, false),
            ("draft", 2, TaskStatus::Completed, true),
            ("review", 2, TaskStatus::Completed, true),
            ("publish", 1, TaskStatus::Completed, true),
        ]
    );
    // A superseded task can no longer be worked on.
    let old = &detail.tasks[0];
    let err = h.engine.start_task(&w.owner, &old.id, None).await.unwrap_err();
    assert!(matches!(err, EngineError::InvalidTransition { .. }), "{err}");
}

async fn round_robin_and_user_assignment(h: Harness) {
    let w = World::new(&h, "acme").await;
    let a = w.member(&h, "a", "agent").await;
    let b = w.member(&h, "b", "agent").await;
    let c = w.member(&h, "c", "agent").await;
    let def = json!({ "steps": [
        {"key": "triage", "name": "Triage", "kind": "task", "assignee": {"round_robin": "agent"}},
        {"key": "own", "name": "Owner check", "kind": "task", "assignee": {"user": w.owner.user_id()}}
    ]});
    let p = w.playbook(&h, "Tickets", def).await;
    let mut agents = Vec::new();
    for _ in 0..4 {
        let started = w.start(&h, &p.playbook.id, json!({})).await;
        let triage = task_of(&started.tasks, "triage");
        assert_eq!(triage.status, TaskStatus::Assigned);
        agents.push(triage.assignee_id.clone().unwrap());
        let own = task_of(&started.tasks, "own");
        assert_eq!((own.status, own.assignee_id.as_ref()), (TaskStatus::Assigned, Some(w.owner.user_id())));
    }
    let mut expected = vec![a.user_id().clone(), b.user_id().clone(), c.user_id().clone()];
    expected.sort();
    expected.push(expected[0].clone());
    assert_eq!(agents, expected);
    // Reassign to another member; a non-member is refused.
    let started = w.start(&h, &p.playbook.id, json!({})).await;
    let triage = task_of(&started.tasks, "triage");
    let moved = h.engine.assign_task(&w.owner, &triage.id, c.user_id(), Some(triage.revision)).await.unwrap();
    assert_eq!(moved.assignee_id.as_ref(), Some(c.user_id()));
    let outsider = World::new(&h, "other").await;
    let err = h.engine.assign_task(&w.owner, &triage.id, outsider.owner.user_id(), None).await.unwrap_err();
    assert!(matches!(err, EngineError::NotFound { entity: "user", .. }));
    // Someone else's task cannot be completed by a.
    let err = h.engine.complete_task(&a, &triage.id, CompleteTask::default()).await.unwrap_err();
    assert!(matches!(err, EngineError::Forbidden(_)), "{err}");
}

async fn illegal_transitions_are_refused(h: Harness) {
    let w = World::new(&h, "acme").await;
    let viewer = w.member(&h, "vic", "viewer").await;
    let p = w.playbook(&h, "Three", three_steps("doer")).await;
    let started = w.start(&h, &p.playbook.id, json!({})).await;
    let one = &started.tasks[0];
    // Claiming needs the task's role.
    let err = h.engine.claim_task(&viewer, &one.id, None).await.unwrap_err();
    assert!(matches!(err, EngineError::Forbidden(_)), "{err}");
    h.engine.complete_task(&w.owner, &one.id, CompleteTask::default()).await.unwrap();
    let again = h.engine.complete_task(&w.owner, &one.id, CompleteTask::default()).await.unwrap_err();
    assert!(
        matches!(again, EngineError::InvalidTransition { entity: "task", action: "complete", ref state, .. } if state == "completed"),
        "{again}"
    );
    let stale = h.engine.claim_task(&w.owner, &one.id, Some(1)).await.unwrap_err();
    assert!(matches!(stale, EngineError::Conflict { entity: "task", expected: 1, found: 2, .. }), "{stale}");
    let unknown = h.engine.complete_task(&w.owner, &TaskId::from("nope"), CompleteTask::default()).await.unwrap_err();
    assert!(matches!(unknown, EngineError::NotFound { entity: "task", .. }));
    let cancelled = h.engine.cancel_instance(&w.owner, &started.instance.id, None, "test").await.unwrap();
    let err = h.engine.cancel_instance(&w.owner, &cancelled.id, None, "again").await.unwrap_err();
    assert!(
        matches!(err, EngineError::InvalidTransition { entity: "instance", ref state, .. } if state == "cancelled")
    );
}

async fn cancelling_an_instance_cancels_its_tasks(h: Harness) {
    let w = World::new(&h, "acme").await;
    let p = w.playbook(&h, "Review", review_definition(json!("end_path"))).await;
    let started = w.start(&h, &p.playbook.id, json!({})).await;
    let stale = h.engine.cancel_instance(&w.owner, &started.instance.id, Some(7), "x").await.unwrap_err();
    assert!(matches!(stale, EngineError::Conflict { expected: 7, found: 1, .. }));
    h.advance(5);
    let cancelled =
        h.engine.cancel_instance(&w.owner, &started.instance.id, Some(1), "duplicate request").await.unwrap();
    assert_eq!((cancelled.status, cancelled.outcome.as_deref()), (InstanceStatus::Cancelled, Some("cancelled")));
    assert_eq!(cancelled.ended_at, Some(t0() + Duration::minutes(5)));
    let detail = h.engine.instance(&w.owner, &started.instance.id).await.unwrap();
    assert!(detail.tasks.iter().all(|t| t.status == TaskStatus::Cancelled));
    let err = h.engine.complete_task(&w.owner, &detail.tasks[0].id, CompleteTask::default()).await.unwrap_err();
    assert!(matches!(err, EngineError::InvalidTransition { .. }));
    // A task cancelled on its own skips what depends on it.
    let started = w.start(&h, &p.playbook.id, json!({})).await;
    let draft = task_of(&started.tasks, "draft");
    let out = h.engine.cancel_task(&w.owner, &draft.id, None).await.unwrap();
    let created: Vec<(&str, TaskStatus)> = out.created.iter().map(|t| (t.step_key.as_str(), t.status)).collect();
    assert_eq!(created, vec![("review", TaskStatus::Skipped), ("publish", TaskStatus::Skipped)]);
}

async fn input_is_validated_and_size_limited(h: Harness) {
    let w = World::new(&h, "acme").await;
    let p = w.playbook(&h, "Purchase", purchase_definition()).await;
    let bad = StartInstance {
        playbook_id: p.playbook.id.clone(),
        branch: None,
        title: None,
        input: json!({"amount": "lots"}),
    };
    let err = h.engine.start_instance(&w.owner, bad).await.unwrap_err();
    assert!(matches!(err, EngineError::Validation(ref p) if p[0].field == "/input/amount"), "{err}");
    let huge = "x".repeat(300 * 1024);
    let big = StartInstance {
        playbook_id: p.playbook.id.clone(),
        branch: None,
        title: None,
        input: json!({"amount": 1, "notes": huge}),
    };
    let err = h.engine.start_instance(&w.owner, big).await.unwrap_err();
    assert!(matches!(err, EngineError::TooLarge { what: "input", limit: 262_144, .. }), "{err}");
    let no_branch = StartInstance {
        playbook_id: p.playbook.id.clone(),
        branch: Some("nope".into()),
        title: None,
        input: json!({"amount": 1}),
    };
    assert!(matches!(
        h.engine.start_instance(&w.owner, no_branch).await,
        Err(EngineError::NotFound { entity: "branch", .. })
    ));
    assert!(h.engine.instances(&w.owner, InstanceFilter::default()).await.unwrap().is_empty());
}

async fn comments_on_instances_and_tasks(h: Harness) {
    let w = World::new(&h, "acme").await;
    let p = w.playbook(&h, "Three", three_steps("doer")).await;
    let started = w.start(&h, &p.playbook.id, json!({})).await;
    let i = &started.instance.id;
    h.engine.add_comment(&w.owner, i, None, "  Kicking off  ").await.unwrap();
    h.advance(1);
    h.engine.add_comment(&w.owner, i, Some(&started.tasks[0].id), "On it").await.unwrap();
    let err = h.engine.add_comment(&w.owner, i, None, "   ").await.unwrap_err();
    assert!(matches!(err, EngineError::Validation(_)));
    let err = h.engine.add_comment(&w.owner, i, Some(&TaskId::from("x")), "hi").await.unwrap_err();
    assert!(matches!(err, EngineError::NotFound { entity: "task", .. }));
    let detail = h.engine.instance(&w.owner, i).await.unwrap();
    let bodies: Vec<(&str, bool)> = detail.comments.iter().map(|c| (c.body.as_str(), c.task_id.is_some())).collect();
    assert_eq!(bodies, vec![("Kicking off", false), ("On it", true)]);
}

async fn task_lists_filter(h: Harness) {
    let w = World::new(&h, "acme").await;
    let def = json!({ "steps": [
        {"key": "a", "name": "A", "kind": "task", "assignee": {"user": w.owner.user_id()}, "sla": "1h"},
        {"key": "b", "name": "B", "kind": "task", "assignee": {"role": "other"}, "sla": "3h"}
    ]});
    let p = w.playbook(&h, "Two", def).await;
    for _ in 0..3 {
        w.start(&h, &p.playbook.id, json!({})).await;
    }
    let mine = TaskFilter { assignee_id: Some(w.owner.user_id().clone()), ..Default::default() };
    assert_eq!(h.engine.tasks(&w.owner, mine).await.unwrap().len(), 3);
    let open = TaskFilter { statuses: vec![TaskStatus::Open], ..Default::default() };
    assert_eq!(h.engine.tasks(&w.owner, open).await.unwrap().len(), 3);
    let overdue = TaskFilter { due_before: Some(t0() + Duration::hours(2)), ..Default::default() };
    let overdue = h.engine.tasks(&w.owner, overdue).await.unwrap();
    assert_eq!(overdue.iter().map(|t| t.step_key.as_str()).collect::<Vec<_>>(), vec!["a", "a", "a"]);
    // Cursor pagination: two pages of 4 and 2, in id order, no overlap.
    let page1 = h.engine.tasks(&w.owner, TaskFilter { limit: 4, ..Default::default() }).await.unwrap();
    let after = page1.last().map(|t| t.id.clone());
    let page2 = h.engine.tasks(&w.owner, TaskFilter { limit: 4, after, ..Default::default() }).await.unwrap();
    assert_eq!((page1.len(), page2.len()), (4, 2));
    assert!(page1.last().unwrap().id < page2[0].id);
    // Newest first: the same six tasks in reverse, paged the same way.
    let newest = |after: Option<TaskId>| TaskFilter { limit: 4, after, newest_first: true, ..Default::default() };
    let first = h.engine.tasks(&w.owner, newest(None)).await.unwrap();
    let rest = h.engine.tasks(&w.owner, newest(first.last().map(|t| t.id.clone()))).await.unwrap();
    let reversed: Vec<TaskId> = page1.iter().chain(&page2).rev().map(|t| t.id.clone()).collect();
    assert_eq!(first.iter().chain(&rest).map(|t| t.id.clone()).collect::<Vec<_>>(), reversed);
    // Only some tasks and processes, by id.
    let ids = vec![page2[1].id.clone(), page1[0].id.clone()];
    let some =
        h.engine.tasks(&w.owner, TaskFilter { ids: ids.clone(), limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(some.iter().map(|t| t.id.clone()).collect::<Vec<_>>(), [ids[1].clone(), ids[0].clone()]);
    let instance = page1[0].instance_id.clone();
    let one = InstanceFilter { ids: vec![instance.clone()], limit: 10, ..Default::default() };
    assert_eq!(h.engine.instances(&w.owner, one).await.unwrap().iter().map(|i| &i.id).collect::<Vec<_>>(), [&instance]);
    // Processes by assignee: those where a current task is the user's.
    let bob = w.member(&h, "bob", "member").await;
    let of = |user: &UserId| InstanceFilter { assignee_id: Some(user.clone()), ..Default::default() };
    assert_eq!(h.engine.instances(&w.owner, of(w.owner.user_id())).await.unwrap().len(), 3);
    assert!(h.engine.instances(&w.owner, of(bob.user_id())).await.unwrap().is_empty());
}
