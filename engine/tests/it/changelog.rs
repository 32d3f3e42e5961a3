use crate::conformance;
use crate::support::*;
use chrono::Duration;
use orgata_engine::*;
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

conformance!(
    every_change_writes_its_event,
    rolled_back_transactions_leave_nothing,
    tailing_under_concurrent_writers_misses_nothing,
    a_large_transaction_flushes_in_several_statements,
    a_lease_has_one_holder_until_it_expires,
    read_ahead_is_scoped_and_what_fails_rolls_back,
    queued_writers_commit_and_fail_alone
);

async fn a_lease_has_one_holder_until_it_expires(h: Harness) {
    let store = h.engine.store();
    let (now, ttl) = (t0(), Duration::seconds(30));
    assert!(store.acquire_lease("streamer", "a", now, ttl).await.unwrap(), "free: a takes it");
    assert!(!store.acquire_lease("streamer", "b", now + Duration::seconds(10), ttl).await.unwrap(), "a holds it");
    assert!(store.acquire_lease("streamer", "a", now + Duration::seconds(20), ttl).await.unwrap(), "a renews");
    // Renewed until 50 s: still a's at 45 s, free after.
    assert!(!store.acquire_lease("streamer", "b", now + Duration::seconds(45), ttl).await.unwrap());
    assert!(store.acquire_lease("streamer", "b", now + Duration::seconds(51), ttl).await.unwrap(), "expired: b");
    assert!(!store.acquire_lease("streamer", "a", now + Duration::seconds(52), ttl).await.unwrap());
    assert!(store.acquire_lease("other", "a", now + Duration::seconds(52), ttl).await.unwrap(), "names are separate");
    store.release_lease("streamer", "a").await.unwrap();
    assert!(!store.acquire_lease("streamer", "a", now + Duration::seconds(53), ttl).await.unwrap(), "only b releases");
    store.release_lease("streamer", "b").await.unwrap();
    assert!(store.acquire_lease("streamer", "a", now + Duration::seconds(53), ttl).await.unwrap(), "released: a");
}

async fn every_change_writes_its_event(h: Harness) {
    let w = World::new(&h, "acme").await;
    let p = w.playbook(&h, "Three", three_steps("doer")).await;
    let started = w.start(&h, &p.playbook.id, json!({})).await;
    h.advance(90);
    let done = h.engine.complete_task(&w.owner, &started.tasks[0].id, CompleteTask::default()).await.unwrap();
    let changes = h.all_changes().await;
    let summary: Vec<(&str, &str)> = changes.iter().map(|c| (c.entity.as_str(), c.op.as_str())).collect();
    assert_eq!(
        summary,
        vec![
            ("organisation", "insert"),
            ("user", "insert"),
            ("team", "insert"),
            ("membership", "insert"),
            ("playbook", "insert"),
            ("playbook_version", "insert"),
            ("branch", "insert"),
            ("instance", "insert"),
            ("task", "insert"),
            ("task_event", "insert"),
            ("task", "update"),
            ("task_event", "insert"),
            ("task_event", "insert"),
            ("task_event", "insert"),
            ("task", "insert"),
            ("task_event", "insert"),
            ("instance", "update"),
        ]
    );
    // The task events are the event log: the first task is scheduled, then taken, started and
    // completed at once by its completer 90 minutes later; the second is scheduled.
    let lifecycle: Vec<(&str, &str, chrono::DateTime<chrono::Utc>)> = changes
        .iter()
        .filter(|c| c.entity == "task_event")
        .map(|c| (c.data["step_key"].as_str().unwrap(), c.data["lifecycle"].as_str().unwrap(), c.at))
        .collect();
    let at_90 = t0() + Duration::minutes(90);
    assert_eq!(
        lifecycle,
        [
            ("one", "schedule", t0()),
            ("one", "assign", at_90),
            ("one", "start", at_90),
            ("one", "complete", at_90),
            ("two", "schedule", at_90)
        ]
    );
    let complete = changes.iter().find(|c| c.data["lifecycle"] == "complete").unwrap();
    assert_eq!(complete.data["resource"], json!(w.owner.user_id()));
    assert_eq!(complete.data["activity"], "One");
    assert_eq!(complete.data["at"], json!(at_90));
    for pair in changes.windows(2) {
        assert!(pair[0].position < pair[1].position, "positions strictly increase");
    }
    // The event carries the record's new state, its team and the engine's time.
    let last = changes.last().unwrap();
    assert_eq!(last.data, serde_json::to_value(&done.instance).unwrap());
    assert_eq!(last.team_id.as_ref(), Some(&w.team.id));
    assert_eq!(last.at, t0() + Duration::minutes(90));
    assert_eq!(changes[0].team_id, None);
    // Reading in small batches from a position yields the same sequence.
    let mut pos = changes[3].position;
    let mut rest = Vec::new();
    loop {
        let batch = h.store.read_changes(pos, 2).await.unwrap();
        let Some(l) = batch.last() else { break };
        assert!(batch.len() <= 2);
        pos = l.position;
        rest.extend(batch);
    }
    assert_eq!(rest, changes[4..].to_vec());
}

