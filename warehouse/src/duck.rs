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
//! machine's fails; it spills into a folder of its own, which no other query's DuckDB may read and
//! which is removed with it. DuckDB's own parser must find exactly one statement in the SQL, and
//! its binder must call that statement a `SELECT`, before anything runs: `COPY`, `EXPORT`,
//! `ATTACH`, `SET`, `INSTALL`, `PRAGMA` and writes are refused whatever quoting hides them.
//!
//! Times: every time in the warehouse is UTC. DuckDB's arithmetic and calendar functions on
//! `TIMESTAMP WITH TIME ZONE` live in its ICU extension, which the bundled build does not hold
//! (and extensions are never loaded here), so the views expose times as plain `TIMESTAMP`s in UTC,
//! and `now()`, `current_timestamp` and `get_current_timestamp()` give the current time the same
//! way: `ts >= now() - INTERVAL 30 DAY`, `date_trunc('month', ts)`, `dayofweek(ts)` and
//! differences of two times all work with DuckDB's core functions. Times in an answer are marked
//! UTC again, as DataFusion's are, so both engines answer alike.

use crate::location::Warehouse;
use crate::redact::{self, Phase};
use crate::sql::{QueryLimits, QueryResult, TeamScope, raw, scope_rows, views};
use crate::tables::{self, ColumnKind, TableKind, TableSpec};
use crate::{WarehouseError, bounds};
use duckdb::ffi;

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
        bounds::check_size(sql)?;
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
        bounds::blocking_on_query_threads(move || {
            let sandbox = Sandbox::open(&snapshot, &scope, limits)?;
            let connection = sandbox.connection()?;
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
            let result = sandbox.check_one_query(&sql).and_then(|()| execute(connection, &sql, limits));
            let _ = done.send(());
            let timed_out = watchdog.join().unwrap_or(false);
            match result {
                Err(_) if timed_out => Err(WarehouseError::Timeout(limits.timeout)),
                other => other,
            }
        })
        .await
    }
}

/// An in-memory DuckDB for one query, holding the scope's tables and views and allowed to read
/// nothing else; with a connection of its own for DuckDB's parser, and a spill folder no other
/// query can see, removed with it.
struct Sandbox {
    /// The connection the query runs on (closed first).
    connection: Option<duckdb::Connection>,
    /// The connection DuckDB's parser and binder check the query on.
    checker: ffi::duckdb_connection,
    database: ffi::duckdb_database,
    /// Removed once the database is closed.
    spill: tempfile::TempDir,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.connection = None;
        // SAFETY: both handles were opened by `Sandbox::open` and are closed only here; the
        // query's connection on the database was closed just above.
        unsafe {
            ffi::duckdb_disconnect(&mut self.checker);
            ffi::duckdb_close(&mut self.database);
        }
    }
}

impl Sandbox {
    fn open(
        snapshot: &[(&TableSpec, Vec<String>)],
        scope: &TeamScope,
        limits: QueryLimits,
    ) -> Result<Sandbox, WarehouseError> {
        let spill = tempfile::Builder::new()
            .prefix("orgata-duckdb-")
            .tempdir()
            .map_err(|e| WarehouseError::Query(format!("DuckDB's spill folder: {e}")))?;
        let mut database = std::ptr::null_mut();
        // SAFETY: a null path opens an in-memory database into `database`.
        if unsafe { ffi::duckdb_open(std::ptr::null(), &mut database) } != ffi::DuckDBSuccess {
            return Err(WarehouseError::Query("DuckDB could not open an in-memory database".into()));
        }
        let mut checker = std::ptr::null_mut();
        // SAFETY: `database` is open; a failed connect leaves `checker` null, which disconnect ignores.
        let connected = unsafe { ffi::duckdb_connect(database, &mut checker) } == ffi::DuckDBSuccess;
        let mut sandbox = Sandbox { connection: None, checker, database, spill };
        if !connected {
            return Err(WarehouseError::Query("DuckDB could not connect".into()));
        }
        // SAFETY: the database stays open until `sandbox` is dropped, after this connection.
        let connection = unsafe { duckdb::Connection::open_from_raw(database) }.map_err(|e| setup(&e))?;
        for statement in setup_statements(snapshot, scope, limits, sandbox.spill.path()) {
            connection.execute_batch(&statement).map_err(|e| setup(&e))?;
        }
        sandbox.connection = Some(connection);
        Ok(sandbox)
    }

