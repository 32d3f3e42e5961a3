//! Roles and permissions, checked in the engine whatever the interface.

use crate::conformance;
use crate::support::*;
use orgata_engine::*;
use serde_json::json;

conformance!(permissions_follow_roles, custom_roles_and_owner_rules);

fn forbidden<T: std::fmt::Debug>(r: Result<T>) -> String {
    match r {
        Err(EngineError::Forbidden(why)) => why,
        other => panic!("expected forbidden, got {other:?}"),
    }
}

async fn permissions_follow_roles(h: Harness) {
    let w = World::new(&h, "acme").await;
    let pb = w.playbook(&h, "Review", three_steps("member")).await;
    let viewer = w.member(&h, "vic", "viewer").await;
    let member = w.member(&h, "mia", "member").await;
    let start = StartInstance { playbook_id: pb.playbook.id.clone(), branch: None, title: None, input: json!({}) };

    // A viewer reads everything in the team and changes nothing.
    assert_eq!(h.engine.playbooks(&viewer, None).await.unwrap().len(), 1);
    assert_eq!(
        forbidden(h.engine.start_instance(&viewer, start.clone()).await),
        "role `viewer` lacks the permission `process.start` in this team"
    );
    let running = h.engine.start_instance(&member, start).await.unwrap();
    let task = running.tasks[0].id.clone();
    assert_eq!(h.engine.task(&viewer, &task).await.unwrap().id, task);
    assert_eq!(
        forbidden(h.engine.claim_task(&viewer, &task, None).await),
        "role `viewer` lacks the permission `task.complete` in this team"
    );
    assert_eq!(
        forbidden(h.engine.add_comment(&viewer, &running.instance.id, None, "hi").await),
        "role `viewer` lacks the permission `process.comment` in this team"
    );
    assert_eq!(
        forbidden(h.engine.create_playbook(&viewer, &w.team.id, "Mine", three_steps("member"), "").await),
        "role `viewer` lacks the permission `playbook.edit` in this team"
    );
    // A member works and edits drafts, but neither publishes, cancels nor manages members.
    h.engine.claim_task(&member, &task, None).await.unwrap();
    h.engine.create_branch(&member, &pb.playbook.id, "draft", None).await.unwrap();
    h.engine.commit_version(&member, &pb.playbook.id, "draft", three_steps("viewer"), "try", None).await.unwrap();
    assert_eq!(
        forbidden(h.engine.commit_version(&member, &pb.playbook.id, "main", three_steps("viewer"), "", None).await),
        "role `member` lacks the permission `playbook.publish` in this team"
    );
    assert_eq!(
        forbidden(h.engine.cancel_instance(&member, &running.instance.id, None, "no").await),
        "role `member` lacks the permission `process.cancel` in this team"
    );
    assert_eq!(
        forbidden(h.engine.add_member(&member, &w.team.id, viewer.user_id(), "member").await),
        "role `member` lacks the permission `members.manage` in this team"
    );
    assert_eq!(
        forbidden(h.engine.rename_team(&member, &w.team.id, "Mine").await),
        "role `member` lacks the permission `team.manage` in this team"
    );
    // Organisation management needs an organisation owner or admin.
    assert_eq!(forbidden(h.engine.create_team(&member, "New").await), "this needs an organisation owner or admin");
    assert_eq!(
        forbidden(h.engine.create_role(&member, "auditor", &["audit.read".into()]).await),
        "this needs an organisation owner or admin"
    );
    let new = NewUser { email: "x@acme.test".into(), display_name: "X".into(), ..Default::default() };
    assert_eq!(forbidden(h.engine.create_user(&member, new).await), "this needs an organisation owner or admin");
    assert_eq!(forbidden(h.engine.verify_audit(&member).await), "this needs an organisation owner or admin");
    // The audit trail needs `audit.read`: a member sees none of the team's entries.
    assert!(h.engine.audit_entries(&member, AuditFilter::default()).await.unwrap().is_empty());
    assert!(!h.engine.audit_entries(&w.owner, AuditFilter::default()).await.unwrap().is_empty());
    // Nothing refused left a trace.
    let instance = h.engine.instance(&w.owner, &running.instance.id).await.unwrap();
    assert_eq!((instance.instance.status, instance.comments.len()), (InstanceStatus::Running, 0));
}

