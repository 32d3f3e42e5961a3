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
        all.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["organisation.register", "playbook.create", "user.create", "team.add_member", "instance.start"]
    );
    // Within each chain, entries count from 1 and each links to the one before it.
    assert_chains_link(&all);
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
    assert_eq!(h.engine.audit_entries(&w.owner, page).await.unwrap()[0].action, "instance.start");
    let ok = h.engine.verify_audit(&w.owner).await.unwrap();
    assert_eq!((ok.verified, ok.broken), (5, None));
}

async fn tampering_breaks_the_chain_at_the_row(h: Harness) {
    let w = World::new(&h, "acme").await;
    // More than twice as many entries as there are chains (64 on PostgreSQL), so that some chain
    // holds at least three.
    for n in 0..130 {
        w.playbook(&h, &format!("P{n}"), three_steps("member")).await;
    }
    // Another organisation's chains are separate and stay intact throughout.
    let other = World::new(&h, "other").await;
    let verify = |s: Scope| {
        let e = &h.engine;
        async move { e.verify_audit(&s).await.unwrap() }
    };
    assert_eq!(
        verify(w.owner.clone()).await,
        AuditVerification { org_id: w.org.id.clone(), verified: 131, broken: None }
    );
    let entries = all_entries(&h, &w).await;
    assert_chains_link(&entries);
    // A chain with at least three entries: its first, second and last are the targets.
    let chain =
        entries.iter().map(|e| e.chain).find(|c| entries.iter().filter(|e| e.chain == *c).count() >= 3).unwrap();
    let links: Vec<&AuditEntry> = entries.iter().filter(|e| e.chain == chain).collect();
    let (first, second, last) = (links[0].clone(), links[1].clone(), links[links.len() - 1].clone());

    // The trail is append-only in the database itself.
    let update = leak(format!("UPDATE audit_log SET action = 'x' WHERE id = {}", second.id));
    assert!(h.try_execute_raw(update).await.unwrap_err().contains("audit_log is append-only"));
    let delete = leak(format!("DELETE FROM audit_log WHERE id = {}", second.id));
    assert!(h.try_execute_raw(delete).await.unwrap_err().contains("audit_log is append-only"));
    assert_eq!(verify(w.owner.clone()).await.broken, None);

    // Someone with the database owner's rights lifts that, then edits an entry's detail: verify
    // points at that row.
    h.lift_audit_protection().await;
    h.execute_raw(leak(format!("UPDATE audit_log SET detail = '{{\"name\":\"Z\"}}' WHERE id = {}", second.id))).await;
    let broken = verify(w.owner.clone()).await.broken;
    assert_eq!(broken, Some(Break::Altered { chain, seq: second.seq, id: second.id }));
    assert_eq!(
        broken.unwrap().to_string(),
        format!("row {} (entry 2 of chain {chain}) was altered: its content no longer matches its hash", second.id)
    );
    // … or removes entries: the gap is reported before the next surviving one.
    h.execute_raw(leak(format!("DELETE FROM audit_log WHERE id IN ({}, {})", first.id, second.id))).await;
    let broken = verify(w.owner.clone()).await.broken;
    let third = links[2];
    assert_eq!(broken, Some(Break::Missing { chain, expected_seq: 1, found_seq: 3, id: third.id }));
    // … or the newest: the chain ends before its head.
    h.execute_raw(leak(format!(
        "DELETE FROM audit_log WHERE chain = {chain} AND seq >= 3 AND org_id = '{}'",
        w.org.id
    )))
    .await;
    let broken = verify(w.owner.clone()).await.broken;
    assert_eq!(broken, Some(Break::Truncated { chain, last_seq: 0, head_seq: last.seq }));
    assert_eq!(verify(other.owner.clone()).await.broken, None);
}

/// A statement for `execute_raw`, which takes the `'static` text sqlx requires of SQL.
fn leak(sql: String) -> &'static str {
    Box::leak(sql.into_boxed_str())
}

/// Every audit entry the world's owner sees, in id order.
async fn all_entries(h: &Harness, w: &World) -> Vec<AuditEntry> {
    h.engine.audit_entries(&w.owner, AuditFilter { limit: 1000, ..Default::default() }).await.unwrap()
}

/// Within each chain, entries count from 1 and each links to the one before it.
fn assert_chains_link(entries: &[AuditEntry]) {
    let mut chains: std::collections::BTreeMap<i32, Vec<&AuditEntry>> = Default::default();
    for e in entries {
        chains.entry(e.chain).or_default().push(e);
    }
    for links in chains.values_mut() {
        links.sort_by_key(|e| e.seq);
        assert!(links[0].prev_hash.is_empty() && links[0].seq == 1);
        assert!(links.windows(2).all(|p| p[1].prev_hash == p[0].hash && p[1].seq == p[0].seq + 1));
    }
}
