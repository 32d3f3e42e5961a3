//! Analysts' SQL over the warehouse, with DataFusion.
//!
//! Each query gets its own session in which the only tables are views over one snapshot of the
//! Delta tables, already filtered to the caller's teams (design.md, invariant 4): the raw tables
//! are never registered where the query can name them, so no SQL reaches another team's rows, and
//! a caller's SQL reads each table through a scan that applies the scope before any of its
//! expressions sees a row (`scope`). Version-keeping tables appear as their current state
//! (`tasks`) and their history (`tasks_history`). Only a single read-only query is accepted; it is
//! bounded in size and depth before it is planned and runs on the query threads (`bounds`), with
//! a timeout, a row limit and a memory limit; its errors quote no row's value (`redact`).

use crate::location::Warehouse;
use crate::redact::{self, Phase};
use crate::scope::ScopedTable;
use crate::tables::{self, TableKind, TableSpec};
use crate::{WarehouseError, bounds};
use arrow::array::RecordBatch;
use arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::catalog::view::ViewTable;
use datafusion::common::TableReference;
use datafusion::common::{DataFusionError, Result as DFResult};
use datafusion::execution::TaskContext;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::physical_plan::{ExecutionPlan, execute_stream, execute_stream_partitioned};
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

/// Whose rows a query may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamScope {
    /// Every team's (an operator on the machine that holds the warehouse).
    All,
    /// Only these teams' rows; users are those with a membership in one of them.
    Teams(Vec<String>),
}

impl TeamScope {
    /// Whether the scope may read the team's rows.
    pub fn includes(&self, team: &str) -> bool {
        match self {
            TeamScope::All => true,
            TeamScope::Teams(teams) => teams.iter().any(|t| t == team),
        }
    }
}

/// The bounds a query runs within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    pub timeout: Duration,
    /// Rows returned at most; the result says when more were left out.
    pub max_rows: usize,
    /// Memory the query's operators may hold (sorts, joins, aggregations).
    pub memory_bytes: usize,
}

impl Default for QueryLimits {
    /// 30 s, 10,000 rows, 1 GiB.
    fn default() -> Self {
        QueryLimits { timeout: Duration::from_secs(30), max_rows: 10_000, memory_bytes: 1 << 30 }
    }
}

/// A query's answer.
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    /// Rows in `batches`.
    pub rows: usize,
    /// Whether rows beyond the row limit were left out.
    pub truncated: bool,
    /// Bytes the query's operators wrote to disk because the memory limit was reached (sorts and
    /// aggregations spill; see [`SPILL_PER_MEMORY`]).
    pub spilled_bytes: usize,
}

impl QueryResult {
    /// No rows yet, of `schema`.
    pub(crate) fn empty(schema: SchemaRef) -> Self {
        QueryResult { schema, batches: Vec::new(), rows: 0, truncated: false, spilled_bytes: 0 }
    }

    /// Adds a batch of the answer, cut at `max_rows`; false once the limit is reached.
    pub(crate) fn take(&mut self, batch: RecordBatch, max_rows: usize) -> bool {
        let room = max_rows.saturating_sub(self.rows);
        if batch.num_rows() > room {
            self.batches.push(batch.slice(0, room));
            self.rows += room;
            self.truncated = true;
            return false;
        }
        self.rows += batch.num_rows();
        self.batches.push(batch);
        true
    }
}

/// Whose SQL a query runs, which decides how the scope is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Author {
    /// A caller's SQL (analysts, agents): the scope is applied at the scan, behind a barrier.
    Caller,
    /// SQL Orgata composed from validated values (the reports): the scope is a filter the optimizer
    /// may combine with the query's own predicates, which then prune partitions and files.
    Orgata,
}

