//! The SQLite store (the embedded default). SQLite has one writer at a time: write transactions
//! start with `BEGIN IMMEDIATE`, so they queue for the write lock instead of failing on upgrade,
//! and change_log's sequence order is commit order.
//!
//! Every statement is a round trip to the connection's own thread (sqlx), which costs more than
//! most of the statements themselves, so a write transaction sends `BEGIN IMMEDIATE` together
//! with the reads its operation names ([`ReadAhead`]) and `COMMIT` together with its writes
//! (see `FOLDS_COMMIT`): a task completion is two round trips, and one when it queued behind
//! another write transaction, whose last round trip opens it (see [`GroupCommit`]).

use futures::TryStreamExt;
use sqlx::Either;
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use std::collections::VecDeque;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, OwnedMutexGuard, oneshot};

/// The sqlx database of this backend.
type Db = Sqlite;
const BACKEND: Backend = Backend::Sqlite;
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

const READ_CHANGES_SQL: &str = "SELECT xid, seq, team_id, entity, entity_id, op, data, at FROM change_log
     WHERE (xid, seq) > ($1, $2)
     ORDER BY xid, seq
     LIMIT $3";

/// The newest position (one writer at a time: everything committed is readable).
const LOG_HEAD_SQL: &str = "SELECT xid, seq FROM change_log ORDER BY xid DESC, seq DESC LIMIT 1";

/// `BEGIN IMMEDIATE` already holds the database's single write lock.
const LOCK_SQL: Option<&str> = None;
const LOCK_TASK_INSTANCE_SQL: Option<&str> = None;
/// An audit chain's head; the write lock already orders chain writers.
const AUDIT_HEAD_SQL: &str = "SELECT seq, hash FROM audit_heads WHERE org_id = $1 AND chain = $2";
/// One writer at a time: one chain per organisation.
const AUDIT_CHAINS: i32 = 1;
/// `COMMIT` may travel in the flush statement: `BEGIN IMMEDIATE` took the database's only write
/// lock before anything was read, so a conditional update whose expected revision was read in
/// this transaction cannot miss (the flush checks that before folding).
const FOLDS_COMMIT: bool = true;

/// What a write transaction reads as it begins (see [`ReadAhead`]), in its organisation.
#[derive(Clone)]
struct ReadQuery {
    org: OrgId,
    ahead: ReadAhead,
}

impl ReadQuery {
    /// Adds the reads to `batch`, a statement each: the audit chain's head, then a task's family,
    /// its instance and its team's memberships, or a playbook, its branch and its team's
    /// memberships.
    fn push(&self, batch: &mut Batch) {
        batch.statement(
            |qb| {
                _ = qb
                    .push("SELECT seq, hash FROM audit_heads WHERE chain = 0 AND org_id = ")
                    .push_bind(self.org.clone())
            },
            false,
        );
        let members = |qb: &mut QueryBuilder<Db>| _ = qb.push(") ORDER BY user_id LIMIT ").push(MEMBERS_AHEAD + 1);
        match &self.ahead {
            ReadAhead::Task(id) => {
                let of_task = |qb: &mut QueryBuilder<Db>, column: &str| {
                    qb.push("(SELECT ").push(column).push(" FROM tasks WHERE id = ").push_bind(id.clone()).push(")");
                };
                batch.statement(
                    |qb| {
                        qb.push("SELECT * FROM tasks WHERE instance_id = ");
                        of_task(qb, "instance_id");
                        qb.push(" ORDER BY id");
                    },
                    false,
                );
                batch.statement(|qb| of_task(qb.push("SELECT * FROM instances WHERE id = "), "instance_id"), false);
                batch.statement(
                    |qb| {
                        qb.push("SELECT * FROM memberships WHERE team_id = (SELECT team_id FROM tasks WHERE id = ");
                        members(qb.push_bind(id.clone()));
                    },
                    false,
                );
            }
            ReadAhead::Playbook { id, branch } => {
                batch.statement(|qb| _ = qb.push("SELECT * FROM playbooks WHERE id = ").push_bind(id.clone()), false);
                batch.statement(
                    |qb| {
                        qb.push("SELECT * FROM branches WHERE playbook_id = ").push_bind(id.clone());
                        qb.push(" AND name = ").push_bind(branch.clone());
                    },
                    false,
                );
                batch.statement(
                    |qb| {
                        qb.push("SELECT * FROM memberships WHERE team_id = (SELECT team_id FROM playbooks WHERE id = ");
                        members(qb.push_bind(id.clone()));
                    },
                    false,
                );
            }
        }
    }

