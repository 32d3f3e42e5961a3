//! The test harness: every conformance test runs unchanged against SQLite and PostgreSQL, on the
//! test databases of `orgata_engine::testing`.

use chrono::{TimeZone, Utc};
use orgata_engine::*;
use serde_json::{Value, json};
use std::sync::Arc;

/// A fresh engine on one backend, with a simulated clock and a seeded organisation.
pub struct Harness {
    pub engine: Engine,
    pub store: Arc<dyn Store>,
    pub clock: Arc<SimClock>,
    /// Connection URL of this harness's database (with its schema for PostgreSQL).
    pub url: String,
    _db: orgata_engine::testing::TestDatabase,
}

/// The time every harness clock starts at.
pub fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().expect("valid time")
}

impl Harness {
    async fn open(db: orgata_engine::testing::TestDatabase) -> Self {
        let url = db.url.clone();
        let store = connect(&url).await.unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
        let clock = Arc::new(SimClock::new(t0()));
        let engine = Engine::new(store.clone(), clock.clone());
        Harness { engine, store, clock, url, _db: db }
    }

    /// Another engine on the same database (a second server process, in effect).
    pub async fn reopen(&self) -> Engine {
        let store = connect(&self.url).await.expect("reopen");
        Engine::new(store, self.clock.clone())
    }

    /// Moves the simulated clock forward by `minutes`.
    pub fn advance(&self, minutes: i64) {
        self.clock.advance(chrono::Duration::minutes(minutes));
    }

    /// Every change event in the log, in commit order.
    pub async fn all_changes(&self) -> Vec<ChangeEvent> {
        let mut out = Vec::new();
        drain(&*self.store, &mut LogPosition::default(), &mut out).await;
        out
    }
}

/// Reads from `pos` until the reader is caught up with every committed event. On PostgreSQL an
/// open transaction anywhere in the cluster (another test's) can briefly hold events back, so an
/// empty batch alone does not mean caught up.
pub async fn drain(store: &dyn Store, pos: &mut LogPosition, out: &mut Vec<ChangeEvent>) {
    for _ in 0..2_000 {
        let batch = store.read_changes(*pos, 500).await.expect("read changes");
        if let Some(last) = batch.last() {
            *pos = last.position;
            out.extend(batch);
            continue;
        }
        if store.pending_changes(*pos).await.expect("pending") == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the change log did not settle within 20 s");
}

impl Harness {
    /// Runs one SQL statement on the database directly, behind the engine's back (to play an
    /// attacker with database access).
    pub async fn execute_raw(&self, sql: &'static str) {
        if let Err(e) = self.try_execute_raw(sql).await {
            panic!("{sql}: {e}");
        }
    }

    /// [`Harness::execute_raw`], returning the database's error.
    pub async fn try_execute_raw(&self, sql: &'static str) -> Result<(), String> {
        let result = match self.store.backend() {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.url).await.expect("connect");
                let r = sqlx::query(sql).execute(&pool).await.map(|_| ());
                pool.close().await;
                r
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.url).await.expect("connect");
                let r = sqlx::query(sql).execute(&pool).await.map(|_| ());
                pool.close().await;
                r
            }
        };
        result.map_err(|e| e.to_string())
    }

    /// What an attacker with the database owner's rights does first: lift the audit trail's
    /// append-only triggers.
    pub async fn lift_audit_protection(&self) {
        match self.store.backend() {
            Backend::Sqlite => {
                self.execute_raw("DROP TRIGGER audit_log_no_update").await;
                self.execute_raw("DROP TRIGGER audit_log_no_delete").await;
            }
            Backend::Postgres => self.execute_raw("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only").await,
        }
    }

    /// Moves the simulated clock forward by `seconds`.
    pub fn advance_secs(&self, seconds: i64) {
        self.clock.advance(chrono::Duration::seconds(seconds));
    }

    /// Signs in `email` of organisation `org` with `password`, expecting no second factor.
    pub async fn sign_in(&self, org: &str, email: &str, password: &str) -> Session {
        let login =
            Login { organisation: org.into(), email: email.into(), password: password.into(), ..Default::default() };
        match self.engine.login(login).await.expect("login") {
            LoginOutcome::SignedIn(session) => session,
            other => panic!("expected a session, got {other:?}"),
        }
    }
}

/// A harness on a new SQLite file.
pub async fn sqlite() -> Harness {
    let db = orgata_engine::testing::sqlite();
    Harness::open(db).await
}

/// A harness on a new PostgreSQL schema, or `None` (outside CI only) when none is configured.
pub async fn postgres() -> Option<Harness> {
    Some(Harness::open(orgata_engine::testing::postgres().await?).await)
}

