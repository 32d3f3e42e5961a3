use crate::conformance;
use crate::support::*;
use orgata_engine::*;

conformance!(teams_and_memberships, duplicate_names_are_refused);

async fn teams_and_memberships(h: Harness) {
    let w = World::new(&h, "acme").await;
    let ann = w.member(&h, "ann", "manager").await;
    let teams = h.engine.teams(&ann).await.unwrap();
    assert_eq!(teams.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), vec!["Ops"]);
    let members = h.engine.members(&w.owner, &w.team.id).await.unwrap();
    let mut roles: Vec<(String, String)> = members.iter().map(|m| (m.user_id.to_string(), m.role.clone())).collect();
    roles.sort();
    let mut expected =
        vec![(w.owner.user_id().to_string(), "owner".to_string()), (ann.user_id().to_string(), "manager".to_string())];
    expected.sort();
    assert_eq!(roles, expected);
    // A second team the member is not in stays invisible to them.
    let other = h.engine.create_team(&w.owner, "Finance").await.unwrap();
    assert!(matches!(h.engine.team(&ann, &other.id).await, Err(EngineError::NotFound { entity: "team", .. })));
    // A scope is a snapshot of the caller's teams; the creator sees the new team once refreshed.
    assert_eq!(h.engine.teams(&w.owner).await.unwrap().len(), 1);
    let owner = h.engine.refresh_scope(&w.owner).await.unwrap();
    assert_eq!(h.engine.teams(&owner).await.unwrap().len(), 2);
    assert_eq!(owner.grant(&other.id).map(|g| g.role.as_str()), Some("owner"));
}

async fn duplicate_names_are_refused(h: Harness) {
    let w = World::new(&h, "acme").await;
    let err = h.engine.create_team(&w.owner, "Ops").await.unwrap_err();
    assert!(matches!(err, EngineError::AlreadyExists { entity: "team", ref name } if name == "Ops"), "{err}");
    let again = Registration {
        organisation_name: "Again".into(),
        organisation_slug: "ACME".into(),
        team_name: "T".into(),
        email: "x@again.test".into(),
        display_name: "X".into(),
        password: OWNER_PASSWORD.into(),
    };
    let err = h.engine.register(again).await.unwrap_err();
    assert!(matches!(err, EngineError::AlreadyExists { entity: "organisation", .. }), "{err}");
    let dup = NewUser { email: "OWNER@acme.test".into(), display_name: "Dup".into(), ..Default::default() };
    let err = h.engine.create_user(&w.owner, dup).await.unwrap_err();
    assert!(matches!(err, EngineError::AlreadyExists { entity: "user", .. }), "{err}");
    let bad = NewUser { email: "not-an-email".into(), display_name: "X".into(), ..Default::default() };
    let err = h.engine.create_user(&w.owner, bad).await.unwrap_err();
    assert!(matches!(err, EngineError::Validation(ref p) if p[0].field == "email"), "{err}");
}
