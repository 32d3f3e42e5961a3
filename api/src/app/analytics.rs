//! Analytics over the warehouse: analysts' SQL, process reports and event-log imports. The
//! warehouse is private to the application layer and reached only here, each operation through
//! [`team_scope`], the one function that turns a caller's scope and a permission into the rows
//! of a team it may read.

use super::{App, AppError, AppResult};
use orgata_engine::{Permission, Scope, TeamId};
use orgata_ingest::import::{self, Imported, LogFormat};
use orgata_reports::{Filter, ReportKind, ReportOptions, ReportOutput};
use orgata_warehouse::{OutputFormat, QueryLimits, QueryResult, SqlEngine, TeamScope};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Rows an answer holds at most.
pub const MAX_ROWS: usize = 10_000;
/// Longest a query may run.
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// Memory a query may use.
pub const MEMORY_BYTES: usize = 512 << 20;

/// The rows of `team` that `scope` may read with `permission`: the one place a [`TeamScope`] is
/// made, so no operation reaches team data without the check.
pub(super) fn team_scope(scope: &Scope, team: &TeamId, permission: Permission) -> AppResult<TeamScope> {
    scope.require(team, permission)?;
    Ok(TeamScope::Teams(vec![team.to_string()]))
}

/// A query.
#[derive(Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlRequest {
    /// One read-only query (SELECT, WITH, EXPLAIN …) over `events`, `instances`, `tasks`,
    /// `playbooks`, `playbook_versions`, `teams`, `memberships`, `users` and their `_history`.
    #[schema(min_length = 1, max_length = 100000)]
    #[schemars(length(min = 1, max = 100000))]
    pub sql: String,
    /// Rows returned at most (1 to 10,000; default 1,000).
    #[schema(minimum = 1, maximum = 10000)]
    #[schemars(range(min = 1, max = 10000))]
    pub max_rows: Option<u32>,
    /// `datafusion` (the default) or `duckdb`, over the same snapshot.
    #[schema(pattern = "^(datafusion|duckdb)$")]
    #[schemars(regex(pattern = "^(datafusion|duckdb)$"))]
    pub engine: Option<String>,
}

/// A column of the answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SqlColumn {
    pub name: String,
    /// The Arrow type, like `Utf8`, `Int64` or `Timestamp(µs, "UTC")`.
    #[serde(rename = "type")]
    pub data_type: String,
}

/// The answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SqlAnswer {
    pub columns: Vec<SqlColumn>,
    /// One object per row, keyed by column name (nulls left out).
    #[schema(value_type = Vec<Object>)]
    pub rows: serde_json::Value,
    pub row_count: usize,
    /// Whether rows beyond `max_rows` were left out.
    pub truncated: bool,
}

/// A request's row limit (default 1,000; 1 to 10,000) and engine (default DataFusion).
pub fn sql_options(max_rows: Option<u32>, engine: Option<&str>) -> AppResult<(usize, SqlEngine)> {
    let max_rows = match max_rows {
        None => 1_000,
        Some(n @ 1..=10_000) => n as usize,
        Some(_) => return Err(AppError::invalid_field("/max_rows", "must be between 1 and 10000")),
    };
    let engine = match engine.map(str::parse::<SqlEngine>) {
        None => SqlEngine::DataFusion,
        Some(Ok(engine)) => engine,
        Some(Err(message)) => return Err(AppError::invalid_field("/engine", message)),
    };
    Ok((max_rows, engine))
}

/// A result as JSON columns and rows.
pub fn answer(result: &QueryResult) -> AppResult<SqlAnswer> {
    let mut body = Vec::new();
    result.write(OutputFormat::Json, &mut body)?;
    let rows = serde_json::from_slice(&body)
        .map_err(|e| AppError::from(orgata_warehouse::WarehouseError::Query(e.to_string())))?;
    let columns = result
        .schema
        .fields()
        .iter()
        .map(|f| SqlColumn { name: f.name().clone(), data_type: f.data_type().to_string() })
        .collect();
    Ok(SqlAnswer { columns, rows, row_count: result.rows, truncated: result.truncated })
}

impl App {
    /// Runs analysts' `sql` over `team`'s rows: the caller needs `sql.run` in the team. Read-only,
    /// with a timeout and limits.
    pub async fn team_query(
        &self,
        scope: &Scope,
        team: &TeamId,
        sql: &str,
        max_rows: usize,
        engine: SqlEngine,
    ) -> AppResult<QueryResult> {
        let teams = team_scope(scope, team, Permission::SqlRun)?;
        if sql.trim().is_empty() {
            return Err(AppError::invalid_field("/sql", "must hold a query"));
        }
        let limits =
            QueryLimits { timeout: TIMEOUT, max_rows: max_rows.clamp(1, MAX_ROWS), memory_bytes: MEMORY_BYTES };
        Ok(self.warehouse.query_on(engine, sql, &teams, limits).await?)
    }

    /// Computes a report over `team`'s events, with what it counted: the caller needs `analytics.read` there (and in a
    /// comparison's other team).
    pub async fn team_report(
        &self,
        scope: &Scope,
        team: &TeamId,
        kind: ReportKind,
        filter: &Filter,
        options: &ReportOptions,
    ) -> AppResult<ReportOutput> {
        let teams = team_scope(scope, team, Permission::AnalyticsRead)?;
        if let Some(versus_team) = &options.versus.team {
            team_scope(scope, &TeamId::from(versus_team.as_str()), Permission::AnalyticsRead)?;
        }
        if !options.versus.is_empty() && kind != ReportKind::Compare {
            return Err(AppError::invalid_field("versus_*", "the versus parameters are for the compare report"));
        }
        Ok(orgata_reports::run(kind, &self.warehouse, &teams, filter, options).await?)
    }

    /// Imports an event log into `team`'s events under `source` (replacing an earlier import of
    /// the same source): the caller needs `team.manage`.
    pub async fn import_log(
        &self,
        scope: &Scope,
        team: &TeamId,
        input: Box<dyn std::io::BufRead + Send>,
        format: &LogFormat,
        source: &str,
    ) -> AppResult<Imported> {
        team_scope(scope, team, Permission::TeamManage)?;
        import::check_source(source).map_err(|e| AppError::invalid_field("source", e.to_string()))?;
        // Parsing runs on a blocking thread while the warehouse writes.
        Ok(import::import(&self.warehouse, input, format, team.as_str(), source, |_| {}).await?)
    }
}
