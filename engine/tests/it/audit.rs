//! The audit trail: who did what, from where, chained so that tampering shows.

use crate::conformance;
use crate::support::*;
use orgata_engine::audit::Break;
use orgata_engine::*;
use serde_json::json;

conformance!(audit_entries_filter_and_attribute, tampering_breaks_the_chain_at_the_row);

async fn audit_entries_filter_and_attribute(h: Harness) {
    let w = World::new(&h, "acme").await;
    let pb = w.playbook(&h, "Purchase", purchase_definition()).await;
    h.advance(10);
    let bob = w.member(&h, "bob", "member").await.with_source("10.1.2.3");
    let start =
        StartInstance { playbook_id: pb.playbook.id.clone(), branch: None, title: None, input: json!({"amount": 1}) };
    let i = h.engine.start_instance(&bob, start).await.unwrap();

    let all = h.engine.audit_entries(&w.owner, AuditFilter::default()).await.unwrap();
    assert_eq!(
        all.iter().map(|e| (e.seq, e.action.as_str())).collect::<Vec<_>>(),
        [
            (1, "organisation.register"),
            (2, "playbook.create"),
            (3, "user.create"),
            (4, "team.add_member"),
            (5, "instance.start")
        ]
    );
    // Each entry links to the one before it.
    assert!(all.windows(2).all(|p| p[1].prev_hash == p[0].hash) && all[0].prev_hash.is_empty());
    let by_bob = AuditFilter { actor_id: Some(bob.user_id().clone()), ..Default::default() };
    let by_bob = h.engine.audit_entries(&w.owner, by_bob).await.unwrap();
    assert_eq!(by_bob.len(), 1);
    assert_eq!(
        (by_bob[0].entity.as_str(), by_bob[0].entity_id.as_str(), by_bob[0].source.as_deref()),
        ("instance", i.instance.id.as_str(), Some("10.1.2.3"))
    );
    assert_eq!(by_bob[0].team_id.as_ref(), Some(&w.team.id));
    let since = AuditFilter { since: Some(t0() + chrono::Duration::minutes(10)), ..Default::default() };
    assert_eq!(h.engine.audit_entries(&w.owner, since).await.unwrap().len(), 3);
    let until = AuditFilter { until: Some(t0() + chrono::Duration::minutes(10)), ..Default::default() };
    assert_eq!(h.engine.audit_entries(&w.owner, until).await.unwrap().len(), 2);
    let action = AuditFilter { action: Some("playbook.create".into()), ..Default::default() };
    assert_eq!(h.engine.audit_entries(&w.owner, action).await.unwrap()[0].entity_id, pb.playbook.id.to_string());
    let page = AuditFilter { after: Some(all[3].id), limit: 1, ..Default::default() };
    assert_eq!(h.engine.audit_entries(&w.owner, page).await.unwrap()[0].seq, 5);
    let ok = h.engine.verify_audit(&w.owner).await.unwrap();
    assert_eq!((ok.verified, ok.broken), (5, None));
}

async fn tampering_breaks_the_chain_at_the_row(h: Harness) {
    let w = World::new(&h, "acme").await;
    for name in ["A", "B", "C", "D"] {
        w.playbook(&h, name, three_steps("member")).await;
    }
    // Another organisation's chain is separate and stays intact throughout.
    let other = World::new(&h, "other").await;
    let verify = |s: Scope| {
        let e = &h.engine;
        async move { e.verify_audit(&s).await.unwrap() }
    };
    assert_eq!(verify(w.owner.clone()).await.verified, 5);

    // Someone with database access edits entry 3's detail.
    h.execute_raw(
        "UPDATE audit_log SET detail = '{\"name\":\"Z\"}' WHERE seq = 3 AND org_id = (SELECT id FROM organisations WHERE slug = 'acme')",
    )
    .await;
    let broken = verify(w.owner.clone()).await;
    assert_eq!(
        (broken.verified, broken.broken.clone()),
        (2, Some(Break::Altered { seq: 3, id: entry_id(&h, &w, 3).await }))
    );

    // … or removes entry 4 (after 3 is put back as it was, by re-hashing it — which breaks 4's link).
    h.execute_raw(
        "DELETE FROM audit_log WHERE seq = 4 AND org_id = (SELECT id FROM organisations WHERE slug = 'acme')",
    )
    .await;
    let five = entry_id(&h, &w, 5).await;
    let broken = verify(w.owner.clone()).await;
    assert_eq!(broken.broken, Some(Break::Altered { seq: 3, id: entry_id(&h, &w, 3).await }));
    h.execute_raw(
        "DELETE FROM audit_log WHERE seq = 3 AND org_id = (SELECT id FROM organisations WHERE slug = 'acme')",
    )
    .await;
    let broken = verify(w.owner.clone()).await;
    assert_eq!(broken.broken, Some(Break::Missing { expected_seq: 3, found_seq: 5, id: five }));
    assert_eq!(verify(other.owner.clone()).await.broken, None);

    // Removing the newest entries is caught against the chain's head.
    let third = World::new(&h, "third").await;
    w.playbook(&h, "E", three_steps("member")).await;
    third.playbook(&h, "E", three_steps("member")).await;
    h.execute_raw(
        "DELETE FROM audit_log WHERE seq = 2 AND org_id = (SELECT id FROM organisations WHERE slug = 'third')",
    )
    .await;
    let truncated = verify(third.owner.clone()).await;
    assert_eq!((truncated.verified, truncated.broken), (1, Some(Break::Truncated { last_seq: 1, head_seq: 2 })));
}

/// The row id of an organisation's `seq`-th audit entry.
async fn entry_id(h: &Harness, w: &World, seq: i64) -> i64 {
    let all = h.engine.audit_entries(&w.owner, AuditFilter { limit: 1000, ..Default::default() }).await.unwrap();
    all.iter().find(|e| e.seq == seq).map(|e| e.id).unwrap_or(-1)
}