/// Runs each named `async fn(Harness)` against both backends, as `<name>::sqlite` and
/// `<name>::postgres`.
#[macro_export]
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::sqlite().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(h) = $crate::support::postgres().await {
                    super::$name(h).await
                }
            }
        }
    )*};
}

/// The password of every test world's owner.
pub const OWNER_PASSWORD: &str = "correct horse battery";

/// An organisation with an owner and a team, as most tests need.
pub struct World {
    pub org: Organisation,
    pub owner: Scope,
    pub team: Team,
}

impl World {
    /// Creates organisation `slug`, its owner `owner@<slug>.test` and team "Ops".
    pub async fn new(h: &Harness, slug: &str) -> World {
        let registration = Registration {
            organisation_name: format!("{slug} Inc"),
            organisation_slug: slug.into(),
            team_name: "Ops".into(),
            email: format!("owner@{slug}.test"),
            display_name: "Owner".into(),
            password: OWNER_PASSWORD.into(),
        };
        let r = h.engine.register(registration).await.expect("register");
        let owner = h.engine.trusted_scope(&r.user.id).await.expect("scope");
        World { org: r.organisation, owner, team: r.team }
    }

    /// A new member of the team with `role` (a custom role with a member's permissions is
    /// defined when the role is not built in), and their scope.
    pub async fn member(&self, h: &Harness, name: &str, role: &str) -> Scope {
        if builtin_role(role).is_none() {
            let defined = h.engine.roles(&self.owner).await.expect("roles").iter().any(|r| r.name == role);
            if !defined {
                let member = builtin_role("member").unwrap().names();
                h.engine.create_role(&self.owner, role, &member).await.expect("role");
            }
        }
        let u = self.person(h, name, OrgRole::Member).await;
        h.engine.add_member(&self.owner, &self.team.id, &u.id, role).await.expect("add member");
        h.engine.trusted_scope(&u.id).await.expect("scope")
    }

    /// Creates a person of the organisation with `org_role`, in no team.
    pub async fn person(&self, h: &Harness, name: &str, org_role: OrgRole) -> User {
        let email = format!("{}@{}.test", name.to_lowercase(), self.org.slug);
        let new = NewUser { email, display_name: name.into(), org_role: Some(org_role), ..Default::default() };
        h.engine.create_user(&self.owner, new).await.expect("person")
    }

    /// Creates a playbook in the team.
    pub async fn playbook(&self, h: &Harness, name: &str, definition: Value) -> PlaybookDetail {
        h.engine.create_playbook(&self.owner, &self.team.id, name, definition, "first").await.expect("playbook")
    }

    /// Starts an instance of a playbook's main branch with `input`.
    pub async fn start(&self, h: &Harness, playbook: &PlaybookId, input: Value) -> InstanceDetail {
        let req = StartInstance { playbook_id: playbook.clone(), branch: None, title: None, input };
        h.engine.start_instance(&self.owner, req).await.expect("start")
    }
}

/// A purchase-request playbook: request (form) → approval (only over 1000) and, in parallel,
/// a budget check (automated) → order (task).
pub fn purchase_definition() -> Value {
    json!({
        "description": "Buy things",
        "input_schema": {"type": "object", "required": ["amount"], "properties": {"amount": {"type": "number", "minimum": 0}}},
        "steps": [
            {"key": "request", "name": "Describe the purchase", "kind": "form", "assignee": {"role": "requester"}, "sla": "1d",
             "form": {"type": "object", "required": ["item"], "properties": {"item": {"type": "string", "minLength": 1}, "quantity": {"type": "integer", "minimum": 1}}}},
            {"key": "budget", "name": "Check budget", "kind": "automated", "depends_on": ["request"]},
            {"key": "approve", "name": "Manager approval", "kind": "approval", "depends_on": ["request"],
             "assignee": {"role": "manager"}, "sla": "4h",
             "condition": {"var": "input.amount", "op": "gt", "value": 1000}},
            {"key": "order", "name": "Place the order", "kind": "task", "depends_on": ["budget", "approve"], "assignee": {"role": "buyer"}}
        ]
    })
}

/// Three sequential tasks for one role.
pub fn three_steps(role: &str) -> Value {
    json!({ "steps": [
        {"key": "one", "name": "One", "kind": "task", "assignee": {"role": role}},
        {"key": "two", "name": "Two", "kind": "task", "depends_on": ["one"], "assignee": {"role": role}},
        {"key": "three", "name": "Three", "kind": "task", "depends_on": ["two"], "assignee": {"role": role}}
    ]})
}

/// The current task of `step` in an instance.
pub fn task_of<'a>(tasks: &'a [Task], step: &str) -> &'a Task {
    tasks.iter().rev().find(|t| t.step_key == step && t.current).unwrap_or_else(|| panic!("no current task for {step}"))
}