impl Warehouse {
    /// Runs one read-only SQL query of a caller's over the tables `scope` may read. No
    /// expression of the query is evaluated on a row outside the scope (`scope`), errors carry
    /// no row values (`redact`), and the query is bounded in size, depth, time, rows and memory.
    pub async fn query(
        &self,
        sql: &str,
        scope: &TeamScope,
        limits: QueryLimits,
    ) -> Result<QueryResult, WarehouseError> {
        self.collect(Author::Caller, sql, scope, limits).await
    }

    /// Runs one read-only SQL query that Orgata composed itself from validated values (a
    /// report's). Its predicates may be pushed below the scope's filter to prune partitions and
    /// files, so it must never hold a caller's expression: a caller's SQL goes through
    /// [`Self::query`].
    pub async fn query_own(
        &self,
        sql: &str,
        scope: &TeamScope,
        limits: QueryLimits,
    ) -> Result<QueryResult, WarehouseError> {
        self.collect(Author::Orgata, sql, scope, limits).await
    }

    /// Runs one read-only SQL query that Orgata composed itself (as [`Self::query_own`]) and
    /// hands each batch of its answer to `step` as it comes, instead of collecting the answer: for
    /// a report that passes over a filter's events in Rust. Each partition of the answer is folded
    /// into a state of its own (`S::default()`) on the query threads, at the same time; the states
    /// are returned, with the bytes the query's operators spilled. No row limit applies.
    pub async fn fold_own<S, F>(
        &self,
        sql: &str,
        scope: &TeamScope,
        limits: QueryLimits,
        step: F,
    ) -> Result<(Vec<S>, usize), WarehouseError>
    where
        S: Default + Send + 'static,
        F: Fn(&mut S, RecordBatch) + Send + Sync + 'static,
    {
        let fold = Fold { states: Vec::new(), step: Arc::new(step) };
        let (fold, _, spilled) = self.run(Author::Orgata, sql, scope, limits, fold).await?;
        Ok((fold.states, spilled))
    }

    /// Runs a query and collects its answer up to the row limit.
    async fn collect(
        &self,
        author: Author,
        sql: &str,
        scope: &TeamScope,
        limits: QueryLimits,
    ) -> Result<QueryResult, WarehouseError> {
        let collect = Collect { result: QueryResult::empty(Arc::new(Schema::empty())), max_rows: limits.max_rows };
        let (collect, schema, spilled) = self.run(author, sql, scope, limits, collect).await?;
        Ok(QueryResult { schema, spilled_bytes: spilled, ..collect.result })
    }

    /// Runs a query on the query threads within its time limit, its answer's batches going to
    /// `sink`; returns the sink, the answer's schema and the bytes spilled.
    async fn run<K: Sink>(
        &self,
        author: Author,
        sql: &str,
        scope: &TeamScope,
        limits: QueryLimits,
        sink: K,
    ) -> Result<(K, SchemaRef, usize), WarehouseError> {
        bounds::check_size(sql)?;
        let (warehouse, sql, scope) = (self.clone(), sql.to_string(), scope.clone());
        bounds::on_query_threads(move || async move {
            let run = warehouse.plan_and_run(author, &sql, &scope, limits, sink);
            tokio::time::timeout(limits.timeout, run).await.map_err(|_| WarehouseError::Timeout(limits.timeout))?
        })
        .await
    }

