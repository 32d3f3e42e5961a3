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
    let ca = h.engine.add_comment(&a.owner, &ia.instance.id, None, "secret").await.unwrap();
    let a_settings = OrganisationSettings { time_zone: "Asia/Tokyo".into(), ..Default::default() };
    h.engine.update_organisation_settings(&a.owner, a_settings.clone()).await.unwrap();
    // Both have a custom role of the same name, a member of the same name and an API key.
    h.engine.create_role(&a.owner, "clerk", &["task.complete".into()]).await.unwrap();
    h.engine.create_role(&b.owner, "clerk", &["sql.run".into()]).await.unwrap();
    let a_member = a.member(&h, "sam", "clerk").await;
    b.member(&h, "sam", "clerk").await;
    let a_key = h.engine.create_api_key(&a.owner, &a.team.id, "agent", None, None).await.unwrap();
    h.engine.create_api_key(&b.owner, &b.team.id, "agent", None, None).await.unwrap();
    let a_audit_before =
        h.engine.audit_entries(&a.owner, AuditFilter { limit: 1000, ..Default::default() }).await.unwrap();
    let before = h.all_changes().await.len();

    let e = &h.engine;
    let s = &b.owner; // b's owner reaching for a's records
    not_found!(e.team(s, &a.team.id));
    not_found!(e.members(s, &a.team.id));
    not_found!(e.add_member(s, &a.team.id, s.user_id(), "member"));
    not_found!(e.add_member(s, &b.team.id, a.owner.user_id(), "member"));
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
    not_found!(e.edit_comment(s, &ca.id, "mine"));
    not_found!(e.delete_comment(s, &ca.id));
    not_found!(e.archive_playbook(s, &pa.playbook.id));
    not_found!(e.restore_playbook(s, &pa.playbook.id));
    not_found!(e.delete_playbook(s, &pa.playbook.id));
    not_found!(e.delete_team(s, &a.team.id));
    not_found!(e.remove_user(s, a_member.user_id()));
    not_found!(e.remove_user(s, a.owner.user_id()));
    not_found!(e.task(s, &ta.id));
    not_found!(e.assign_task(s, &ta.id, s.user_id(), None));
    not_found!(e.claim_task(s, &ta.id, None));
    not_found!(e.start_task(s, &ta.id, None));
    not_found!(e.complete_task(s, &ta.id, CompleteTask { output: json!({"item": "x"}), ..Default::default() }));
    not_found!(e.cancel_task(s, &ta.id, None));
    not_found!(e.change_member_role(s, &a.team.id, a_member.user_id(), "member"));
    not_found!(e.change_member_role(s, &b.team.id, a_member.user_id(), "member"));
    not_found!(e.remove_member(s, &a.team.id, a_member.user_id()));
    not_found!(e.rename_team(s, &a.team.id, "Mine"));
    not_found!(e.set_org_role(s, a_member.user_id(), OrgRole::Admin));
    not_found!(e.create_api_key(s, &a.team.id, "mine", None, None));
    not_found!(e.api_keys(s, &a.team.id));
    not_found!(e.revoke_api_key(s, &a_key.key.id));
    not_found!(e.unlock(s, &format!("account:{}", a.owner.user_id())));
    not_found!(e.team_events(s, &a.team.id, LogPosition::default()));
    // An idempotency key is the caller's own: a's key names nothing of b's.
    e.begin_idempotent(&a.owner, "same-key", "a's request").await.unwrap();
    assert_eq!(e.begin_idempotent(s, "same-key", "b's request").await.unwrap(), service::IdempotencyStart::Run);
    // A role name is per organisation: b's `clerk` is b's own.
    let b_clerk = e.update_role(s, "clerk", &["sql.run".into(), "analytics.read".into()]).await.unwrap();
    assert_eq!(b_clerk.org_id, b.org.id);
    let a_roles = e.roles(&a.owner).await.unwrap();
    assert_eq!(a_roles.last().map(|r| r.permissions.names()), Some(vec!["task.complete".to_string()]));
    // a's API key and tokens do not open b's data, nor b's a's.
    let a_agent = e.authenticate_api_key(&a_key.secret).await.unwrap();
    not_found!(e.team(&a_agent, &b.team.id));
    not_found!(e.playbook(&a_agent, &pb.playbook.id));

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
    let audit = e.audit_entries(s, AuditFilter { limit: 1000, ..Default::default() }).await.unwrap();
    assert!(!audit.is_empty() && audit.iter().all(|x| x.org_id == b.org.id));
    let users = e.users(s).await.unwrap();
    assert_eq!(users.iter().map(|u| u.email.as_str()).collect::<Vec<_>>(), ["owner@beta.test", "sam@beta.test"]);
    assert!(e.login_locks(s).await.unwrap().is_empty());
    // Settings are per organisation: b's are untouched by a's, and b's change leaves a's.
    assert_eq!(e.organisation_settings(s).await.unwrap(), OrganisationSettings::default());
    assert_eq!(e.verify_audit(s).await.unwrap().org_id, b.org.id);
    assert!(e.api_keys(s, &b.team.id).await.unwrap().iter().all(|k| k.org_id == b.org.id));

    let b_settings = OrganisationSettings { week_start: Weekday::Sunday, ..Default::default() };
    e.update_organisation_settings(s, b_settings).await.unwrap();
    assert_eq!(e.organisation_settings(&a.owner).await.unwrap(), a_settings);

    // Nothing was written by any of the refused calls (b's own role and settings updates
    // excepted), and a's records and audit trail are intact.
    assert_eq!(h.all_changes().await.len(), before + 2);
    let a_audit_after =
        h.engine.audit_entries(&a.owner, AuditFilter { limit: 1000, ..Default::default() }).await.unwrap();
    assert_eq!(a_audit_after, a_audit_before);
    assert_eq!(h.engine.verify_audit(&a.owner).await.unwrap().broken, None);
    let comments = h.engine.instance(&a.owner, &ia.instance.id).await.unwrap().comments;
    assert_eq!((comments[0].body.as_str(), comments[0].edited_at), ("secret", None));
    assert_eq!(h.engine.playbook(&a.owner, &pa.playbook.id).await.unwrap().playbook.archived_at, None);
    assert!(h.engine.users(&a.owner).await.unwrap().iter().all(|u| u.deactivated_at.is_none()));
    let still = h.engine.task(&a.owner, &ta.id).await.unwrap();
    assert_eq!((still.status, still.revision), (TaskStatus::Open, 1));
}
