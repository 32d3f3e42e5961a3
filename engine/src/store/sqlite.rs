//! The SQLite store (the embedded default). SQLite has one writer at a time: write transactions
//! start with `BEGIN IMMEDIATE`, so they queue for the write lock instead of failing on upgrade,
//! and change_log's sequence order is commit order.
//!
//! Every statement is a round trip to the connection's own thread (sqlx), which costs more than
//! most of the statements themselves, so a write transaction sends `BEGIN IMMEDIATE` together
//! with the reads its operation names ([`ReadAhead`]) and `COMMIT` together with its writes
//! (see `FOLDS_COMMIT`): a task completion is two round trips.

use futures::TryStreamExt;
use sqlx::Either;
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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
/// SQLite has no notifications: readers poll.
const NOTIFIES: bool = false;
const LOCK_TASK_INSTANCE_SQL: Option<&str> = None;
/// An audit chain's head; the write lock already orders chain writers.
const AUDIT_HEAD_SQL: &str = "SELECT seq, hash FROM audit_heads WHERE org_id = $1 AND chain = $2";
/// One writer at a time: one chain per organisation.
const AUDIT_CHAINS: i32 = 1;
/// `COMMIT` may travel in the flush statement: `BEGIN IMMEDIATE` took the database's only write
/// lock before anything was read, so a conditional update whose expected revision was read in
/// this transaction cannot miss (the flush checks that before folding).
const FOLDS_COMMIT: bool = true;

/// Read-ahead of a task (`$1` the organisation, `$2` the task): the audit chain's head, the
/// task's family, its instance and its team's memberships, one result per statement.
const TASK_AHEAD_SQL: &str = "SELECT seq, hash FROM audit_heads WHERE org_id = $1 AND chain = 0;
    SELECT * FROM tasks WHERE instance_id = (SELECT instance_id FROM tasks WHERE id = $2) ORDER BY id;
    SELECT * FROM instances WHERE id = (SELECT instance_id FROM tasks WHERE id = $2);
    SELECT * FROM memberships WHERE team_id = (SELECT team_id FROM tasks WHERE id = $2) ORDER BY user_id LIMIT 201";

/// Read-ahead of a playbook (`$1` the organisation, `$2` the playbook, `$3` the branch): the
/// audit chain's head, the playbook, the branch and the playbook team's memberships.
const PLAYBOOK_AHEAD_SQL: &str = "SELECT seq, hash FROM audit_heads WHERE org_id = $1 AND chain = 0;
    SELECT * FROM playbooks WHERE id = $2;
    SELECT * FROM branches WHERE playbook_id = $2 AND name = $3;
    SELECT * FROM memberships WHERE team_id = (SELECT team_id FROM playbooks WHERE id = $2) ORDER BY user_id LIMIT 201";

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

    /// Never called (see `NOTIFIES`).
    fn notify(&mut self) {}

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
        // 8 MiB holds what writers touch (index interiors and the tables' recent pages); with
        // the readers' 64 MiB the engine benchmark ran about 5 % slower (docs/benchmarks.md).
        let writer = options.clone().pragma("temp_store", "memory").pragma("cache_size", "-8192");
        let writes = GroupCommit::new(sqlx::ConnectOptions::connect(&writer).await?);
        let background =
            vec![tokio::spawn(checkpoint_periodically(pool.clone())), tokio::spawn(commit_groups(writes.clone()))];
        Ok(Self { pool, writes, background })
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
struct GroupCommit {
    state: Arc<tokio::sync::Mutex<WriterState>>,
    /// Transactions waiting for the connection.
    queued: AtomicUsize,
    /// Wakes the committer task (see `commit_groups`).
    wake: Notify,
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
            queued: AtomicUsize::new(0),
            wake: Notify::new(),
        })
    }

    /// Waits for the connection (in arrival order), first rolling back what an earlier member
    /// left open.
    async fn acquire(self: &Arc<Self>) -> Result<Writer> {
        struct Queued<'a>(&'a AtomicUsize);
        impl Drop for Queued<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        self.queued.fetch_add(1, Ordering::SeqCst);
        let queued = Queued(&self.queued);
        let mut state = self.state.clone().lock_owned().await;
        drop(queued);
        if state.conn.is_none() {
            return Err(EngineError::Storage(sqlx::Error::PoolClosed));
        }
        if state.in_member {
            settle(&mut state).await?;
        }
        Ok(Writer { group: self.clone(), state: Some(state), savepoint: false })
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

    /// The statement that opens this member: the group's transaction when none is open, else the
    /// member's savepoint. The round trip that runs it must call `opened` after it.
    fn opening(&mut self) -> &'static str {
        let state = self.state();
        state.in_member = true;
        let open = state.open;
        self.savepoint = open;
        if open { "SAVEPOINT w; " } else { "BEGIN IMMEDIATE; " }
    }

    /// After the opening statements ran.
    fn opened(&mut self) {
        self.state().open = true;
    }

    /// Ends this member: runs `batch` (its writes, if any) with `RELEASE w`, and with `COMMIT`
    /// when no one queues for the connection or the group is full; otherwise hands the
    /// connection on and waits for the group's commit. Returns the keys the batch's conditional
    /// updates returned. On failure nothing of this member is kept.
    async fn end(&mut self, batch: Option<Batch>) -> Result<Vec<String>> {
        let state = self.state.take().expect(HELD);
        let commit = self.group.queued.load(Ordering::SeqCst) == 0 || state.waiting.len() + 1 >= GROUP_MAX;
        let mut batch = batch.unwrap_or_else(Batch::new);
        if self.savepoint {
            batch.statement(|qb| _ = qb.push("RELEASE w"), false);
        }
        if commit {
            batch.statement(|qb| _ = qb.push("COMMIT"), false);
        }
        // When others' work rides on the `COMMIT`, the round trip runs to the end (and they hear
        // how it went) even if this member is abandoned meanwhile.
        let detach = commit && !state.waiting.is_empty();
        let last = run_last(self.group.clone(), state, batch, commit);
        let (state, keys) =
            if detach { tokio::spawn(last).await.map_err(|e| group_failed(e.to_string()))? } else { last.await };
        let keys = keys?;
        if commit {
            return Ok(keys);
        }
        let (member, committed) = oneshot::channel();
        let mut state = state;
        state.waiting.push(member);
        drop(state);
        // In case those queued give up before one of them commits.
        self.group.wake.notify_one();
        match committed.await {
            Ok(Ok(())) => Ok(keys),
            Ok(Err(why)) => Err(group_failed(why)),
            Err(_) => Err(group_failed("the store closed before the group committed".into())),
        }
    }
}