    /// What the reads found (`rows`: one list per statement, as `push` added them).
    fn found(&self, rows: &[Vec<SqliteRow>]) -> sqlx::Result<Ahead> {
        let rows = |i: usize| rows.get(i).map(Vec::as_slice).unwrap_or_default();
        let found = match self.ahead {
            ReadAhead::Task(_) => Found {
                family: decode(rows(1))?,
                instance: decode_one(rows(2))?,
                members: decode(rows(3))?,
                ..Found::default()
            },
            ReadAhead::Playbook { .. } => Found {
                playbook: decode_one(rows(1))?,
                branch: decode_one(rows(2))?,
                members: decode(rows(3))?,
                ..Found::default()
            },
        };
        let mut fetched = Ahead::of(&self.ahead, found);
        let head: Option<(i64, String)> = decode_one(rows(0))?;
        fetched.audit_head = head.map(|h| (self.org.clone(), 0, h));
        Ok(fetched)
    }
}

/// The flush statement: the statements joined by `;`, executed in one round trip; conditional
/// updates return `k` rows.
struct Batch {
    qb: QueryBuilder<Db>,
    count: usize,
}

impl Batch {
    fn new() -> Self {
        Self { qb: QueryBuilder::new(""), count: 0 }
    }

    /// Adds a statement (its `RETURNING` rows come back from the batch).
    fn statement(&mut self, push: impl FnOnce(&mut QueryBuilder<Db>), _returns_key: bool) {
        if self.count > 0 {
            self.qb.push("; ");
        }
        push(&mut self.qb);
        self.count += 1;
    }

    fn finish(self) -> QueryBuilder<Db> {
        self.qb
    }
}

include!("sql.rs");

/// The SQLite implementation of [`Store`].
pub type SqliteStore = SqlStore;

impl SqlStore {
    /// Opens (creating the file and its folder when missing, in WAL mode) and applies migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .pragma("cache_size", "-65536")
            // Checkpoints run in the background (below), not in whichever commit crosses the
            // threshold: that commit would wait for the fsyncs.
            .pragma("wal_autocheckpoint", "0")
            .foreign_keys(true);
        let path = options.get_filename();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| EngineError::Config(format!("cannot create {}: {e}", dir.display())))?;
        }
        // No ping before handing out a connection: the database is a file in this process.
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&pool).await?;
        chain_legacy_audit(&pool).await?;
        // Writers of this process queue for one connection instead of retrying in SQLite's busy
        // handler, and its page cache stays warm because no other connection of the process writes.
        // Its savepoints' journal stays in memory. Its page cache is smaller than the readers':
        // SQLite walks the cache at the end of every write transaction (`pcache1Truncate`), and
        // 8 MiB holds what writers touch (index interiors and the tables' recent pages); the
        // readers' 64 MiB measured slower (docs/benchmarks.md).
        let writer = options.clone().pragma("temp_store", "memory").pragma("cache_size", "-8192");
        let writes = GroupCommit::new(sqlx::ConnectOptions::connect(&writer).await?);
        let background =
            vec![tokio::spawn(checkpoint_periodically(pool.clone())), tokio::spawn(commit_groups(writes.clone()))];
        // SQLite has no notifications: readers poll.
        Ok(Self { pool, writes, background, committed_changes: None })
    }
}

/// Copies the WAL back into the database every second, without blocking writers (PASSIVE); a
/// failure is logged and retried on the next tick.
async fn checkpoint_periodically(pool: Pool<Db>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}

/// No listener: SQLite has no notifications.
async fn listen(_pool: &Pool<Db>) -> Result<Option<Box<dyn super::ChangeListener>>> {
    Ok(None)
}