    /// Plans one read-only query in a session of `scope`'s views and runs it (on the query
    /// threads), its batches going to `sink` until it wants no more.
    async fn plan_and_run<K: Sink>(
        &self,
        author: Author,
        sql: &str,
        scope: &TeamScope,
        limits: QueryLimits,
        mut sink: K,
    ) -> Result<(K, SchemaRef, usize), WarehouseError> {
        // The text is parsed and its depth checked before any table is opened.
        let ctx = context(limits.memory_bytes)?;
        let planning = |e| redact::datafusion(e, Phase::Planning);
        let dialect = ctx.state().config().options().sql_parser.dialect;
        let statement = ctx.state().sql_to_statement(sql, &dialect).map_err(planning)?;
        bounds::check_depth(&statement)?;
        let references = ctx.state().resolve_table_references(&statement).map_err(planning)?;
        self.register_views(&ctx, author, scope, &tables_read(&references)).await?;
        let plan = ctx.state().statement_to_plan(statement).await.map_err(|e| {
            let names: Vec<String> =
                tables::ALL.iter().filter(|t| t.kind != TableKind::Internal).flat_map(view_names).collect();
            redact::readable(planning(e), &names)
        })?;
        SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false)
            .verify_plan(&plan)
            .map_err(|e| WarehouseError::NotReadOnly(e.strip_backtrace()))?;
        let query = plan.clone();
        let running = |e| redact::datafusion_running(e, &query);
        let frame = ctx.execute_logical_plan(plan).await.map_err(running)?;
        let schema = Arc::new(frame.schema().as_arrow().clone());
        let task = Arc::new(frame.task_ctx());
        let physical = frame.create_physical_plan().await.map_err(running)?;
        sink.read(physical.clone(), task).await.map_err(running)?;
        Ok((sink, schema, spilled_bytes(physical.as_ref())))
    }

    /// Registers in `ctx` the views of `tables` that `scope` may read, over the tables' newest
    /// snapshots.
    async fn register_views(
        &self,
        ctx: &SessionContext,
        author: Author,
        scope: &TeamScope,
        tables: &[&'static TableSpec],
    ) -> Result<(), WarehouseError> {
        let storage = |e| redact::datafusion(e, Phase::Running);
        // The raw tables live in a private session; the scope's rows of each in a second one,
        // under the raw name, where the views are planned; only the views are shared.
        let private = SessionContext::new();
        let scoped = SessionContext::new();
        let barrier = author == Author::Caller && *scope != TeamScope::All;
        for &spec in tables {
            let table = self.table(spec).await?;
            let delta = |e| WarehouseError::delta(spec.name, e);
            table.update_datafusion_session(&ctx.state()).map_err(delta)?;
            table.update_datafusion_session(&private.state()).map_err(delta)?;
            // Strings are read as `Utf8`, not as views (see `context`).
            let provider = table.table_provider().with_session(Arc::new(ctx.state())).await.map_err(storage)?;
            private.register_table(raw(spec), provider).map_err(storage)?;
            let rows = private.sql(&scope_rows(spec, scope)).await.map_err(storage)?.into_unoptimized_plan();
            let provider: Arc<dyn TableProvider> = if barrier {
                Arc::new(ScopedTable::new(spec.name, rows, spec.is_partitioned_by_team()))
            } else {
                Arc::new(ViewTable::new(rows, None))
            };
            scoped.register_table(raw(spec), provider).map_err(storage)?;
        }
        for &spec in tables {
            // `raw_<table>` here is already the scope's rows.
            for (name, view) in views(spec, &format!("SELECT * FROM {}", raw(spec))) {
                let plan = scoped.sql(&view).await.map_err(storage)?.into_unoptimized_plan();
                ctx.register_table(name, Arc::new(ViewTable::new(plan, Some(view)))).map_err(storage)?;
            }
        }
        Ok(())
    }
}

/// The tables a statement reads, in the order of [`tables::ALL`]: those whose views it names,
/// with the tables their scope filters read ([`scope_reads`]). Every table when it names anything
/// else — `information_schema`, a qualified or unknown name — or nothing at all, so that listings
/// of the tables stay whole. Opening only what a query reads spares each query the other tables'
/// Delta logs.
fn tables_read(references: &[TableReference]) -> Vec<&'static TableSpec> {
    let visible = || tables::ALL.iter().filter(|t| t.kind != TableKind::Internal);
    let mut named = Vec::new();
    for reference in references {
        let TableReference::Bare { table } = reference else { return visible().collect() };
        match visible().find(|spec| view_names(spec).any(|name| name == table.as_ref())) {
            Some(spec) => named.extend([Some(spec.name), scope_reads(spec)].into_iter().flatten()),
            None => return visible().collect(),
        }
    }
    if named.is_empty() {
        return visible().collect();
    }
    visible().filter(|spec| named.contains(&spec.name)).collect()
}

