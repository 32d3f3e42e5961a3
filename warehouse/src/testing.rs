//! The analyst-SQL attack corpus (feature `testing`): what a caller might send to read or infer
//! rows outside their scope, to run more than one statement, to write a file, or to bring the
//! server down. The warehouse's tests run it on both engines against two warehouses that differ
//! only in rows outside the scope (the answers must be the same); the api's tests run it through
//! REST, the web console, the CLI and MCP.

use crate::tables::{self, ColumnKind, TableKind};

/// One probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub sql: String,
    /// Whether the answer must not depend on rows outside the scope, byte for byte. `EXPLAIN`
    /// and DuckDB's view definitions name the snapshot's files, which differ between warehouses.
    pub comparable: bool,
}

impl Probe {
    fn new(sql: impl Into<String>) -> Probe {
        let sql = sql.into();
        let upper = sql.to_ascii_uppercase();
        let comparable = !upper.starts_with("EXPLAIN") && !upper.contains("INFORMATION_SCHEMA");
        Probe { sql, comparable }
    }
}

/// Every probe: predicates that fail on a value or answer yes or no about it, on every text
/// column of every table and `_history` table; then statements that are not one query, files,
/// settings, and queries too large or too deep.
pub fn probes() -> Vec<Probe> {
    corpus(usize::MAX)
}

/// The same probes with the per-column predicates on each table's first text column only: for
/// the interfaces, which all run SQL through one function, after the warehouse's tests have run
/// the whole corpus on both engines.
pub fn cross_section() -> Vec<Probe> {
    corpus(1)
}

fn corpus(columns_per_table: usize) -> Vec<Probe> {
    let mut probes = Vec::new();
    for (relation, columns) in relations() {
        let Some(&first) = columns.first() else { continue };
        for column in columns.iter().take(columns_per_table) {
            probes.push(Probe::new(format!("SELECT count(*) AS n FROM {relation} WHERE CAST({column} AS INT) = 1")));
            // A division by zero only where a condition holds: a yes/no oracle over any row.
            probes.push(Probe::new(format!(
                "SELECT count(*) AS n FROM {relation} WHERE CASE WHEN {column} > 'm' \
                 THEN 1 / (length({column}) - length({column})) ELSE 0 END = 0"
            )));
        }
        probes.extend(
            [
                format!("SELECT count(*) AS n FROM {relation} WHERE regexp_like('x', {first})"),
                format!("SELECT count(*) AS n FROM {relation} WHERE regexp_matches('x', {first})"),
                format!("SELECT count(*) AS n FROM {relation} WHERE to_timestamp({first}) IS NOT NULL"),
                format!(
                    "SELECT count(*) AS n FROM {relation} WHERE CASE WHEN {first} NOT IN ('a', 'b') \
                     THEN CAST({first} AS BIGINT) ELSE 0 END = 0"
                ),
                format!("SELECT {first} FROM {relation} ORDER BY CAST({first} AS INT) LIMIT 1"),
                format!(
                    "SELECT count(*) AS n FROM {relation} a JOIN {relation} b ON CAST(a.{first} AS INT) = b.{first}"
                ),
                format!("SELECT count(*) AS n FROM {relation} WHERE {first} IN (SELECT CAST({first} AS INT) FROM {relation})"),
                format!("SELECT count(*) AS n FROM {relation} WHERE length({first}) > 0"),
                format!("EXPLAIN VERBOSE SELECT * FROM {relation} WHERE CAST({first} AS INT) = 1"),
                format!("EXPLAIN ANALYZE SELECT * FROM {relation} WHERE CAST({first} AS INT) = 1"),
            ]
            .map(Probe::new),
        );
    }
    probes.extend(STATEMENTS.iter().map(|sql| Probe::new(*sql)));
    probes.extend(huge().into_iter().map(Probe::new));
    probes
}