/// Read-ahead fetches a team's memberships only up to this many (the statements fetch one more,
/// `LIMIT 201`); a larger team's are read one membership at a time, as without read-ahead.
const MEMBERS_AHEAD: usize = 200;

/// The rows a read-ahead found, however the backend fetched them.
#[derive(Default)]
struct Found {
    family: Vec<Task>,
    instance: Option<Instance>,
    playbook: Option<Playbook>,
    branch: Option<Branch>,
    members: Vec<Membership>,
}

impl Ahead {
    /// What `read` found, ready to be handed out. `family` must be in id order.
    fn of(read: &ReadAhead, found: Found) -> Ahead {
        let mut ahead = Ahead::default();
        let team = match read {
            ReadAhead::Task(id) => {
                let team = found.family.first().map(|t| t.team_id.clone());
                ahead.family = Some((id.clone(), found.family));
                ahead.instance = found.instance;
                team
            }
            ReadAhead::Playbook { id, branch } => {
                let team = found.playbook.as_ref().map(|p| p.team_id.clone());
                ahead.playbook = Some((id.clone(), found.playbook));
                ahead.branch = Some((id.clone(), branch.clone(), found.branch));
                team
            }
        };
        ahead.members = team.filter(|_| found.members.len() <= MEMBERS_AHEAD).map(|t| (t, found.members));
        ahead
    }
}

/// A transaction's connection: a sqlx transaction (reads), or the writer's.
enum TxConn {
    Read(Transaction<'static, Db>),
    Write(Writer),
}

/// Write transactions begin on the single writer connection, with group commit.
type Writes = Arc<GroupCommit>;

/// Most write transactions one `COMMIT` covers.
const GROUP_MAX: usize = 64;

/// The writer connection, shared by the write transactions of a group commit.
///
/// The first write transaction of a group begins the group's transaction (`BEGIN IMMEDIATE`);
/// each later member runs inside a savepoint (`w`) of it. When a member ends while others queue
/// for the connection, it releases its savepoint, hands the connection on and waits: the last
/// member of the group (the one that finds no one queued) or the committer task commits for all.
/// One commit then writes each page the members dirtied once (the WAL frames were most of a
/// transaction's cost), and a lone writer commits at once, in its flush statement, as before. A
/// member that fails or is abandoned rolls back to its savepoint, so the others keep their work.
///
/// A member that ends while others queue also opens the first of them, with that one's reads, in
/// the same round trip, and hands it the connection with what it read (see [`Served`]): under
/// load a write transaction is then one round trip to the connection's thread, not two.
struct GroupCommit {
    state: Arc<tokio::sync::Mutex<WriterState>>,
    /// The transactions waiting for the connection, in arrival order, with what they would open
    /// with; one that stopped waiting (it took the lock itself, or gave up) has closed its reply.
    requests: std::sync::Mutex<VecDeque<Request>>,
    /// Wakes the committer task (see `commit_groups`).
    wake: Notify,
}

/// A waiting transaction's reads, and where to hand it the connection once they ran.
struct Request {
    reads: Option<ReadQuery>,
    reply: oneshot::Sender<Served>,
}

/// The connection handed to a waiting transaction by the member before it, its member opened
/// and its reads run (their rows, a list per statement) in that member's last round trip. If
/// the transaction is gone by then, dropping its writer gets the member rolled back.
struct Served {
    writer: Writer,
    rows: Vec<Vec<SqliteRow>>,
}

/// The writer connection and its group's state; whoever holds the lock uses the connection.
struct WriterState {
    /// `None` once the store is closed.
    conn: Option<SqliteConnection>,
    /// The group's transaction is open (`BEGIN IMMEDIATE` ran).
    open: bool,
    /// A member may be open (its savepoint, or the group's transaction it began): set from the
    /// round trip that opens it until the one that ends it. Found set by the next holder, it
    /// belongs to a member that failed or was abandoned, and is rolled back first (`settle`).
    in_member: bool,
    /// Members whose work is released into the group's transaction, waiting for its commit.
    waiting: Vec<oneshot::Sender<std::result::Result<(), String>>>,
}

/// Why the writer's connection is there whenever a member uses it.
const CONNECTED: &str = "the writer connection is taken only by `close`, under the lock";
/// Why a member holds the connection whenever it is used: only `Writer::end` gives it up, and
/// the transaction is done then.
const HELD: &str = "a writer's connection is used only until it ends";

impl GroupCommit {
    fn new(conn: SqliteConnection) -> Arc<Self> {
        let state = WriterState { conn: Some(conn), open: false, in_member: false, waiting: Vec::new() };
        Arc::new(Self {
            state: Arc::new(tokio::sync::Mutex::new(state)),
            requests: std::sync::Mutex::new(VecDeque::new()),
            wake: Notify::new(),
        })
    }