/// An empty session for one query, its operators held to `memory_bytes`.
fn context(memory_bytes: usize) -> Result<SessionContext, WarehouseError> {
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_limit(memory_bytes, 1.0)
        .with_max_temp_directory_size((memory_bytes as u64).saturating_mul(SPILL_PER_MEMORY))
        .build_arc()
        .map_err(|e| redact::datafusion(e, Phase::Running))?;
    // Parquet's strings are read as `Utf8` rather than string views: a hash aggregation that
    // spills writes each batch it cuts from a string-view batch with all of that batch's string
    // buffers (apache/datafusion#21325), which over long keys such as team ids turned a 2 GiB
    // budget into tens of GB on disk.
    let config = SessionConfig::new()
        .with_information_schema(true)
        .set_bool("datafusion.execution.parquet.schema_force_view_types", false);
    Ok(SessionContext::new_with_config_rt(config, runtime))
}

/// How many times its memory limit a query may write to disk when it spills; beyond that it fails
/// ("resources exhausted") rather than filling the disk.
pub const SPILL_PER_MEMORY: u64 = 4;

/// The bytes every operator of an executed plan spilled.
fn spilled_bytes(plan: &dyn ExecutionPlan) -> usize {
    let own = plan.metrics().and_then(|metrics| metrics.spilled_bytes()).unwrap_or(0);
    own + plan.children().into_iter().map(|child| spilled_bytes(child.as_ref())).sum::<usize>()
}

/// Where the batches of a query's answer go, as they come.
trait Sink: Send + 'static {
    /// Reads the answer of an executed plan, or as much of it as it wants.
    fn read(
        &mut self,
        plan: Arc<dyn ExecutionPlan>,
        task: Arc<TaskContext>,
    ) -> impl Future<Output = DFResult<()>> + Send;
}

/// Collects an answer up to a row limit.
struct Collect {
    result: QueryResult,
    max_rows: usize,
}

impl Sink for Collect {
    async fn read(&mut self, plan: Arc<dyn ExecutionPlan>, task: Arc<TaskContext>) -> DFResult<()> {
        let mut stream = execute_stream(plan, task)?;
        while let Some(batch) = stream.next().await {
            if !self.result.take(batch?, self.max_rows) {
                break;
            }
        }
        Ok(())
    }
}

/// Folds each partition of an answer into a state of its own with a step function, one task per
/// partition.
struct Fold<S, F> {
    states: Vec<S>,
    step: Arc<F>,
}

impl<S, F> Sink for Fold<S, F>
where
    S: Default + Send + 'static,
    F: Fn(&mut S, RecordBatch) + Send + Sync + 'static,
{
    async fn read(&mut self, plan: Arc<dyn ExecutionPlan>, task: Arc<TaskContext>) -> DFResult<()> {
        // Dropped on an error or a timeout, the set aborts the partitions still running.
        let mut partitions = JoinSet::new();
        for (at, mut stream) in execute_stream_partitioned(plan, task)?.into_iter().enumerate() {
            let step = self.step.clone();
            partitions.spawn(async move {
                let mut state = S::default();
                while let Some(batch) = stream.next().await {
                    step(&mut state, batch?);
                }
                Ok::<_, DataFusionError>((at, state))
            });
        }
        let mut states = Vec::new();
        while let Some(done) = partitions.join_next().await {
            // A panic's message could quote a row's value: it is not passed on.
            let done = done.map_err(|_| DataFusionError::Execution("a partition of the query stopped".into()))?;
            states.push(done?);
        }
        // In partition order, whichever finished first.
        states.sort_by_key(|(at, _)| *at);
        self.states = states.into_iter().map(|(_, state)| state).collect();
        Ok(())
    }
}