    fn connection(&self) -> Result<&duckdb::Connection, WarehouseError> {
        self.connection.as_ref().ok_or_else(|| WarehouseError::Query("DuckDB is closed".into()))
    }

    /// Checks, with DuckDB's own parser, that `sql` is exactly one statement, and, with its
    /// binder, that the statement is a query (a `SELECT` of any form), without running it.
    fn check_one_query(&self, sql: &str) -> Result<(), WarehouseError> {
        let text =
            std::ffi::CString::new(sql).map_err(|_| WarehouseError::Query("the query holds a NUL character".into()))?;
        let mut extracted = std::ptr::null_mut();
        // SAFETY: `checker` is an open connection; `extracted` is destroyed by `Extracted`.
        let count = unsafe { ffi::duckdb_extract_statements(self.checker, text.as_ptr(), &mut extracted) };
        let extracted = Extracted(extracted);
        if count == 0 {
            // SAFETY: the error belongs to `extracted`, which is still alive.
            let message = unsafe { message(ffi::duckdb_extract_statements_error(extracted.0)) };
            return Err(redact::duckdb(&message.unwrap_or_else(|| "no statement".into()), Phase::Planning));
        }
        if count > 1 {
            return Err(WarehouseError::NotReadOnly(format!(
                "exactly one statement is expected; DuckDB reads {count}"
            )));
        }
        let mut statement = std::ptr::null_mut();
        // SAFETY: index 0 exists; the prepared statement is destroyed by `Prepared`.
        let state = unsafe { ffi::duckdb_prepare_extracted_statement(self.checker, extracted.0, 0, &mut statement) };
        let statement = Prepared(statement);
        if state != ffi::DuckDBSuccess {
            // SAFETY: the error belongs to `statement`, which is still alive.
            let message = unsafe { message(ffi::duckdb_prepare_error(statement.0)) };
            return Err(redact::duckdb(&message.unwrap_or_else(|| "the query is invalid".into()), Phase::Planning));
        }
        // SAFETY: `statement` was prepared.
        match unsafe { ffi::duckdb_prepared_statement_type(statement.0) } {
            ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_SELECT => Ok(()),
            other => Err(WarehouseError::NotReadOnly(format!("{} is not a query", statement_name(other)))),
        }
    }
}

/// Extracted statements, destroyed when dropped.
struct Extracted(ffi::duckdb_extracted_statements);

impl Drop for Extracted {
    fn drop(&mut self) {
        // SAFETY: must be destroyed even when no statement was extracted (DuckDB's C API).
        unsafe { ffi::duckdb_destroy_extracted(&mut self.0) }
    }
}

/// A prepared statement, destroyed when dropped.
struct Prepared(ffi::duckdb_prepared_statement);

impl Drop for Prepared {
    fn drop(&mut self) {
        // SAFETY: must be destroyed even when preparing failed (DuckDB's C API).
        unsafe { ffi::duckdb_destroy_prepare(&mut self.0) }
    }
}

/// A C string DuckDB owns, copied.
///
/// # Safety
/// `text` is null or points to a NUL-terminated string alive for the call.
unsafe fn message(text: *const std::os::raw::c_char) -> Option<String> {
    (!text.is_null()).then(|| unsafe { std::ffi::CStr::from_ptr(text) }.to_string_lossy().into_owned())
}

/// What a refused statement is, in words.
fn statement_name(kind: ffi::duckdb_statement_type) -> &'static str {
    match kind {
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_COPY
        | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_COPY_DATABASE => "COPY",
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_EXPORT => "EXPORT",
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_ATTACH => "ATTACH",
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_DETACH => "DETACH",
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_SET
        | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_VARIABLE_SET => "SET",
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_LOAD
        | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_EXTENSION
        | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_UPDATE_EXTENSIONS => "INSTALL or LOAD",
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_PRAGMA => "PRAGMA",
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_CALL => "CALL",
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_EXPLAIN => "EXPLAIN",
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_INSERT
        | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_UPDATE
        | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_DELETE
        | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_MERGE_INTO => "a write",
        ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_CREATE
        | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_CREATE_FUNC
        | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_ALTER
        | ffi::duckdb_statement_type_DUCKDB_STATEMENT_TYPE_DROP => "DDL",
        _ => "this statement",
    }
}

