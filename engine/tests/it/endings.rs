//! The ends of records' lives — archiving and deleting playbooks, deleting teams, removing people
//! from the organisation, editing and deleting comments — and the organisation's settings.

use crate::conformance;
use crate::support::*;
use orgata_engine::*;
use serde_json::json;

conformance!(
    playbooks_are_archived_restored_and_deleted_when_unused,
    only_teams_without_playbooks_are_deleted,
    people_removed_from_the_organisation_cannot_sign_in,
    comments_are_edited_by_their_authors_and_deleted_by_them_or_managers,
    organisation_settings_have_defaults_are_checked_and_audited,
    a_playbook_deleted_while_a_process_starts_on_it_is_a_conflict,
    an_assignment_waits_for_the_removal_of_its_assignee,
);

/// The entity and op of every change event after the first `skip`.
async fn changes_after(h: &Harness, skip: usize) -> Vec<(String, String)> {
    h.all_changes().await.into_iter().skip(skip).map(|c| (c.entity, c.op)).collect()
}

/// The actions of the organisation's audit trail, oldest first.
async fn audit_actions(h: &Harness, scope: &Scope) -> Vec<String> {
    let entries = h.engine.audit_entries(scope, AuditFilter { limit: 1000, ..Default::default() }).await.unwrap();
    entries.into_iter().map(|e| e.action).collect()
}

fn transition<T: std::fmt::Debug>(r: Result<T>) -> (String, String) {
    match r {
        Err(EngineError::InvalidTransition { action, state, .. }) => (action.to_string(), state),
        other => panic!("expected an invalid transition, got {other:?}"),
    }
}

fn forbidden<T: std::fmt::Debug>(r: Result<T>) {
    assert!(matches!(r, Err(EngineError::Forbidden(_))), "expected forbidden, got {r:?}");
}

async fn playbooks_are_archived_restored_and_deleted_when_unused(h: Harness) {
    let w = World::new(&h, "acme").await;
    let e = &h.engine;
    let used = w.playbook(&h, "Purchase", purchase_definition()).await;
    w.start(&h, &used.playbook.id, json!({"amount": 5})).await;
    let member = w.member(&h, "mia", "member").await;
    let id = &used.playbook.id;

    // Archiving needs `playbook.publish`, which a member lacks.
    forbidden(e.archive_playbook(&member, id).await);
    let before = h.all_changes().await.len();
    let archived = e.archive_playbook(&w.owner, id).await.unwrap();
    assert_eq!(archived.archived_at, Some(h.clock.now()));
    assert_eq!(changes_after(&h, before).await, [("playbook".to_string(), "update".to_string())]);
    assert_eq!(e.playbook(&w.owner, id).await.unwrap().playbook.archived_at, Some(h.clock.now()));
    let start = StartInstance { playbook_id: id.clone(), branch: None, title: None, input: json!({"amount": 1}) };
    assert_eq!(
        transition(e.start_instance(&w.owner, start.clone()).await),
        ("start a process of".into(), "archived".into())
    );
    assert_eq!(transition(e.archive_playbook(&w.owner, id).await), ("archive".into(), "archived".into()));
    // A playbook processes ran on is never deleted: its history keeps its definition.
    assert_eq!(
        transition(e.delete_playbook(&w.owner, id).await),
        ("delete".into(), "the definition of 1 process (archive it instead)".into())
    );
    h.advance(5);
    let restored = e.restore_playbook(&w.owner, id).await.unwrap();
    assert_eq!(restored.archived_at, None);
    assert_eq!(transition(e.restore_playbook(&w.owner, id).await), ("restore".into(), "not archived".into()));
    assert_eq!(e.start_instance(&w.owner, start).await.unwrap().instance.status, InstanceStatus::Running);

    // An unused playbook goes with its branches and versions, and its name is free again.
    let draft = w.playbook(&h, "Draft", three_steps("member")).await;
    e.commit_version(&w.owner, &draft.playbook.id, "main", three_steps("owner"), "second", None).await.unwrap();
    forbidden(e.delete_playbook(&member, &draft.playbook.id).await);
    let before = h.all_changes().await.len();
    e.delete_playbook(&w.owner, &draft.playbook.id).await.unwrap();
    let deleted: Vec<(String, String)> = ["branch", "playbook_version", "playbook_version", "playbook"]
        .iter()
        .map(|e| (e.to_string(), "delete".into()))
        .collect();
    assert_eq!(changes_after(&h, before).await, deleted);
    assert!(matches!(e.playbook(&w.owner, &draft.playbook.id).await, Err(EngineError::NotFound { .. })));
    assert!(matches!(e.versions(&w.owner, &draft.playbook.id).await, Err(EngineError::NotFound { .. })));
    assert!(matches!(e.version(&w.owner, &draft.head.id).await, Err(EngineError::NotFound { .. })));
    let names: Vec<String> = e.playbooks(&w.owner, None).await.unwrap().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["Purchase"]);
    w.playbook(&h, "Draft", three_steps("member")).await;

    let actions = audit_actions(&h, &w.owner).await;
    let ends: Vec<&str> = actions.iter().map(String::as_str).filter(|a| a.starts_with("playbook.")).collect();
    assert_eq!(
        ends,
        [
            "playbook.create",
            "playbook.archive",
            "playbook.restore",
            "playbook.create",
            "playbook.commit",
            "playbook.delete",
            "playbook.create"
        ]
    );
}