impl Warehouse {
    /// The number of rows a table holds (every version, for version-keeping tables).
    pub async fn row_count(&self, spec: &TableSpec) -> Result<usize, WarehouseError> {
        let table = self.table(spec).await?;
        let ctx = SessionContext::new();
        let query_error = |e| redact::datafusion(e, Phase::Running);
        let delta = |e| WarehouseError::delta(spec.name, e);
        table.update_datafusion_session(&ctx.state()).map_err(delta)?;
        ctx.register_table("t", table.table_provider().await.map_err(query_error)?).map_err(query_error)?;
        let count = ctx.table("t").await.map_err(query_error)?.count().await.map_err(query_error)?;
        Ok(count)
    }
}

/// The private name of a table's raw rows.
pub(crate) fn raw(spec: &TableSpec) -> String {
    format!("raw_{}", spec.name)
}

/// The rows of a table that `scope` may read, as SQL over the raw table.
pub(crate) fn scope_rows(spec: &TableSpec, scope: &TeamScope) -> String {
    format!("SELECT * FROM {} WHERE {}", raw(spec), scope_filter(spec, scope))
}

/// The views of a table over `rows`, the SQL of its rows a caller may read: `(name, SQL)`, with
/// the names of [`view_names`].
pub(crate) fn views(spec: &TableSpec, rows: &str) -> Vec<(String, String)> {
    let history = rows.to_string();
    let sql = match spec.kind {
        TableKind::Internal => Vec::new(),
        TableKind::Log => vec![history],
        TableKind::Versions => vec![current_state(spec, &history), history],
    };
    view_names(spec).zip(sql).collect()
}

/// The names of a table's views: none for an internal table, its own for a log, and its own
/// (the current state) and `<name>_history` for a table of versions.
fn view_names(spec: &TableSpec) -> impl Iterator<Item = String> {
    let names = match spec.kind {
        TableKind::Internal => vec![],
        TableKind::Log => vec![spec.name.to_string()],
        TableKind::Versions => vec![spec.name.to_string(), format!("{}_history", spec.name)],
    };
    names.into_iter()
}

/// The newest version of every record among `versions`, unless it was deleted; without the
/// bookkeeping columns.
fn current_state(spec: &TableSpec, versions: &str) -> String {
    let columns: Vec<String> =
        spec.columns.iter().filter(|c| !c.name.starts_with('_')).map(|c| format!("\"{}\"", c.name)).collect();
    format!(
        "SELECT {columns} FROM (SELECT *, row_number() OVER (PARTITION BY _id ORDER BY _xid DESC, _seq DESC) AS _rank \
         FROM ({versions})) WHERE _rank = 1 AND _op <> 'delete'",
        columns = columns.join(", ")
    )
}

/// The other table a table's scope filter reads ([`scope_filter`]): a team's users are those with
/// a current membership in it.
fn scope_reads(spec: &TableSpec) -> Option<&'static str> {
    (!spec.is_team_scoped()).then_some(tables::MEMBERSHIPS.name)
}

/// The predicate that keeps `scope`'s rows of a table.
fn scope_filter(spec: &TableSpec, scope: &TeamScope) -> String {
    let TeamScope::Teams(teams) = scope else { return "true".into() };
    if teams.is_empty() {
        return "false".into();
    }
    let list = teams.iter().map(|t| format!("'{}'", t.replace('\'', "''"))).collect::<Vec<_>>().join(", ");
    if spec.is_team_scoped() {
        format!("team_id IN ({list})")
    } else {
        // Users: those with a current membership in one of the teams.
        let memberships = current_state(&tables::MEMBERSHIPS, &format!("SELECT * FROM {}", raw(&tables::MEMBERSHIPS)));
        format!("id IN (SELECT user_id FROM ({memberships}) WHERE team_id IN ({list}))")
    }
}
