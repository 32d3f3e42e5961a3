//! DuckDB over the same snapshot: the Parquet files of each table's current Delta version, read
//! by DuckDB's bundled Parquet reader (its Delta extension would have to be downloaded), behind the
//! same team-scoped views as DataFusion's.
//!
//! DuckDB shares one catalog between the views and the query, so isolation does not rest on the
//! views alone: the connection only ever sees the scope's data. Tables partitioned by team are read
//! from the scope's partition folders only; the small unpartitioned ones (playbooks, teams, users,
//! …) are copied in, already filtered, before the connection is locked; then DuckDB may read no
//! file but those partitions (`allowed_paths`, `enable_external_access = false`,
//! `lock_configuration`), so even `read_parquet('…')` of another team's files or `read_csv` of the
//! machine's fails. The query itself must parse (with DuckDB's SQL dialect) as exactly one query.

use crate::WarehouseError;
use crate::location::Warehouse;
use crate::sql::{QueryLimits, QueryResult, TeamScope, raw, views};
use crate::tables::{self, ColumnKind, TableKind, TableSpec};

/// The query engine analysts' SQL runs on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SqlEngine {
    /// Apache DataFusion, over the Delta tables (the default).
    #[default]
    DataFusion,
    /// DuckDB, over the Parquet files of the same snapshot (local warehouses).
    DuckDb,
}

impl std::str::FromStr for SqlEngine {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "datafusion" => Ok(SqlEngine::DataFusion),
            "duckdb" => Ok(SqlEngine::DuckDb),
            other => Err(format!("unknown engine `{other}`: use datafusion or duckdb")),
        }
    }
}

impl Warehouse {
    /// Runs one read-only query on `engine`, over the tables `scope` may read.
    pub async fn query_on(
        &self,
        engine: SqlEngine,
        sql: &str,
        scope: &TeamScope,
        limits: QueryLimits,
    ) -> Result<QueryResult, WarehouseError> {
        match engine {
            SqlEngine::DataFusion => self.query(sql, scope, limits).await,
            SqlEngine::DuckDb => self.duckdb_query(sql, scope, limits).await,
        }
    }

    async fn duckdb_query(
        &self,
        sql: &str,
        scope: &TeamScope,
        limits: QueryLimits,
    ) -> Result<QueryResult, WarehouseError> {
        if self.root().scheme() != "file" {
            return Err(WarehouseError::Query(
                "DuckDB reads warehouses in a local folder only; use the DataFusion engine for this one".into(),
            ));
        }
        let mut snapshot = Vec::new();
        for spec in tables::ALL.iter().filter(|t| t.kind != TableKind::Internal) {
            let table = self.table(spec).await?;
            let files: Vec<String> = table.get_file_uris().map_err(|e| WarehouseError::delta(spec.name, e))?.collect();
            snapshot.push((spec, files));
        }
        let (sql, scope) = (sql.to_string(), scope.clone());
        let run = tokio::task::spawn_blocking(move || {
            let connection = open(&snapshot, &scope, limits)?;
            let interrupt = connection.interrupt_handle();
            let (done, finished) = std::sync::mpsc::channel::<()>();
            let watchdog = std::thread::spawn(move || {
                if finished.recv_timeout(limits.timeout).is_err() {
                    interrupt.interrupt();
                    true
                } else {
                    false
                }
            });
            let result = execute(&connection, &sql, limits);
            let _ = done.send(());
            let timed_out = watchdog.join().unwrap_or(false);
            match result {
                Err(_) if timed_out => Err(WarehouseError::Timeout(limits.timeout)),
                other => other,
            }
        });
        run.await.map_err(|e| WarehouseError::Query(format!("the query stopped: {e}")))?
    }
}