    /// Waits for the connection (in arrival order) and opens a member on it, running `reads` in
    /// the same round trip: its own, first rolling back what an earlier member left open, or the
    /// one that ends the member before it (see [`Served`]). Returns the reads' rows, a list per
    /// statement.
    async fn acquire(self: &Arc<Self>, reads: Option<ReadQuery>) -> Result<(Writer, Vec<Vec<SqliteRow>>)> {
        let (reply, served) = oneshot::channel();
        self.requests().push_back(Request { reads: reads.clone(), reply });
        // The member before hands over the connection still locked, so only one of the two
        // can happen; a request taken but not served (its opening failed) waits for the lock.
        // Either way the reply's receiver is gone when the wait ends: the request is closed.
        let (served, state) = tokio::select! {
            biased;
            served = served => (served.ok(), None),
            state = self.state.clone().lock_owned() => (None, Some(state)),
        };
        if let Some(Served { writer, rows }) = served {
            return Ok((writer, rows));
        }
        let state = match state {
            Some(state) => state,
            None => self.state.clone().lock_owned().await,
        };
        let mut writer = Writer { group: self.clone(), state: Some(state), savepoint: false };
        let rows = writer.open(reads.as_ref()).await?;
        Ok((writer, rows))
    }

    fn requests(&self) -> std::sync::MutexGuard<'_, VecDeque<Request>> {
        self.requests.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a transaction waits for the connection (dropping the requests of those that
    /// stopped waiting).
    fn anyone_waiting(&self) -> bool {
        let mut requests = self.requests();
        requests.retain(|r| !r.reply.is_closed());
        !requests.is_empty()
    }

    /// The first waiting transaction that has not given up, out of the queue.
    fn next_request(&self) -> Option<Request> {
        let mut requests = self.requests();
        std::iter::from_fn(|| requests.pop_front()).find(|r| !r.reply.is_closed())
    }
}

/// The statement that opens a member: its savepoint inside the group's open transaction, or the
/// group's transaction.
fn opening(savepoint: bool) -> &'static str {
    if savepoint { "SAVEPOINT w" } else { "BEGIN IMMEDIATE" }
}

/// Runs the statements of `qb` in one round trip: the rows of each statement that ran, and the
/// error that stopped the rest, if one did.
async fn run_statements(
    conn: &mut SqliteConnection,
    mut qb: QueryBuilder<Db>,
) -> (Vec<Vec<SqliteRow>>, Option<sqlx::Error>) {
    let (mut done, mut current) = (Vec::new(), Vec::new());
    let mut stream = sqlx::Executor::fetch_many(conn, qb.build());
    loop {
        match stream.try_next().await {
            Ok(Some(Either::Left(_))) => done.push(std::mem::take(&mut current)),
            Ok(Some(Either::Right(row))) => current.push(row),
            Ok(None) => return (done, None),
            Err(e) => return (done, Some(e)),
        }
    }
}

/// Rolls back what a failed or abandoned member left (its savepoint, wherever its last round
/// trip stopped), keeping the group's work: afterwards no member is open, and `open` is true
/// exactly when the group's transaction is.
async fn settle(state: &mut WriterState) -> Result<()> {
    let conn = state.conn.as_mut().expect(CONNECTED);
    if state.waiting.is_empty() {
        // Nothing but the member's own work: roll everything back ("no transaction is active" is
        // as good).
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
        state.open = false;
    } else {
        // Either statement fails when the member's savepoint never opened or was released.
        let _ = sqlx::raw_sql("ROLLBACK TO w").execute(&mut *conn).await;
        let _ = sqlx::raw_sql("RELEASE w").execute(&mut *conn).await;
        match sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await {
            // The group's transaction was gone (the member's `COMMIT` failed and rolled back):
            // its members' work is lost, and they hear so.
            Ok(_) => {
                let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                state.open = false;
                state.resolve(Err("the group's transaction was rolled back".into()));
            }
            Err(sqlx::Error::Database(e)) if e.message().contains("within a transaction") => state.open = true,
            Err(e) => return Err(e.into()),
        }
    }
    state.in_member = false;
    Ok(())
}

impl WriterState {
    /// Tells the waiting members how their group's commit went.
    fn resolve(&mut self, outcome: std::result::Result<(), String>) {
        for member in self.waiting.drain(..) {
            let _ = member.send(outcome.clone());
        }
    }

