use crate::conformance;
use crate::support::*;
use orgata_engine::*;
use serde_json::json;

conformance!(other_tenants_ids_look_missing_and_change_nothing);

/// Asserts that a call failed with not-found.
macro_rules! not_found {
    ($call:expr) => {{
        let r = $call.await;
        assert!(
            matches!(r, Err(EngineError::NotFound { .. })),
            "{}: expected not found, got {:?}",
            stringify!($call),
            r.map(|_| ())
        );
    }};
}

async fn other_tenants_ids_look_missing_and_change_nothing(h: Harness) {
    // Two organisations whose teams, playbooks and users have the same names.
    let a = World::new(&h, "alpha").await;
    let b = World::new(&h, "beta").await;
    let pa = a.playbook(&h, "Purchase", purchase_definition()).await;
    let pb = b.playbook(&h, "Purchase", purchase_definition()).await;
    let ia = a.start(&h, &pa.playbook.id, json!({"amount": 5000})).await;
    b.start(&h, &pb.playbook.id, json!({"amount": 5000})).await;
    let ta = ia.tasks[0].clone();
    h.engine.add_comment(&a.owner, &ia.instance.id, None, "secret").await.unwrap();
    let before = h.all_changes().await.len();

    let e = &h.engine;
    let s = &b.owner; // b's owner reaching for a's records
    not_found!(e.team(s, &a.team.id));
    not_found!(e.members(s, &a.team.id));
    not_found!(e.add_member(s, &a.team.id, &s.user_id(), "member"));
    not_found!(e.add_member(s, &b.team.id, &a.owner.user_id(), "member"));
    not_found!(e.create_playbook(s, &a.team.id, "Purchase2", purchase_definition(), ""));
    not_found!(e.playbook(s, &pa.playbook.id));
    not_found!(e.versions(s, &pa.playbook.id));
    not_found!(e.version(s, &pa.head.id));
    not_found!(e.commit_version(s, &pa.playbook.id, "main", three_steps("x"), "", None));
    not_found!(e.create_branch(s, &pa.playbook.id, "mine", None));
    not_found!(e.create_branch(s, &pb.playbook.id, "mine", Some(&pa.head.id)));
    let start =
        StartInstance { playbook_id: pa.playbook.id.clone(), branch: None, title: None, input: json!({"amount": 1}) };
    not_found!(e.start_instance(s, start));
    not_found!(e.instance(s, &ia.instance.id));
    not_found!(e.cancel_instance(s, &ia.instance.id, None, "x"));
    not_found!(e.add_comment(s, &ia.instance.id, None, "hi"));
    not_found!(e.task(s, &ta.id));
    not_found!(e.assign_task(s, &ta.id, &s.user_id(), None));
    not_found!(e.claim_task(s, &ta.id, None));
    not_found!(e.start_task(s, &ta.id, None));
    not_found!(e.complete_task(s, &ta.id, CompleteTask { output: json!({"item": "x"}), ..Default::default() }));
    not_found!(e.cancel_task(s, &ta.id, None));

    // Lists show only b's own records.
    assert_eq!(e.teams(s).await.unwrap().iter().map(|t| t.id.clone()).collect::<Vec<_>>(), vec![b.team.id.clone()]);
    assert_eq!(
        e.playbooks(s, None).await.unwrap().iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
        vec![pb.playbook.id.clone()]
    );
    assert!(e.playbooks(s, Some(&a.team.id)).await.unwrap().is_empty());
    let instances = e.instances(s, InstanceFilter::default()).await.unwrap();
    assert!(instances.iter().all(|i| i.team_id == b.team.id) && instances.len() == 1);
    let tasks =
        e.tasks(s, TaskFilter { instance_id: Some(ia.instance.id.clone()), ..Default::default() }).await.unwrap();
    assert!(tasks.is_empty());
    let audit = e.audit_entries(s, AuditFilter::default()).await.unwrap();
    assert!(!audit.is_empty() && audit.iter().all(|x| x.org_id == b.org.id));

    // Nothing was written by any of the refused calls, and a's records are intact.
    assert_eq!(h.all_changes().await.len(), before);
    let still = h.engine.task(&a.owner, &ta.id).await.unwrap();
    assert_eq!((still.status, still.revision), (TaskStatus::Open, 1));
}
