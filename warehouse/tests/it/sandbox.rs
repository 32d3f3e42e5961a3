//! Analysts' SQL is a sandbox (issue 21): the attack corpus of `orgata_warehouse::testing` on both
//! engines, against two warehouses that differ only in rows outside the caller's scope — another
//! organisation's team and another team of the caller's own organisation. Every answer, rows or
//! error, must be the same on both (nothing about those rows can be learned), must quote no value
//! outside the scope, and no file of either warehouse may change.

use orgata_warehouse::tables::{self, ColumnKind, TableKind, TableSpec};
use orgata_warehouse::testing::probes;
use orgata_warehouse::{OutputFormat, QueryLimits, SqlEngine, TeamScope, Warehouse, WarehouseError, Watermark};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The caller's team, and the teams outside their scope with the mark their every value carries.
const OWN: (&str, &str) = ("team-own", "own");
const FOREIGN: [(&str, &str); 2] = [("zq-team-other-org", "zq-globex"), ("zq-team-same-org", "zq-acme")];

/// The mark of every value outside the scope; no probe holds it.
const MARK: &str = "zq";

/// A row of `spec` for `team`, every text value marked with `mark`.
fn row(spec: &TableSpec, team: &str, mark: &str, i: usize) -> Map<String, Value> {
    let mut row = Map::new();
    for column in spec.columns {
        let value = match (column.name, column.kind) {
            ("team_id", _) => json!(team),
            ("_op", _) => json!("insert"),
            ("month", _) => json!("2026-03"),
            ("id" | "_id", _) => json!(format!("{mark}-{}-{i}", spec.name)),
            ("user_id", _) => json!(format!("{mark}-users-{i}")),
            (_, ColumnKind::Text) => json!(format!("{mark}-{}-{i}", column.name)),
            (_, ColumnKind::Json) => json!(format!("{{\"k\": \"{mark}-{i}\"}}")),
            (_, ColumnKind::Int) => json!(i),
            (_, ColumnKind::Bool) => json!(true),
            (_, ColumnKind::Timestamp) => json!(format!("2026-03-0{}T09:00:00Z", i + 1)),
        };
        row.insert(column.name.to_string(), value);
    }
    row
}

/// A warehouse with three rows of every table for each of `teams` (users through memberships).
async fn warehouse_of(dir: &Path, teams: &[(&str, &str)]) -> Warehouse {
    let warehouse = Warehouse::open(dir.to_str().unwrap(), HashMap::new()).unwrap();
    for spec in tables::ALL.iter().filter(|t| t.kind != TableKind::Internal) {
        let rows: Vec<_> = teams.iter().flat_map(|(team, mark)| (0..3).map(|i| row(spec, team, mark, i))).collect();
        let batch = spec.rows_from_json(&rows).unwrap();
        warehouse.append(spec, vec![batch], None, Watermark { xid: 0, seq: 1 }).await.unwrap();
    }
    warehouse
}

/// Every file under `dir`, with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                out.insert(path.display().to_string(), std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// A query's answer as text: its header and sorted rows as CSV, or its error.
async fn answer(warehouse: &Warehouse, engine: SqlEngine, sql: &str) -> String {
    let scope = TeamScope::Teams(vec![OWN.0.to_string()]);
    match warehouse.query_on(engine, sql, &scope, QueryLimits::default()).await {
        Ok(result) => {
            let mut csv = Vec::new();
            result.write(OutputFormat::Csv, &mut csv).unwrap();
            // Sorted: an unordered query's row order is the engine's, and carries nothing.
            let csv = String::from_utf8(csv).unwrap();
            let mut lines: Vec<&str> = csv.lines().collect();
            if let Some(rows) = lines.get_mut(1..) {
                rows.sort_unstable();
            }
            format!("rows: {}\n", lines.join("\n"))
        }
        Err(e) => format!("error: {e}"),
    }
}

const PROBE_FILES: [&str; 4] =
    ["/tmp/orgata-probe.csv", "/tmp/orgata-probe.parquet", "/tmp/orgata-probe.db", "/tmp/orgata-probe-export"];