    /// Commits the group's transaction (or rolls it back when `COMMIT` fails) and tells its
    /// members.
    async fn commit_group(&mut self) {
        let conn = self.conn.as_mut().expect(CONNECTED);
        let outcome = match sqlx::raw_sql("COMMIT").execute(&mut *conn).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                Err(e.to_string())
            }
        };
        self.open = false;
        self.resolve(outcome);
    }
}

/// The committer task: commits a group whose last member handed the connection on to writers
/// that then gave up, or that failed; it queues for the connection like a writer, so a group
/// grows by everyone queued when it is woken.
async fn commit_groups(group: Arc<GroupCommit>) {
    loop {
        group.wake.notified().await;
        let mut state = group.state.lock().await;
        if state.conn.is_none() {
            return;
        }
        if state.in_member
            && let Err(e) = settle(&mut state).await
        {
            tracing::warn!(error = %e, "rolling back an abandoned write transaction");
            continue;
        }
        if state.open {
            state.commit_group().await;
        }
    }
}

/// A write transaction's hold on the writer connection (see [`GroupCommit`]).
struct Writer {
    group: Arc<GroupCommit>,
    /// Given up when the member ends.
    state: Option<OwnedMutexGuard<WriterState>>,
    /// The member runs in savepoint `w`: it joined an open group. The first member of a group
    /// needs none (it undoes itself by rolling the transaction back).
    savepoint: bool,
}

impl Writer {
    fn state(&mut self) -> &mut WriterState {
        self.state.as_deref_mut().expect(HELD)
    }

    fn conn(&mut self) -> &mut SqliteConnection {
        self.state().conn.as_mut().expect(CONNECTED)
    }

    /// Opens this member on the connection it acquired, rolling back first what an earlier
    /// member left open: the group's transaction when none is open, else the member's savepoint,
    /// with `reads` in the same round trip. Returns their rows, a list per statement.
    async fn open(&mut self, reads: Option<&ReadQuery>) -> Result<Vec<Vec<SqliteRow>>> {
        let state = self.state();
        if state.conn.is_none() {
            return Err(EngineError::Storage(sqlx::Error::PoolClosed));
        }
        if state.in_member {
            settle(state).await?;
        }
        // From here until its end, this member is open: if it fails or is abandoned, whoever
        // holds the connection next rolls it back (see `settle`).
        state.in_member = true;
        self.savepoint = state.open;
        let mut batch = Batch::new();
        batch.statement(|qb| _ = qb.push(opening(self.savepoint)), false);
        if let Some(reads) = reads {
            reads.push(&mut batch);
        }
        let (mut rows, failed) = run_statements(self.conn(), batch.finish()).await;
        if let Some(e) = failed {
            return Err(e.into());
        }
        self.state().open = true;
        Ok(rows.split_off(1))
    }

