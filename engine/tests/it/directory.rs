use crate::conformance;
use crate::support::*;
use orgata_engine::*;

conformance!(teams_and_memberships, duplicate_names_are_refused, passwords_verify);

async fn teams_and_memberships(h: Harness) {
    let w = World::new(&h, "acme").await;
    let ann = w.member(&h, "ann", "manager").await;
    let teams = h.engine.teams(&ann).await.unwrap();
    assert_eq!(teams.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), vec!["Ops"]);
    let members = h.engine.members(&w.owner, &w.team.id).await.unwrap();
    let mut roles: Vec<(String, String)> = members.iter().map(|m| (m.user_id.to_string(), m.role.clone())).collect();
    roles.sort();
    let mut expected =
        vec![(w.owner.user_id.to_string(), "owner".to_string()), (ann.user_id.to_string(), "manager".to_string())];
    expected.sort();
    assert_eq!(roles, expected);
    // A second team the member is not in stays invisible to them.
    let other = h.engine.create_team(&w.owner, "Finance").await.unwrap();
    assert!(matches!(h.engine.team(&ann, &other.id).await, Err(EngineError::NotFound { entity: "team", .. })));
    assert_eq!(h.engine.teams(&w.owner).await.unwrap().len(), 2);
}

async fn duplicate_names_are_refused(h: Harness) {
    let w = World::new(&h, "acme").await;
    let err = h.engine.create_team(&w.owner, "Ops").await.unwrap_err();
    assert!(matches!(err, EngineError::AlreadyExists { entity: "team", ref name } if name == "Ops"), "{err}");
    let err = h.engine.create_organisation("Again", "acme").await.unwrap_err();
    assert!(matches!(err, EngineError::AlreadyExists { entity: "organisation", .. }), "{err}");
    let err = h.engine.create_user(&w.org.id, "OWNER@acme.test", "Dup", None).await.unwrap_err();
    assert!(matches!(err, EngineError::AlreadyExists { entity: "user", .. }), "{err}");
    let err = h.engine.create_user(&w.org.id, "not-an-email", "X", None).await.unwrap_err();
    assert!(matches!(err, EngineError::Validation(ref p) if p[0].field == "email"), "{err}");
}

async fn passwords_verify(h: Harness) {
    let org = h.engine.create_organisation("P", "p").await.unwrap();
    let u = h.engine.create_user(&org.id, "a@p.test", "A", Some("correct horse battery")).await.unwrap();
    assert!(h.engine.verify_password(&u.id, "correct horse battery").await.unwrap());
    assert!(!h.engine.verify_password(&u.id, "wrong password").await.unwrap());
    let short = h.engine.create_user(&org.id, "b@p.test", "B", Some("short")).await.unwrap_err();
    assert!(matches!(short, EngineError::Validation(ref p) if p[0].field == "password"));
}