/// The statements that fill a sandbox with the scope's tables and views, then lock it: it may
/// read no file but the scope's partitions, spill only into `spill`, and change no setting.
fn setup_statements(
    snapshot: &[(&TableSpec, Vec<String>)],
    scope: &TeamScope,
    limits: QueryLimits,
    spill: &std::path::Path,
) -> Vec<String> {
    let mut setup = vec![
        format!("SET memory_limit = '{}B'", limits.memory_bytes),
        "SET threads = 2".to_string(),
        format!("SET temp_directory = {}", quote(&spill.to_string_lossy())),
        format!("SET max_expression_depth = {}", bounds::MAX_EXPRESSION_DEPTH),
        "SET autoinstall_known_extensions = false".to_string(),
        "SET autoload_known_extensions = false".to_string(),
    ];
    // The current time as a plain UTC `TIMESTAMP`, like the views' times (see the module docs);
    // the binder turns `current_timestamp` into `get_current_timestamp()`.
    for name in ["now", "get_current_timestamp", "transaction_timestamp"] {
        setup.push(format!("CREATE MACRO {name}() AS CAST(system.main.get_current_timestamp() AS TIMESTAMP)"));
    }
    let mut allowed: Vec<&String> = Vec::new();
    for (spec, files) in snapshot {
        let partitioned = spec.is_partitioned_by_team();
        let files: Vec<&String> = files.iter().filter(|f| !partitioned || in_scope(f, scope)).collect();
        setup.push(format!("CREATE VIEW {} AS {}", raw(spec), source(spec, &files)));
        if partitioned {
            allowed.extend(files);
        }
    }
    let mut copied = Vec::new();
    for (spec, _) in snapshot {
        let partitioned = spec.is_partitioned_by_team();
        for (name, view) in views(spec, &scope_rows(spec, scope)) {
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
    setup
}

/// A failure to build the sandbox: our own statements, so no caller's value is in it.
fn setup(e: &duckdb::Error) -> WarehouseError {
    WarehouseError::Query(format!("DuckDB could not prepare the warehouse's tables: {e}"))
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
    let columns: Vec<String> = spec
        .columns
        .iter()
        .map(|c| match c.kind {
            ColumnKind::Timestamp => format!("CAST(\"{0}\" AS TIMESTAMP) AS \"{0}\"", c.name),
            _ => format!("\"{}\"", c.name),
        })
        .collect();
    format!("SELECT {} FROM read_parquet([{list}], {options}, union_by_name = true)", columns.join(", "))
}

fn duck_type(kind: ColumnKind) -> &'static str {
    match kind {
        ColumnKind::Text | ColumnKind::Json => "VARCHAR",
        ColumnKind::Int => "BIGINT",
        ColumnKind::Bool => "BOOLEAN",
        ColumnKind::Timestamp => "TIMESTAMP",
    }
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Runs a query [`Sandbox::check_one_query`] accepted.
fn execute(connection: &duckdb::Connection, sql: &str, limits: QueryLimits) -> Result<QueryResult, WarehouseError> {
    let running = |e: duckdb::Error| redact::duckdb(&e.to_string(), Phase::Running);
    let mut statement = connection.prepare(sql).map_err(running)?;
    let arrow = statement.query_arrow([]).map_err(running)?;
    let schema = in_utc(&arrow.get_schema());
    let mut result = QueryResult::empty(schema.clone());
    for batch in arrow {
        let columns = batch.columns().iter().zip(schema.fields()).map(|(column, field)| {
            if column.data_type() == field.data_type() {
                Ok(column.clone())
            } else {
                arrow::compute::cast(column, field.data_type())
            }
        });
        let columns = columns.collect::<Result<Vec<_>, _>>().map_err(|e| WarehouseError::Failed(e.to_string()))?;
        let batch = arrow::record_batch::RecordBatch::try_new(schema.clone(), columns)
            .map_err(|e| WarehouseError::Failed(e.to_string()))?;
        if !result.take(batch, limits.max_rows) {
            break;
        }
    }
    Ok(result)
}

/// An answer's schema with its times (plain `TIMESTAMP`s, which are UTC here) marked UTC.
fn in_utc(schema: &arrow::datatypes::SchemaRef) -> arrow::datatypes::SchemaRef {
    use arrow::datatypes::{DataType, Field, Schema};
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Timestamp(unit, None) => {
                f.as_ref().clone().with_data_type(DataType::Timestamp(*unit, Some("UTC".into())))
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    std::sync::Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}