    /// Ends this member: runs `batch` (its writes, if any) with `RELEASE w`, and with `COMMIT`
    /// when no one queues for the connection or the group is full; otherwise hands the
    /// connection on (opening the next member in the same round trip, see [`Served`]) and waits
    /// for the group's commit. Returns the keys the batch's conditional updates returned. On
    /// failure nothing of this member is kept.
    async fn end(&mut self, batch: Option<Batch>) -> Result<Vec<String>> {
        let state = self.state.take().expect(HELD);
        let full = state.waiting.len() + 1 >= GROUP_MAX;
        let commit = full || !self.group.anyone_waiting();
        let mut batch = batch.unwrap_or_else(Batch::new);
        if self.savepoint {
            batch.statement(|qb| _ = qb.push("RELEASE w"), false);
        }
        if commit {
            batch.statement(|qb| _ = qb.push("COMMIT"), false);
        }
        let own = batch.count;
        let next = self.group.next_request();
        if let Some(next) = &next {
            // After a `COMMIT` it begins the next group.
            batch.statement(|qb| _ = qb.push(opening(!commit)), false);
            if let Some(reads) = &next.reads {
                reads.push(&mut batch);
            }
        }
        let (member, committed) = oneshot::channel();
        let last = Last { group: self.group.clone(), state, own, commit, member: (!commit).then_some(member), next };
        // When others' work rides on the `COMMIT`, the round trip runs to the end (and they hear
        // how it went) even if this member is abandoned meanwhile.
        let keys = if commit && !last.state.waiting.is_empty() {
            tokio::spawn(last.run(batch)).await.map_err(|e| group_failed(e.to_string()))??
        } else {
            last.run(batch).await?
        };
        if commit {
            return Ok(keys);
        }
        // In case those queued give up before one of them commits.
        self.group.wake.notify_one();
        match committed.await {
            Ok(Ok(())) => Ok(keys),
            Ok(Err(why)) => Err(group_failed(why)),
            Err(_) => Err(group_failed("the store closed before the group committed".into())),
        }
    }
}

/// A member's last round trip (see [`Writer::end`]): its first `own` statements are the member's,
/// the rest open the `next` waiting transaction.
struct Last {
    group: Arc<GroupCommit>,
    state: OwnedMutexGuard<WriterState>,
    own: usize,
    commit: bool,
    /// Where the member hears of its group's commit, when it does not commit itself.
    member: Option<oneshot::Sender<std::result::Result<(), String>>>,
    next: Option<Request>,
}

impl Last {
    /// Runs the round trip and keeps the books: on the member's failure undoes it (and wakes
    /// the committer for the group's sake); on success hands the connection to the next
    /// transaction, or lets it go. Returns the keys the member's conditional updates returned.
    async fn run(self, batch: Batch) -> Result<Vec<String>> {
        let Last { group, mut state, own, commit, member, next } = self;
        let conn = state.conn.as_mut().expect(CONNECTED);
        let (mut rows, failed) = run_statements(conn, batch.finish()).await;
        if rows.len() < own {
            undo_member(&mut state).await;
            if state.open {
                group.wake.notify_one();
            }
            if let Some(next) = next {
                serve(group, state, next).await;
            }
            return Err(failed.map_or_else(|| EngineError::Corrupt("a statement gave no result".into()), Into::into));
        }
        let served = rows.split_off(own);
        let keys = rows
            .iter()
            .flatten()
            .map(|row| sqlx::Row::try_get::<Option<String>, _>(row, 0))
            .collect::<sqlx::Result<Vec<_>>>();
        state.in_member = false;
        if commit {
            state.open = false;
            state.resolve(Ok(()));
        }
        state.waiting.extend(member);
        if let Some(next) = next {
            // The next member is open, or (if its opening or reads failed) is to be rolled back
            // like an abandoned one.
            state.in_member = true;
            state.open = true;
            match failed {
                // Its opening's result is not its.
                None => {
                    let writer = Writer { group: group.clone(), state: Some(state), savepoint: !commit };
                    _ = next.reply.send(Served { writer, rows: served.into_iter().skip(1).collect() });
                }
                Some(e) => {
                    tracing::debug!(error = %e, "opening a queued write transaction failed; trying alone");
                    serve(group, state, next).await;
                }
            }
        }
        Ok(keys?.into_iter().flatten().collect())
    }
}

/// Opens the `next` waiting transaction in a round trip of its own and hands it the connection,
/// so it keeps its turn when the member before it failed. If that fails too, it waits for the
/// connection like a newcomer (and rolls back what is left open as it gets it).
async fn serve(group: Arc<GroupCommit>, state: OwnedMutexGuard<WriterState>, next: Request) {
    let mut writer = Writer { group, state: Some(state), savepoint: false };
    match writer.open(next.reads.as_ref()).await {
        Ok(rows) => _ = next.reply.send(Served { writer, rows }),
        Err(e) => tracing::debug!(error = %e, "opening a queued write transaction failed"),
    }
}