async fn rolled_back_transactions_leave_nothing(h: Harness) {
    let w = World::new(&h, "acme").await;
    let before = h.all_changes().await;
    {
        // A transaction that writes and then dies before commit (dropped, as on a crash).
        let mut tx = h.store.begin_write(h.clock.now()).await.unwrap();
        let team = Team { id: TeamId::generate(), org_id: w.org.id.clone(), name: "Ghost".into(), created_at: t0() };
        tx.insert_team(&team).await.unwrap();
        drop(tx);
    }
    assert_eq!(h.all_changes().await, before);
    // A failing operation (its second write violates a constraint) leaves nothing either.
    let err = h.engine.create_team(&w.owner, "Ops").await.unwrap_err();
    assert!(matches!(err, EngineError::AlreadyExists { .. }));
    assert_eq!(h.all_changes().await, before);
    // No row was left behind: the name is free.
    assert_eq!(h.engine.create_team(&w.owner, "Ghost").await.unwrap().name, "Ghost");
}

async fn read_ahead_is_scoped_and_what_fails_rolls_back(h: Harness) {
    let w = World::new(&h, "acme").await;
    let other = World::new(&h, "other").await;
    let p = w.playbook(&h, "Three", three_steps("doer")).await;
    let started = w.start(&h, &p.playbook.id, json!({})).await;
    let task = &started.tasks[0];
    let ahead = || ReadAhead::Task(task.id.clone());
    let before = h.all_changes().await;
    // Read ahead, then dropped without commit: the next writer is not held up.
    let mut tx = h.store.begin_write_reading(h.clock.now(), &w.owner, ahead()).await.unwrap();
    let family = tx.task_family(&w.owner, &task.id).await.unwrap();
    assert_eq!(family, vec![task.clone()]);
    assert_eq!(tx.instance(&w.owner, &task.instance_id).await.unwrap(), Some(started.instance.clone()));
    assert_eq!(tx.members_with_role(&w.team.id, "owner").await.unwrap(), vec![w.owner.user_id().clone()]);
    assert_eq!(tx.membership(&w.team.id, w.owner.user_id()).await.unwrap().unwrap().role, "owner");
    drop(tx);
    // Another organisation's caller gets nothing of what was read ahead.
    let mut tx = h.store.begin_write_reading(h.clock.now(), &other.owner, ahead()).await.unwrap();
    assert_eq!(tx.task_family(&other.owner, &task.id).await.unwrap(), vec![]);
    assert_eq!(tx.instance(&other.owner, &task.instance_id).await.unwrap(), None);
    drop(tx);
    // A flush that fails at its first statement (the instance inserted again) keeps nothing of
    // the transaction, whose other write expected what it read.
    let mut tx = h.store.begin_write_reading(h.clock.now(), &w.owner, ahead()).await.unwrap();
    let read = tx.task_family(&w.owner, &task.id).await.unwrap().remove(0);
    let mut started_task = read.clone();
    started_task.status = TaskStatus::Started;
    started_task.revision += 1;
    tx.update_task(&read, &started_task).await.unwrap();
    tx.insert_instance(&started.instance).await.unwrap();
    assert!(matches!(tx.commit().await.unwrap_err(), EngineError::Storage(_)));
    assert_eq!(h.all_changes().await, before);
    // And the next operation runs as if nothing had happened.
    let done = h.engine.complete_task(&w.owner, &task.id, CompleteTask::default()).await.unwrap();
    assert_eq!((done.task.status, done.task.revision), (TaskStatus::Completed, 2));
    assert_eq!(done.created.len(), 1);
}