async fn custom_roles_and_owner_rules(h: Harness) {
    let w = World::new(&h, "acme").await;
    // A custom role: its permissions are exactly what it grants.
    let auditor =
        h.engine.create_role(&w.owner, "auditor", &["audit.read".into(), "analytics.read".into()]).await.unwrap();
    assert_eq!(auditor.permissions.names(), ["analytics.read", "audit.read"]);
    let err = h.engine.create_role(&w.owner, "admin", &[]).await.unwrap_err();
    assert_eq!(err.to_string(), "role `admin` already exists");
    let err = h.engine.create_role(&w.owner, "Legal Team", &[]).await.unwrap_err();
    assert_eq!(err.to_string(), "invalid input: name: must be 1-50 of a-z, 0-9, `-` and `_`");
    let err = h.engine.add_member(&w.owner, &w.team.id, w.owner.user_id(), "ghost").await.unwrap_err();
    assert_eq!(err.to_string(), "invalid input: role: no role `ghost` in this organisation");
    let ada = w.member(&h, "ada", "auditor").await;
    assert_eq!(ada.grant(&w.team.id).unwrap().permissions.names(), ["analytics.read", "audit.read"]);
    // The team's entries only: organisation-wide ones (registration, roles, users) are for admins.
    let seen = h.engine.audit_entries(&ada, AuditFilter::default()).await.unwrap();
    assert_eq!(seen.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["team.add_member"]);
    let roles = h.engine.roles(&w.owner).await.unwrap();
    assert_eq!(
        roles.iter().map(|r| (r.name.as_str(), r.builtin)).collect::<Vec<_>>(),
        [("owner", true), ("admin", true), ("member", true), ("viewer", true), ("auditor", false)]
    );
    // Changing a role changes what its holders may do from their next scope on.
    h.engine.update_role(&w.owner, "auditor", &["analytics.read".into()]).await.unwrap();
    let ada = h.engine.refresh_scope(&ada).await.unwrap();
    assert!(h.engine.audit_entries(&ada, AuditFilter::default()).await.unwrap().is_empty());
    let err = h.engine.delete_role(&w.owner, "auditor").await.unwrap_err();
    assert_eq!(err.to_string(), "cannot delete role `auditor`: it is held by 1 membership(s)");

    // Owners: only an owner grants the role, and a team keeps one.
    let admin = w.member(&h, "adam", "admin").await;
    let err = h.engine.change_member_role(&admin, &w.team.id, ada.user_id(), "owner").await.unwrap_err();
    assert_eq!(err.to_string(), "not allowed: only a team owner grants or takes away the owner role");
    let err = h.engine.change_member_role(&admin, &w.team.id, w.owner.user_id(), "member").await.unwrap_err();
    assert_eq!(err.to_string(), "not allowed: only a team owner grants or takes away the owner role");
    h.engine.change_member_role(&admin, &w.team.id, ada.user_id(), "viewer").await.unwrap();
    let err = h.engine.remove_member(&w.owner, &w.team.id, w.owner.user_id()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot remove its last owner from team `{}`: it is left with one owner".replace("{}", w.team.id.as_str())
    );
    h.engine.change_member_role(&w.owner, &w.team.id, admin.user_id(), "owner").await.unwrap();
    h.engine.remove_member(&w.owner, &w.team.id, w.owner.user_id()).await.unwrap();
    h.engine.delete_role(&w.owner, "auditor").await.unwrap();
    let members = h.engine.members(&admin, &w.team.id).await.unwrap();
    let mut roles: Vec<&str> = members.iter().map(|m| m.role.as_str()).collect();
    roles.sort();
    assert_eq!(roles, ["owner", "viewer"]);
    // Organisation roles: only owners change them, and an organisation keeps an owner.
    let err = h.engine.set_org_role(&w.owner, w.owner.user_id(), OrgRole::Member).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("cannot demote user `{}`: it is the organisation's only owner", w.owner.user_id())
    );
    let promoted = h.engine.set_org_role(&w.owner, ada.user_id(), OrgRole::Admin).await.unwrap();
    assert_eq!(promoted.org_role, OrgRole::Admin);
    let ada = h.engine.refresh_scope(&ada).await.unwrap();
    h.engine.create_team(&ada, "Audit").await.unwrap();
}