#[tokio::test]
async fn the_attack_corpus_learns_nothing_outside_the_scope_and_writes_nothing() {
    for file in PROBE_FILES {
        let _ = std::fs::remove_file(file).or_else(|_| std::fs::remove_dir_all(file));
    }
    let (both_dir, own_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut teams = vec![OWN];
    teams.extend(FOREIGN);
    let both = warehouse_of(both_dir.path(), &teams).await;
    let own = warehouse_of(own_dir.path(), &[OWN]).await;
    let before = (files(both_dir.path()), files(own_dir.path()));

    // The corpus is not vacuous: the scope's own rows are there, on both engines.
    for engine in [SqlEngine::DataFusion, SqlEngine::DuckDb] {
        let counts = "SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM events) AS events, \
                      (SELECT count(*) FROM teams_history) AS teams";
        assert_eq!(answer(&both, engine, counts).await, "rows: users,events,teams\n3,3,3\n", "{engine:?}");
    }

    let corpus = probes();
    assert!(corpus.len() > 300, "{} probes", corpus.len());
    for probe in &corpus {
        for engine in [SqlEngine::DataFusion, SqlEngine::DuckDb] {
            let with_others = answer(&both, engine, &probe.sql).await;
            let shown: String = probe.sql.chars().take(120).collect();
            assert!(!with_others.to_lowercase().contains(MARK), "{engine:?} leaks: {shown}\n{with_others}");
            assert!(!with_others.contains("injected"), "{engine:?} ran a second statement: {shown}\n{with_others}");
            if probe.comparable {
                let alone = answer(&own, engine, &probe.sql).await;
                assert_eq!(with_others, alone, "{engine:?} answers differently with other teams' rows: {shown}");
            }
        }
    }

    assert!(before == (files(both_dir.path()), files(own_dir.path())), "no file of either warehouse changed");
    for file in PROBE_FILES {
        assert!(!Path::new(file).exists(), "{file} was written");
    }
}

/// The refusals and failures of the corpus, in words, on each engine.
#[tokio::test]
async fn refusals_and_failures_say_what_and_never_quote_a_value() {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = warehouse_of(dir.path(), &[OWN]).await;
    let scope = TeamScope::Teams(vec![OWN.0.to_string()]);
    let run = |engine, sql: String| {
        let (warehouse, scope) = (warehouse.clone(), scope.clone());
        async move { warehouse.query_on(engine, &sql, &scope, QueryLimits::default()).await.unwrap_err() }
    };
    use SqlEngine::{DataFusion, DuckDb};
    // A failed cast names its kind and where it happened in the query, never the value.
    let cast = "SELECT count(*) AS n FROM users WHERE CAST(email AS INT) = 1";
    let converted = "the query failed: a value could not be converted to the type asked for (CAST or an implicit \
                     conversion), in";
    for (engine, place) in [(DataFusion, "`CAST(users.email AS Int32)`"), (DuckDb, "column email")] {
        let e = run(engine, cast.into()).await;
        assert!(matches!(e, WarehouseError::Failed(_)), "{engine:?}: {e:?}");
        assert_eq!(e.to_string(), format!("{converted} {place}; the value is not shown"), "{engine:?}");
    }
    let division = "SELECT count(*) AS n FROM users WHERE 1 / (length(email) - length(email)) = 0";
    assert_eq!(
        run(DataFusion, division.into()).await.to_string(),
        "the query failed: division by zero, in `Int64(1) / (character_length(users.email) - \
         character_length(users.email))`; the value is not shown"
    );
    let e = run(DataFusion, format!("SELECT 1 AS a WHERE {}", vec!["1=1"; 2_000].join(" OR "))).await;
    assert_eq!(e.to_string(), "the query nests expressions or subqueries more than 1000 levels deep");
    // DuckDB's parser folds an OR chain into one list; a sum of 20,000 terms is deep there too.
    let e = run(DuckDb, format!("SELECT {} AS a", vec!["1"; 20_000].join("+"))).await;
    assert!(e.to_string().contains("expression depth limit of 1000 exceeded"), "{e}");
    let huge = format!("SELECT 1 AS a WHERE {}", vec!["1=1"; 100_000].join(" OR "));
    assert_eq!(huge.len(), 700_016);
    for engine in [DataFusion, DuckDb] {
        let e = run(engine, huge.clone()).await;
        assert_eq!(e.to_string(), "the query is 700016 bytes long; at most 100000 are accepted");
    }
    let e = run(DuckDb, "SELECT E'\\'' AS a; SELECT 42 AS injected --'".into()).await;
    assert_eq!(
        e.to_string(),
        "only a single read-only query is allowed: exactly one statement is expected; DuckDB reads 2"
    );
    // A file to write outside the scope's files is refused by DuckDB's configuration already.
    let e = run(DuckDb, "COPY (SELECT * FROM users) TO '/tmp/orgata-probe.csv'".into()).await;
    assert_eq!(
        e.to_string(),
        "Permission Error: Cannot access file \"/tmp/orgata-probe.csv\" - file system operations are disabled by \
         configuration"
    );
    // What binds is refused by its kind before it runs: even a COPY over the team's own file.
    let own_file = files(dir.path()).into_iter().find(|(f, _)| f.contains("/events/") && f.ends_with(".parquet"));
    let (own_file, bytes) = own_file.expect("the team's events file");
    let e = run(DuckDb, format!("COPY (SELECT 1 AS a) TO '{own_file}' (FORMAT parquet)")).await;
    assert_eq!(e.to_string(), "only a single read-only query is allowed: COPY is not a query");
    assert_eq!(std::fs::read(&own_file).unwrap(), bytes, "the file is untouched");
    let e = run(DuckDb, "CREATE TABLE probe AS SELECT 1 AS a".into()).await;
    assert_eq!(e.to_string(), "only a single read-only query is allowed: DDL is not a query");
    let e = run(DuckDb, "SET threads = 1".into()).await;
    assert_eq!(e.to_string(), "only a single read-only query is allowed: SET is not a query");
    let e = run(DuckDb, "SELECT * FROM read_csv('/etc/passwd')".into()).await;
    assert!(e.to_string().starts_with("Permission Error"), "{e}");
    // Each DuckDB query spills into a folder of its own, gone when it ends.
    let mut spills = Vec::new();
    for _ in 0..2 {
        let sql = "SELECT current_setting('temp_directory') AS spill";
        let result = warehouse.query_on(DuckDb, sql, &scope, QueryLimits::default()).await.unwrap();
        let spill = arrow::util::display::array_value_to_string(result.batches[0].column(0), 0).unwrap();
        let name = Path::new(&spill).file_name().unwrap().to_string_lossy().to_string();
        assert!(name.starts_with("orgata-duckdb-"), "{spill}");
        assert!(!Path::new(&spill).exists(), "{spill} is removed after the query");
        spills.push(spill);
    }
    assert_ne!(spills[0], spills[1], "one folder per query");
    let regex = "SELECT count(*) AS n FROM users WHERE regexp_like('x', email || '(')";
    assert_eq!(
        run(DataFusion, regex.into()).await.to_string(),
        "the query failed: a regular expression is invalid, in `regexp_like(Utf8(\"x\"), users.email || Utf8(\"(\"))`; \
         the value is not shown"
    );
}