async fn tailing_under_concurrent_writers_misses_nothing(h: Harness) {
    let w = World::new(&h, "acme").await;
    let p = w.playbook(&h, "Three", three_steps("doer")).await;
    let engine = Arc::new(h.reopen().await);
    let writers: Vec<_> = (0..6)
        .map(|_| {
            let (engine, scope, playbook) = (engine.clone(), w.owner.clone(), p.playbook.id.clone());
            tokio::spawn(async move {
                for _ in 0..5 {
                    let req =
                        StartInstance { playbook_id: playbook.clone(), branch: None, title: None, input: json!({}) };
                    let mut next = engine.start_instance(&scope, req).await.unwrap().tasks;
                    while let Some(t) = next.pop() {
                        next = engine.complete_task(&scope, &t.id, CompleteTask::default()).await.unwrap().created;
                    }
                }
            })
        })
        .collect();
    // Tail the log while they write.
    let mut seen = Vec::new();
    let mut pos = LogPosition::default();
    let mut done = false;
    while !done {
        done = writers.iter().all(|w| w.is_finished());
        if done {
            drain(&*h.store, &mut pos, &mut seen).await;
        } else {
            let batch = h.store.read_changes(pos, 50).await.unwrap();
            if let Some(l) = batch.last() {
                pos = l.position;
            }
            seen.extend(batch);
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }
    for w in writers {
        w.await.unwrap();
    }
    let all = h.all_changes().await;
    assert_eq!(
        all.len(),
        7 + 6 * 5 * 22,
        "org..branch, then per instance: 1+3 inserts, 3 task updates, 3 instance updates, and per task \
         4 task events (schedule, assign, start, complete)"
    );
    let seqs: BTreeSet<i64> = seen.iter().map(|c| c.position.seq).collect();
    assert_eq!(seqs.len(), seen.len(), "no event read twice");
    assert_eq!(seen, all, "the tail read every event, in the same order as a full read");
    // For each instance, its revisions appear in increasing order (commit order per aggregate).
    let mut last: HashMap<String, i64> = HashMap::new();
    for c in seen.iter().filter(|c| c.entity == "instance") {
        let rev = c.data["revision"].as_i64().unwrap();
        let prev = last.insert(c.entity_id.clone(), rev).unwrap_or(0);
        assert_eq!(rev, prev + 1, "instance {} revisions in order", c.entity_id);
    }
    assert_eq!(last.len(), 30);
    assert!(last.values().all(|r| *r == 4));
}

async fn a_large_transaction_flushes_in_several_statements(h: Harness) {
    let w = World::new(&h, "acme").await;
    let p = w.playbook(&h, "Three", three_steps("doer")).await;
    let started = w.start(&h, &p.playbook.id, json!({})).await;
    let before = h.all_changes().await.len();
    // 2,500 task inserts and their events need about 67,000 bind parameters: more than one
    // statement of either database takes.
    let mut tx = h.store.begin_write(h.clock.now()).await.unwrap();
    for _ in 0..2_500 {
        let mut t = started.tasks[0].clone();
        t.id = TaskId::generate();
        tx.insert_task(&t).await.unwrap();
    }
    let mut first = started.tasks[0].clone();
    first.status = TaskStatus::Started;
    first.started_at = Some(h.clock.now());
    first.revision = 2;
    tx.update_task(&started.tasks[0], &first).await.unwrap();
    tx.commit().await.unwrap();
    let detail = h.engine.instance(&w.owner, &started.instance.id).await.unwrap();
    assert_eq!(detail.tasks.len(), 2_501);
    assert_eq!(detail.tasks[0].status, TaskStatus::Started);
    // Each insert writes the task and its `schedule` event (and `assign`, when assigned at once);
    // the update writes the task and its `start` event.
    let per_insert = 1 + usize::from(started.tasks[0].assignee_id.is_some()) + 1;
    let written = h.all_changes().await.len() - before;
    assert_eq!(written, 2_500 * per_insert + 2);
    // A stale update in a large flush is still a conflict, and nothing of it is kept.
    let mut tx = h.store.begin_write(h.clock.now()).await.unwrap();
    for _ in 0..2_500 {
        let mut t = started.tasks[0].clone();
        t.id = TaskId::generate();
        tx.insert_task(&t).await.unwrap();
    }
    tx.update_task(&started.tasks[0], &first).await.unwrap();
    let err = tx.commit().await.unwrap_err();
    assert!(matches!(err, EngineError::Conflict { entity: "task", expected: 1, found: 2, .. }), "{err}");
    assert_eq!(h.engine.instance(&w.owner, &started.instance.id).await.unwrap().tasks.len(), 2_501);
    assert_eq!(h.all_changes().await.len(), before + written);
}

/// PostgreSQL only: SQLite admits one writer at a time, so its transactions cannot interleave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_reader_holds_back_events_behind_an_open_transaction() {
    let Some(h) = postgres().await else { return };
    let w = World::new(&h, "acme").await;
    let mut pos = LogPosition::default();
    let mut seen = Vec::new();
    drain(&*h.store, &mut pos, &mut seen).await;
    let team =
        |name: &str| Team { id: TeamId::generate(), org_id: w.org.id.clone(), name: name.into(), created_at: t0() };
    let (first, second) = (team("First"), team("Second"));
    // Transaction A writes first (taking the lower transaction id) and stays open.
    let mut a = h.store.begin_write(t0()).await.unwrap();
    a.insert_team(&first).await.unwrap();
    // Transaction B starts later and commits first.
    let mut b = h.store.begin_write(t0()).await.unwrap();
    b.insert_team(&second).await.unwrap();
    b.commit().await.unwrap();
    // B's event is committed, but a reader that took it now would have to skip A's later.
    assert!(h.store.read_changes(pos, 100).await.unwrap().is_empty());
    assert_eq!(h.store.pending_changes(pos).await.unwrap(), 1);
    a.commit().await.unwrap();
    let mut after = Vec::new();
    drain(&*h.store, &mut pos, &mut after).await;
    let ids: Vec<&str> = after.iter().map(|c| c.entity_id.as_str()).collect();
    assert_eq!(ids, vec![first.id.as_str(), second.id.as_str()]);
    assert!(after[0].position < after[1].position);
}