/// Runs a member's last round trip (see [`Writer::end`]) and keeps the books; on failure undoes
/// the member and wakes the committer for the group's sake.
async fn run_last(
    group: Arc<GroupCommit>,
    mut state: OwnedMutexGuard<WriterState>,
    batch: Batch,
    commit: bool,
) -> (OwnedMutexGuard<WriterState>, Result<Vec<String>>) {
    let conn = state.conn.as_mut().expect(CONNECTED);
    let ran: std::result::Result<Vec<Option<String>>, _> = batch.finish().build_query_scalar().fetch_all(conn).await;
    match ran {
        Ok(keys) => {
            state.in_member = false;
            if commit {
                state.open = false;
                state.resolve(Ok(()));
            }
            (state, Ok(keys.into_iter().flatten().collect()))
        }
        Err(e) => {
            undo_member(&mut state).await;
            if state.open {
                group.wake.notify_one();
            }
            (state, Err(e.into()))
        }
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
    let mut writer = group.acquire().await?;
    let opening = writer.opening();
    sqlx::raw_sql(opening).execute(writer.conn()).await?;
    writer.opened();
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
    let mut writer = group.acquire().await?;
    let opening = writer.opening();
    // `BEGIN IMMEDIATE` or `SAVEPOINT w` comes first: the reads' results follow its.
    let first = 1;
    let sql = match ahead {
        ReadAhead::Task(_) => TASK_AHEAD_SQL,
        ReadAhead::Playbook { .. } => PLAYBOOK_AHEAD_SQL,
    };
    // Made of constants only.
    let sql = sqlx::AssertSqlSafe(format!("{opening}{sql}"));
    let query = match ahead {
        ReadAhead::Task(id) => sqlx::query(sql).bind(scope.org_id()).bind(id),
        ReadAhead::Playbook { id, branch } => sqlx::query(sql).bind(scope.org_id()).bind(id).bind(branch.as_str()),
    };
    // One list of rows per statement, split where each statement ends.
    let (mut results, mut current) = (Vec::new(), Vec::new());
    {
        let mut stream = sqlx::Executor::fetch_many(writer.conn(), query);
        while let Some(item) = stream.try_next().await? {
            match item {
                Either::Left(_) => results.push(std::mem::take(&mut current)),
                Either::Right(row) => current.push(row),
            }
        }
    }
    writer.opened();
    let rows = |i: usize| results.get(first + i).map(Vec::as_slice).unwrap_or_default();
    let found = match ahead {
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
    let mut fetched = Ahead::of(ahead, found);
    let head: Option<(i64, String)> = decode_one(rows(0))?;
    fetched.audit_head = head.map(|h| (scope.org_id().clone(), 0, h));
    Ok((TxConn::Write(writer), fetched))
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