async fn only_teams_without_playbooks_are_deleted(h: Harness) {
    let w = World::new(&h, "acme").await;
    let e = &h.engine;
    w.playbook(&h, "Purchase", purchase_definition()).await;
    let spare = e.create_team(&w.owner, "Spare").await.unwrap();
    let owner = e.refresh_scope(&w.owner).await.unwrap();
    let mia = w.member(&h, "mia", "member").await;
    e.add_member(&owner, &spare.id, mia.user_id(), "admin").await.unwrap();
    let key = e.create_api_key(&owner, &spare.id, "agent", None, None).await.unwrap();
    let mia = e.refresh_scope(&mia).await.unwrap();

    // Mia manages the team but is no organisation admin; the Ops team still holds a playbook.
    forbidden(e.delete_team(&mia, &spare.id).await);
    assert_eq!(transition(e.delete_team(&owner, &w.team.id).await), ("delete".into(), "the home of 1 playbook".into()));

    let before = h.all_changes().await.len();
    e.delete_team(&owner, &spare.id).await.unwrap();
    let changes = changes_after(&h, before).await;
    let expected: Vec<(String, String)> = [("membership", "delete"), ("membership", "delete"), ("team", "delete")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(changes, expected);
    let owner = e.refresh_scope(&owner).await.unwrap();
    assert_eq!(e.teams(&owner).await.unwrap().into_iter().map(|t| t.name).collect::<Vec<_>>(), ["Ops"]);
    assert!(matches!(e.authenticate_api_key(&key.secret).await, Err(EngineError::Unauthenticated(_))));
    assert!(matches!(e.delete_team(&owner, &spare.id).await, Err(EngineError::NotFound { .. })));
    // The organisation's trail keeps what happened to it.
    assert_eq!(audit_actions(&h, &owner).await.last().map(String::as_str), Some("team.delete"));
}

async fn people_removed_from_the_organisation_cannot_sign_in(h: Harness) {
    let w = World::new(&h, "acme").await;
    let e = &h.engine;
    let password = "correct horse battery";
    let new = NewUser {
        email: "sam@acme.test".into(),
        display_name: "Sam".into(),
        password: Some(password.into()),
        ..Default::default()
    };
    let sam = e.create_user(&w.owner, new).await.unwrap();
    e.add_member(&w.owner, &w.team.id, &sam.id, "member").await.unwrap();
    let session = h.sign_in("acme", "sam@acme.test", password).await;
    let sam_scope = e.authenticate(&session.access_token).await.unwrap();
    let key = e.create_api_key(&sam_scope, &w.team.id, "sam's agent", None, None).await.unwrap();
    let p = w.playbook(&h, "Chores", three_steps("member")).await;
    let i = w.start(&h, &p.playbook.id, json!({})).await;
    let task = e.assign_task(&w.owner, &i.tasks[0].id, &sam.id, None).await.unwrap();

    // Not by a plain member; not while work is left with them.
    forbidden(e.remove_user(&sam_scope, w.owner.user_id()).await);
    assert_eq!(
        transition(e.remove_user(&w.owner, &sam.id).await),
        ("remove".into(), "assigned 1 unfinished task (reassign it first)".into())
    );
    e.assign_task(&w.owner, &task.id, w.owner.user_id(), None).await.unwrap();
    h.advance(1);
    let removed = e.remove_user(&w.owner, &sam.id).await.unwrap();
    assert_eq!(removed.deactivated_at, Some(h.clock.now()));

    // No way in is left: password, refresh token, access token, API key.
    let login = Login {
        organisation: "acme".into(),
        email: "sam@acme.test".into(),
        password: password.into(),
        ..Default::default()
    };
    assert!(matches!(e.login(login).await, Err(EngineError::Unauthenticated(_))));
    assert!(matches!(e.refresh(&session.refresh_token, None).await, Err(EngineError::Unauthenticated(_))));
    assert!(matches!(e.authenticate(&session.access_token).await, Err(EngineError::Unauthenticated(_))));
    assert!(matches!(e.authenticate_api_key(&key.secret).await, Err(EngineError::Unauthenticated(_))));
    // They left the team; the organisation still knows who they were.
    let members: Vec<UserId> = e.members(&w.owner, &w.team.id).await.unwrap().into_iter().map(|m| m.user_id).collect();
    assert_eq!(members, [w.owner.user_id().clone()]);
    let listed = e.users(&w.owner).await.unwrap();
    let sam_listed = listed.iter().find(|u| u.id == sam.id).unwrap();
    assert_eq!((sam_listed.display_name.as_str(), sam_listed.deactivated_at), ("Sam", Some(h.clock.now())));
    assert!(matches!(e.remove_user(&w.owner, &sam.id).await, Err(EngineError::NotFound { .. })));

    // The organisation keeps an owner, and only an owner removes one.
    assert_eq!(
        transition(e.remove_user(&w.owner, w.owner.user_id()).await),
        ("remove".into(), "the organisation's only owner".into())
    );
    let ada = w.person(&h, "Ada", OrgRole::Admin).await;
    let ada = e.trusted_scope(&ada.id).await.unwrap();
    forbidden(e.remove_user(&ada, w.owner.user_id()).await);
    let actions = audit_actions(&h, &w.owner).await;
    assert_eq!(actions.iter().filter(|a| *a == "user.remove").count(), 1);
    // A removed owner no longer counts as one: the last owner left cannot step down, and the
    // removed one's role is not theirs to change any more.
    let olga = w.person(&h, "Olga", OrgRole::Owner).await;
    e.remove_user(&w.owner, &olga.id).await.unwrap();
    assert_eq!(
        transition(e.set_org_role(&w.owner, w.owner.user_id(), OrgRole::Admin).await),
        ("demote".into(), "the organisation's only owner".into())
    );
    assert!(matches!(e.set_org_role(&w.owner, &olga.id, OrgRole::Member).await, Err(EngineError::NotFound { .. })));
}

async fn comments_are_edited_by_their_authors_and_deleted_by_them_or_managers(h: Harness) {
    let w = World::new(&h, "acme").await;
    let e = &h.engine;
    let p = w.playbook(&h, "Chores", three_steps("member")).await;
    let i = w.start(&h, &p.playbook.id, json!({})).await;
    let mia = w.member(&h, "mia", "member").await;
    let mine = e.add_comment(&mia, &i.instance.id, None, "frist").await.unwrap();
    let owners = e.add_comment(&w.owner, &i.instance.id, None, "Welcome").await.unwrap();

    forbidden(e.edit_comment(&w.owner, &mine.id, "rewritten").await);
    assert!(matches!(e.edit_comment(&mia, &mine.id, "   ").await, Err(EngineError::Validation(_))));
    h.advance(2);
    let edited = e.edit_comment(&mia, &mine.id, "  first  ").await.unwrap();
    assert_eq!(
        (edited.body.as_str(), edited.edited_at, edited.created_at),
        ("first", Some(h.clock.now()), mine.created_at)
    );
    // The same text again changes nothing.
    let before = h.all_changes().await.len();
    assert_eq!(e.edit_comment(&mia, &mine.id, "first").await.unwrap(), edited);
    assert_eq!(h.all_changes().await.len(), before);

    // Mia may not delete the owner's comment (no `team.manage`); the owner may delete hers.
    forbidden(e.delete_comment(&mia, &owners.id).await);
    e.delete_comment(&w.owner, &mine.id).await.unwrap();
    assert_eq!(changes_after(&h, before).await, [("comment".to_string(), "delete".to_string())]);
    let left: Vec<String> =
        e.instance(&w.owner, &i.instance.id).await.unwrap().comments.into_iter().map(|c| c.body).collect();
    assert_eq!(left, ["Welcome"]);
    assert!(matches!(e.edit_comment(&mia, &mine.id, "again").await, Err(EngineError::NotFound { .. })));
    let actions = audit_actions(&h, &w.owner).await;
    let comments: Vec<&str> = actions.iter().map(String::as_str).filter(|a| a.starts_with("comment.")).collect();
    assert_eq!(comments, ["comment.create", "comment.create", "comment.edit", "comment.delete"]);
}

async fn organisation_settings_have_defaults_are_checked_and_audited(h: Harness) {
    let w = World::new(&h, "acme").await;
    let e = &h.engine;
    let defaults = e.organisation_settings(&w.owner).await.unwrap();
    assert_eq!(defaults, OrganisationSettings::default());
    assert_eq!(
        serde_json::to_value(&defaults).unwrap(),
        json!({"time_zone": "UTC", "working_days": ["monday", "tuesday", "wednesday", "thursday", "friday"],
               "workday_start": "09:00", "workday_end": "17:00", "week_start": "monday"})
    );
    let mia = w.member(&h, "mia", "member").await;
    forbidden(e.update_organisation_settings(&mia, defaults.clone()).await);

    let wrong = OrganisationSettings {
        time_zone: "Mars/Olympus".into(),
        working_days: vec![],
        workday_start: "18:00".into(),
        workday_end: "09:00".into(),
        week_start: Weekday::Sunday,
    };
    match e.update_organisation_settings(&w.owner, wrong).await {
        Err(EngineError::Validation(problems)) => {
            let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
            assert_eq!(fields, ["time_zone", "working_days", "workday_end"]);
        }
        other => panic!("expected invalid settings, got {other:?}"),
    }
    let bad_time = OrganisationSettings { workday_start: "9am".into(), ..Default::default() };
    match e.update_organisation_settings(&w.owner, bad_time).await {
        Err(EngineError::Validation(problems)) => assert_eq!(
            problems.iter().map(|p| (p.field.as_str(), p.message.as_str())).collect::<Vec<_>>(),
            [("workday_start", "must be a time of day as HH:MM, like 09:00")]
        ),
        other => panic!("expected an invalid time, got {other:?}"),
    }

    let berlin = OrganisationSettings {
        time_zone: " Europe/Berlin ".into(),
        working_days: vec![Weekday::Saturday, Weekday::Monday, Weekday::Monday],
        workday_start: "8:30".into(),
        workday_end: "16:45".into(),
        week_start: Weekday::Sunday,
    };
    let saved = e.update_organisation_settings(&w.owner, berlin).await.unwrap();
    let expected = OrganisationSettings {
        time_zone: "Europe/Berlin".into(),
        working_days: vec![Weekday::Monday, Weekday::Saturday],
        workday_start: "08:30".into(),
        workday_end: "16:45".into(),
        week_start: Weekday::Sunday,
    };
    assert_eq!(saved, expected);
    assert_eq!(e.organisation_settings(&mia).await.unwrap(), expected);
    let entries = e.audit_entries(&w.owner, AuditFilter { limit: 1000, ..Default::default() }).await.unwrap();
    let entry = entries.iter().find(|x| x.action == "organisation.settings").unwrap();
    assert_eq!(entry.detail["from"]["time_zone"], "UTC");
    assert_eq!(entry.detail["to"]["working_days"], json!(["monday", "saturday"]));
    // Saving what is already there writes nothing.
    let before = h.all_changes().await.len();
    e.update_organisation_settings(&w.owner, expected).await.unwrap();
    assert_eq!(h.all_changes().await.len(), before);
}

/// A process that starts on a playbook while it is deleted: whichever commits second is refused
/// as a conflict (the foreign key speaks), not as a storage failure. PostgreSQL only: SQLite's one
/// writer never lets the two interleave.
async fn a_playbook_deleted_while_a_process_starts_on_it_is_a_conflict(h: Harness) {
    if h.store.backend() == Backend::Sqlite {
        return;
    }
    let w = World::new(&h, "acme").await;
    let p = w.playbook(&h, "Chores", three_steps("owner")).await;
    let now = h.clock.now();
    // The start, begun before the deletion and committed after it.
    let mut starting = h.store.begin_write(now).await.unwrap();
    let instance = Instance {
        id: InstanceId::generate(),
        team_id: w.team.id.clone(),
        playbook_id: p.playbook.id.clone(),
        version_id: p.head.id.clone(),
        title: "Racing".into(),
        status: InstanceStatus::Running,
        outcome: None,
        data: json!({"input": {}, "steps": {}}),
        started_by: w.owner.user_id().clone(),
        started_at: now,
        ended_at: None,
        revision: 1,
    };
    starting.insert_instance(&instance).await.unwrap();
    h.engine.delete_playbook(&w.owner, &p.playbook.id).await.unwrap();
    let committed = starting.commit().await;
    assert!(matches!(committed, Err(EngineError::ChangedMeanwhile)), "{committed:?}");
    assert!(h.engine.instances(&w.owner, InstanceFilter::default()).await.unwrap().is_empty());
}

/// An assignment to someone being removed from the organisation waits for the removal and then
/// finds no member, instead of leaving a task with a person who can no longer sign in.
/// PostgreSQL only, as above.
async fn an_assignment_waits_for_the_removal_of_its_assignee(h: Harness) {
    if h.store.backend() == Backend::Sqlite {
        return;
    }
    let w = World::new(&h, "acme").await;
    let sam = w.member(&h, "sam", "member").await;
    let p = w.playbook(&h, "Chores", three_steps("owner")).await;
    let task = w.start(&h, &p.playbook.id, json!({})).await.tasks[0].id.clone();
    // A removal in progress: it holds the person's lock and has taken them out of the team.
    let mut removing = h.store.begin_write(h.clock.now()).await.unwrap();
    removing.lock(sam.user_id().as_str()).await.unwrap();
    let membership = h.engine.members(&w.owner, &w.team.id).await.unwrap();
    let sams = membership.iter().find(|m| &m.user_id == sam.user_id()).unwrap();
    removing.delete_membership(sams).await.unwrap();
    // Without waiting, the assignment would read the membership the removal has not committed
    // yet gone, and succeed.
    let assigning = h.engine.assign_task(&w.owner, &task, sam.user_id(), None);
    let committing = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        removing.commit().await
    };
    let (assigned, committed) = tokio::join!(assigning, committing);
    committed.unwrap();
    assert!(matches!(assigned, Err(EngineError::NotFound { entity: "user", .. })), "{assigned:?}");
}