/// PostgreSQL wakes change listeners at commit (LISTEN/NOTIFY); SQLite has none (readers poll).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_wakes_the_change_listener() {
    let sqlite = crate::support::sqlite().await;
    assert!(sqlite.store.change_listener().await.unwrap().is_none());
    let Some(h) = crate::support::postgres().await else { return };
    let mut listener = h.store.change_listener().await.unwrap().expect("a PostgreSQL listener");
    let quiet = std::time::Duration::from_millis(300);
    assert!(!listener.wait(quiet).await.unwrap(), "nothing committed yet");
    let w = World::new(&h, "acme").await;
    assert!(listener.wait(std::time::Duration::from_secs(5)).await.unwrap(), "the registration woke it");
    // Drain what registration sent, then a rolled-back write wakes nobody and a commit does.
    while listener.wait(quiet).await.unwrap() {}
    let tx = h.store.begin_write(h.clock.now()).await.unwrap();
    drop(tx);
    assert!(!listener.wait(quiet).await.unwrap());
    h.engine.create_team(&w.owner, "Finance").await.unwrap();
    assert!(listener.wait(std::time::Duration::from_secs(5)).await.unwrap());
}

/// Writers that queue for the database together (on SQLite they commit as one group, each opened
/// by the one before): each commits or rolls back alone. One that gives up while queued, one that
/// fails in its flush and one abandoned half-way take nothing of the others with them, and the
/// others' work all lands.
async fn queued_writers_commit_and_fail_alone(h: Harness) {
    let w = World::new(&h, "acme").await;
    let p = w.playbook(&h, "Three", three_steps("doer")).await;
    let existing = w.start(&h, &p.playbook.id, json!({})).await.instance;
    let before = h.all_changes().await.len();
    let team =
        |name: &str| Team { id: TeamId::generate(), org_id: w.org.id.clone(), name: name.into(), created_at: t0() };
    let new_teams = |changes: Vec<ChangeEvent>| -> Vec<String> {
        changes[before..].iter().map(|c| format!("{} {}", c.entity, c.data["name"].as_str().unwrap_or("?"))).collect()
    };
    // `first` holds the writer; the others queue behind it.
    let mut first = h.store.begin_write(t0()).await.unwrap();
    first.insert_team(&team("First")).await.unwrap();
    let (inserted, abandoned_holds) = tokio::sync::oneshot::channel();
    let writer = |name: &'static str| {
        let (store, team) = (h.store.clone(), team(name));
        async move {
            let mut tx = store.begin_write(t0()).await?;
            tx.insert_team(&team).await?;
            Ok::<_, EngineError>((store, tx))
        }
    };
    let b = tokio::spawn({
        let w = writer("B");
        async move { w.await?.1.commit().await }
    });
    let c = tokio::spawn({
        let w = writer("C");
        let existing = existing.clone();
        async move {
            let (_, mut tx) = w.await?;
            // Fails in the flush, at commit: the instance exists.
            tx.insert_instance(&existing).await?;
            tx.commit().await
        }
    });
    let d = tokio::spawn({
        let w = writer("D");
        async move {
            let held = w.await?;
            let _ = inserted.send(());
            std::future::pending::<()>().await;
            drop(held);
            Ok::<_, EngineError>(())
        }
    });
    let e = tokio::spawn({
        let w = writer("E");
        async move { w.await?.1.commit().await }
    });
    // On SQLite one gives up while it queues (PostgreSQL's writers do not queue).
    let quitter = (h.store.backend() == Backend::Sqlite).then(|| {
        let w = writer("Q");
        tokio::spawn(async move { w.await?.1.commit().await })
    });
    // Let them all queue, then commit `first` while they wait.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    if let Some(quitter) = quitter {
        quitter.abort();
        assert!(quitter.await.unwrap_err().is_cancelled());
    }
    let first = tokio::spawn(first.commit());
    abandoned_holds.await.unwrap();
    if h.store.backend() == Backend::Sqlite {
        // The group is still open while the abandoned writer holds the connection: nothing of
        // it is visible yet.
        assert_eq!(new_teams(h.all_changes().await), Vec::<String>::new());
    }
    d.abort();
    first.await.unwrap().unwrap();
    b.await.unwrap().unwrap();
    e.await.unwrap().unwrap();
    assert!(matches!(c.await.unwrap().unwrap_err(), EngineError::Storage(_)));
    assert!(d.await.unwrap_err().is_cancelled());
    let mut landed = new_teams(h.all_changes().await);
    landed.sort();
    assert_eq!(landed, vec!["team B", "team E", "team First"]);
    // The writer works on as before.
    let done = h
        .engine
        .complete_task(
            &w.owner,
            &task_of(&h.engine.instance(&w.owner, &existing.id).await.unwrap().tasks, "one").id,
            CompleteTask::default(),
        )
        .await
        .unwrap();
    assert_eq!(done.task.status, TaskStatus::Completed);
}