/// Every table and `_history` table a caller can name, with its text columns (the first one a
/// record's own, not the team's).
fn relations() -> Vec<(String, Vec<&'static str>)> {
    let mut relations = Vec::new();
    for spec in tables::ALL.iter().filter(|t| t.kind != TableKind::Internal) {
        let text = |c: &&tables::Column| matches!(c.kind, ColumnKind::Text | ColumnKind::Json);
        let mut current: Vec<&'static str> =
            spec.columns.iter().filter(text).filter(|c| !c.name.starts_with('_')).map(|c| c.name).collect();
        current.sort_by_key(|c| *c == "team_id");
        relations.push((spec.name.to_string(), current.clone()));
        if spec.kind == TableKind::Versions {
            relations.push((format!("{}_history", spec.name), current));
        }
    }
    relations
}

/// Statements that are not one read-only query, however they are quoted, and reads of files.
const STATEMENTS: &[&str] = &[
    "SELECT E'\\'' AS a; SELECT 42 AS injected --'",
    "SELECT 1 AS a; SELECT 42 AS injected",
    "SELECT $$;$$ AS a; SELECT 42 AS injected",
    "SELECT 1 /* /* nested */ ; SELECT 42 AS injected */ AS a",
    "SELECT 1 /* /* nested */ */ AS a; SELECT 42 AS injected",
    "SELECT 1 AS \"a;b\"; SELECT 42 AS injected",
    "SELECT ';' AS a; COPY (SELECT 42) TO '/tmp/orgata-probe.csv'",
    "COPY (SELECT * FROM users) TO '/tmp/orgata-probe.csv'",
    "COPY events TO '/tmp/orgata-probe.parquet'",
    "COPY (SELECT 1 AS a) TO '/tmp/orgata-probe.parquet' STORED AS PARQUET",
    "EXPORT DATABASE '/tmp/orgata-probe-export'",
    "ATTACH '/tmp/orgata-probe.db' AS probe",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "SET datafusion.execution.target_partitions = 1",
    "RESET memory_limit",
    "PRAGMA enable_profiling",
    "CALL pragma_version()",
    "CREATE TABLE probe AS SELECT 1 AS a",
    "CREATE VIEW probe AS SELECT 1 AS a",
    "CREATE EXTERNAL TABLE probe STORED AS PARQUET LOCATION '/tmp/'",
    "INSERT INTO events SELECT * FROM events",
    "DELETE FROM users",
    "UPDATE users SET email = 'x'",
    "DROP VIEW users",
    "SELECT * FROM raw_users",
    "SELECT * FROM raw_events",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_blob('/tmp/**')",
    "SELECT count(*) AS n FROM read_blob('/tmp/orgata-duckdb-*/**')",
    "SELECT * FROM read_parquet('/**/*.parquet')",
    "SELECT * FROM glob('/tmp/*')",
    "SELECT * FROM query('COPY (SELECT 1) TO ''/tmp/orgata-probe.csv''')",
    "SELECT * FROM query_table('raw_users')",
    "SELECT table_name FROM information_schema.tables ORDER BY table_name",
    "SELECT table_name, view_definition FROM information_schema.views ORDER BY table_name",
    "SELECT count(*) AS n FROM users, teams, memberships, playbooks, playbook_versions",
];

/// Queries larger or deeper than any real one: each must fail alone, in words.
fn huge() -> Vec<String> {
    let terms = |n: usize, term: &str, joint: &str| vec![term; n].join(joint);
    vec![
        format!("SELECT 1 AS a WHERE {}", terms(2_000, "1=1", " OR ")),
        format!("SELECT 1 AS a WHERE {}", terms(100_000, "1=1", " OR ")),
        format!("SELECT {} AS a", terms(20_000, "1", "+")),
        format!("SELECT {}1{} AS a", "(".repeat(5_000), ")".repeat(5_000)),
        format!("SELECT {}true AS a", "NOT ".repeat(5_000)),
        format!("SELECT {} 1 {} AS a", "CASE WHEN true THEN".repeat(2_000), " END".repeat(2_000)),
        format!("SELECT * FROM {}SELECT 1 AS a{}", "(SELECT * FROM ".repeat(500), ")".repeat(500)),
        format!("SELECT count(*) AS n FROM users WHERE email IN ({})", vec!["'x'"; 10_000].join(", ")),
    ]
}