/// An in-memory DuckDB holding the scope's tables and views, which may read nothing else.
fn open(
    snapshot: &[(&TableSpec, Vec<String>)],
    scope: &TeamScope,
    limits: QueryLimits,
) -> Result<duckdb::Connection, WarehouseError> {
    let connection = duckdb::Connection::open_in_memory().map_err(duck)?;
    let mut setup = vec![
        format!("SET memory_limit = '{}B'", limits.memory_bytes),
        "SET threads = 2".to_string(),
        "SET autoinstall_known_extensions = false".to_string(),
        "SET autoload_known_extensions = false".to_string(),
    ];
    let mut allowed: Vec<&String> = Vec::new();
    for (spec, files) in snapshot {
        let partitioned = spec.partition_by.first() == Some(&"team_id");
        let files: Vec<&String> = files.iter().filter(|f| !partitioned || in_scope(f, scope)).collect();
        setup.push(format!("CREATE VIEW {} AS {}", raw(spec), source(spec, &files)));
        if partitioned {
            allowed.extend(files);
        }
    }
    let mut copied = Vec::new();
    for (spec, _) in snapshot {
        let partitioned = spec.partition_by.first() == Some(&"team_id");
        for (name, view) in views(spec, scope) {
            let kind = if partitioned { "VIEW" } else { "TABLE" };
            setup.push(format!("CREATE {kind} \"{name}\" AS {view}"));
        }
        if !partitioned {
            copied.push(raw(spec));
        }
    }
    setup.extend(copied.iter().map(|name| format!("DROP VIEW {name}")));
    let allowed = allowed.iter().map(|f| quote(f)).collect::<Vec<_>>().join(", ");
    setup.push(format!("SET allowed_paths = [{allowed}]"));
    setup.push("SET enable_external_access = false".into());
    setup.push("SET lock_configuration = true".into());
    for statement in setup {
        connection.execute_batch(&statement).map_err(|e| WarehouseError::Query(format!("{statement}: {e}")))?;
    }
    Ok(connection)
}

/// Whether a file of a table partitioned by team holds rows of the scope's teams.
fn in_scope(file: &str, scope: &TeamScope) -> bool {
    match scope {
        TeamScope::All => true,
        TeamScope::Teams(teams) => teams.iter().any(|t| file.contains(&format!("/team_id={t}/"))),
    }
}

/// The rows of a table's files, with its schema (hive partition values typed as text), or no rows
/// of that schema when it has no files yet.
fn source(spec: &TableSpec, files: &[&String]) -> String {
    if files.is_empty() {
        let columns: Vec<String> =
            spec.columns.iter().map(|c| format!("CAST(NULL AS {}) AS \"{}\"", duck_type(c.kind), c.name)).collect();
        return format!("SELECT {} LIMIT 0", columns.join(", "));
    }
    let list = files.iter().map(|f| quote(f)).collect::<Vec<_>>().join(", ");
    let hive: Vec<String> = spec.partition_by.iter().map(|p| format!("'{p}': VARCHAR")).collect();
    let options = if hive.is_empty() {
        "hive_partitioning = false".to_string()
    } else {
        format!("hive_partitioning = true, hive_types = {{{}}}", hive.join(", "))
    };
    let columns: Vec<String> = spec.columns.iter().map(|c| format!("\"{}\"", c.name)).collect();
    format!("SELECT {} FROM read_parquet([{list}], {options}, union_by_name = true)", columns.join(", "))
}

fn duck_type(kind: ColumnKind) -> &'static str {
    match kind {
        ColumnKind::Text | ColumnKind::Json => "VARCHAR",
        ColumnKind::Int => "BIGINT",
        ColumnKind::Bool => "BOOLEAN",
        ColumnKind::Timestamp => "TIMESTAMPTZ",
    }
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Checks that the SQL is exactly one query, then runs it.
fn execute(connection: &duckdb::Connection, sql: &str, limits: QueryLimits) -> Result<QueryResult, WarehouseError> {
    use datafusion::sql::sqlparser::{ast::Statement, dialect::DuckDbDialect, parser::Parser};
    let statements = Parser::parse_sql(&DuckDbDialect {}, sql).map_err(|e| WarehouseError::Query(e.to_string()))?;
    match statements.as_slice() {
        [Statement::Query(_)] => {}
        [other] => {
            let kind = other.to_string().split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
            return Err(WarehouseError::NotReadOnly(format!("{kind} is not a query")));
        }
        _ => return Err(WarehouseError::Query("exactly one statement is expected".into())),
    }
    let mut statement = connection.prepare(sql).map_err(duck)?;
    let arrow = statement.query_arrow([]).map_err(duck)?;
    let mut result = QueryResult::empty(arrow.get_schema());
    for batch in arrow {
        if !result.take(batch, limits.max_rows) {
            break;
        }
    }
    Ok(result)
}

fn duck(e: duckdb::Error) -> WarehouseError {
    WarehouseError::Query(e.to_string())
}