/// Undoes a member whose last round trip failed: its savepoint is still there unless `RELEASE`
/// ran, and then it was `COMMIT` that failed, which leaves the whole group to roll back (as does
/// a first member, which has no savepoint: the group is its own).
async fn undo_member(state: &mut WriterState) {
    let conn = state.conn.as_mut().expect(CONNECTED);
    if sqlx::raw_sql("ROLLBACK TO w; RELEASE w").execute(&mut *conn).await.is_ok() {
        state.in_member = false;
    } else {
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
        state.open = false;
        state.in_member = false;
        state.resolve(Err("a member's commit failed".into()));
    }
}

/// The error a member of a group that did not commit gets.
fn group_failed(why: String) -> EngineError {
    EngineError::Storage(sqlx::Error::Io(std::io::Error::other(format!("the write transaction did not commit: {why}"))))
}

impl Drop for Writer {
    fn drop(&mut self) {
        // A member that ends normally has given its hold up; one still holding it failed or was
        // abandoned: the next holder, or the committer, rolls it back (see `settle`).
        if self.state.as_ref().is_some_and(|s| s.in_member || s.open) {
            self.group.wake.notify_one();
        }
    }
}

impl std::ops::Deref for TxConn {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        match self {
            TxConn::Read(tx) => tx,
            TxConn::Write(w) => w.state.as_deref().and_then(|s| s.conn.as_ref()).expect(HELD),
        }
    }
}

impl std::ops::DerefMut for TxConn {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        match self {
            TxConn::Read(tx) => tx,
            TxConn::Write(w) => w.conn(),
        }
    }
}

impl TxConn {
    async fn commit(self) -> Result<()> {
        match self {
            TxConn::Read(tx) => Ok(tx.commit().await?),
            TxConn::Write(mut w) => w.end(None).await.map(drop),
        }
    }
}

/// Runs the last flush statement and ends the transaction with it (see [`Writer::end`]).
async fn finish_batch(tx: &mut TxConn, batch: Batch) -> Result<Vec<String>> {
    match tx {
        TxConn::Write(w) => w.end(Some(batch)).await,
        TxConn::Read(_) => Err(EngineError::Config("a read transaction cannot write".into())),
    }
}

async fn begin_write_tx(group: &Writes) -> Result<TxConn> {
    let (writer, _) = group.acquire(None).await?;
    Ok(TxConn::Write(writer))
}

/// Commits what a group holds and closes the writer connection.
async fn close_writes(group: &Writes) {
    let mut state = group.state.lock().await;
    if state.in_member {
        let _ = settle(&mut state).await;
    }
    if state.open {
        state.commit_group().await;
    }
    if let Some(conn) = state.conn.take() {
        let _ = sqlx::Connection::close(conn).await;
    }
    group.wake.notify_one();
}

/// Begins a write transaction and reads what `ahead` names, in one round trip.
async fn begin_write_reading_tx(group: &Writes, scope: &Scope, ahead: &ReadAhead) -> Result<(TxConn, Ahead)> {
    let reads = ReadQuery { org: scope.org_id().clone(), ahead: ahead.clone() };
    let (writer, rows) = group.acquire(Some(reads.clone())).await?;
    Ok((TxConn::Write(writer), reads.found(&rows)?))
}

fn decode<T: for<'r> sqlx::FromRow<'r, SqliteRow>>(rows: &[SqliteRow]) -> sqlx::Result<Vec<T>> {
    rows.iter().map(T::from_row).collect()
}

fn decode_one<T: for<'r> sqlx::FromRow<'r, SqliteRow>>(rows: &[SqliteRow]) -> sqlx::Result<Option<T>> {
    rows.first().map(T::from_row).transpose()
}

async fn begin_read_tx(pool: &Pool<Db>) -> Result<TxConn> {
    Ok(TxConn::Read(pool.begin().await?))
}
