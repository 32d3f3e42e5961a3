//! Event-log import: every shared log lands with the exact event and case counts of its
//! reference, re-importing replaces, and bad files say where they are bad and write nothing.

use orgata_ingest::IngestError;
use orgata_ingest::import::{self, CsvColumns, LogFormat};
use orgata_warehouse::{QueryLimits, TeamScope, Warehouse};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A log of the shared event logs.
fn shared_log(name: &str) -> PathBuf {
    orgata_engine::testing::shared_eventlogs().join(name)
}

fn warehouse() -> (tempfile::TempDir, Warehouse) {
    let dir = tempfile::tempdir().unwrap();
    let warehouse = Warehouse::open(dir.path().to_str().unwrap(), HashMap::new()).unwrap();
    (dir, warehouse)
}

async fn number(warehouse: &Warehouse, sql: &str) -> i64 {
    let result = warehouse.query(sql, &TeamScope::All, QueryLimits::default()).await.unwrap();
    let column = arrow::compute::cast(result.batches[0].column(0), &arrow::datatypes::DataType::Int64).unwrap();
    column.as_any().downcast_ref::<arrow::array::Int64Array>().unwrap().value(0)
}

async fn import_file(warehouse: &Warehouse, file: &Path, source: &str) -> Result<import::Imported, IngestError> {
    let format = LogFormat::from_path(file).expect("a known extension");
    import::import(warehouse, import::open(file)?, &format, "team-a", source, |_| {}).await
}

#[tokio::test]
async fn every_shared_log_imports_with_its_reference_counts() {
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(shared_log("reference.json")).unwrap()).unwrap();
    let (_dir, warehouse) = warehouse();
    let logs = reference.as_array().unwrap();
    assert_eq!(logs.len(), 5);
    for log in logs {
        let name = log["log"].as_str().unwrap();
        let imported = import_file(&warehouse, &shared_log(name), name).await.unwrap();
        let (events, cases) = (log["events"].as_i64().unwrap(), log["cases"].as_i64().unwrap());
        assert_eq!((imported.events as i64, imported.cases as i64), (events, cases), "{name}");
        let sql = format!("SELECT count(*) FROM events WHERE source = '{name}'");
        assert_eq!(number(&warehouse, &sql).await, events, "{name} rows");
        let sql = format!("SELECT count(DISTINCT case_id) FROM events WHERE source = '{name}'");
        assert_eq!(number(&warehouse, &sql).await, cases, "{name} cases");
    }
    // The interval log keeps both times: its first row (case C1, place order) took 2 min 43 s.
    let sql = "SELECT CAST(date_part('epoch', ts) - date_part('epoch', start_ts) AS BIGINT) FROM events \
               WHERE source = 'interval_event_log.csv' AND ordinal = 1";
    assert_eq!(number(&warehouse, sql).await, 163);
    // XES attributes, lifecycle and resources survive: the running example's first event.
    let result = warehouse
        .query(
            "SELECT case_id, activity, lifecycle, resource, attributes, CAST(ts AS VARCHAR) FROM events \
             WHERE source = 'running-example.xes' AND ordinal = 1",
            &TeamScope::All,
            QueryLimits::default(),
        )
        .await
        .unwrap();
    let cells: Vec<String> = (0..6)
        .map(|i| {
            let column = arrow::compute::cast(result.batches[0].column(i), &arrow::datatypes::DataType::Utf8).unwrap();
            column.as_any().downcast_ref::<arrow::array::StringArray>().unwrap().value(0).to_string()
        })
        .collect();
    assert_eq!(cells[..4], ["3", "register request", "complete", "Pete"]);
    let attributes: serde_json::Value = serde_json::from_str(&cells[4]).unwrap();
    assert_eq!(attributes, serde_json::json!({"Activity": "register request", "Costs": "50", "Resource": "Pete"}));
    assert_eq!(cells[5], "2010-12-30T13:32:00Z");

    // Importing a source again replaces it.
    let again = import_file(&warehouse, &shared_log("running-example.xes"), "running-example.xes").await.unwrap();
    assert_eq!(again.events, 42);
    assert_eq!(number(&warehouse, "SELECT count(*) FROM events WHERE source = 'running-example.xes'").await, 42);
    let total: i64 = logs.iter().map(|l| l["events"].as_i64().unwrap()).sum();
    assert_eq!(number(&warehouse, "SELECT count(*) FROM events").await, total);
}

/// Imports `content` as a file named `name`, expecting an error; checks nothing was written.
async fn refused(name: &str, content: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    let (_w, warehouse) = warehouse();
    let error = import_file(&warehouse, &path, "bad").await.expect_err(name).to_string();
    assert_eq!(number(&warehouse, "SELECT count(*) FROM events").await, 0, "{name}: nothing written");
    error
}

#[tokio::test]
async fn bad_files_say_where_and_write_nothing() {
    let head = "<?xml version='1.0' encoding='UTF-8'?>\n<log>\n<trace>\n<string key=\"concept:name\" value=\"1\"/>\n";
    let event = |time: &str| {
        format!(
            "<event>\n<string key=\"concept:name\" value=\"a\"/>\n<date key=\"time:timestamp\" value=\"{time}\"/>\n</event>\n"
        )
    };
    let good = event("2024-01-01T10:00:00Z");
    let truncated = format!("{head}{good}<event>\n<string key=\"concept:na");
    assert_eq!(
        refused("cut.xes", truncated.as_bytes()).await,
        "line 10: malformed XES: syntax error: tag not closed: `>` not found before end of input"
    );
    let truncated = format!("{head}{good}");
    assert_eq!(refused("cut.xes", truncated.as_bytes()).await, "line 9: the file ends before </log>: it is truncated");

    let unclosed = format!("{head}{good}</log>\n");
    assert_eq!(
        refused("mismatch.xes", unclosed.as_bytes()).await,
        "line 9: malformed XES: ill-formed document: expected `</trace>`, but `</log>` was found"
    );

    let bad_time = format!("{head}{good}{}</trace>\n</log>\n", event("next tuesday"));
    assert_eq!(
        refused("time.xes", bad_time.as_bytes()).await,
        "line 12: cannot read `next tuesday` as a time (expected ISO 8601, like 2024-03-01T09:30:00+01:00)"
    );

    let latin1 = format!("<?xml version='1.0' encoding='ISO-8859-1'?>\n<log>\n{}</log>\n", "");
    assert_eq!(
        refused("latin.xes", latin1.as_bytes()).await,
        "line 1: the log is encoded as `iso-8859-1`; only UTF-8 is supported (convert it, e.g. with iconv)"
    );
    let mut invalid = format!("{head}<event>\n<string key=\"concept:name\" value=\"caf").into_bytes();
    invalid.extend_from_slice(b"\xe9\"/>\n</event>\n</trace>\n</log>\n");
    assert_eq!(refused("bytes.xes", &invalid).await, "line 6: invalid UTF-8");

    let csv = "case_id,activity,timestamp\nc1,a,2024-01-01 10:00:00\nc1,b,2024-01-01 11:00:00\nc2,a,31/12/2024\n";
    assert_eq!(
        refused("times.csv", csv.as_bytes()).await,
        "row 4: column `timestamp`: cannot read `31/12/2024` as a time (expected ISO 8601, like 2024-03-01T09:30:00+01:00)"
    );
    let missing = "case,when\nc1,2024-01-01\n";
    assert_eq!(
        refused("columns.csv", missing.as_bytes()).await,
        r#"header: no activity column found among ["case", "when"]; name it with --activity-column"#
    );
    let ragged = "case_id,activity,timestamp\nc1,a,2024-01-01\nc1,b\n";
    assert_eq!(refused("ragged.csv", ragged.as_bytes()).await, "row 3: 2 fields where the header has 3");
    let mut bytes = b"case_id,activity,timestamp\nc1,caf".to_vec();
    bytes.extend_from_slice(b"\xe9,2024-01-01\n");
    assert_eq!(refused("bytes.csv", &bytes).await, "row 2: invalid UTF-8: the file must be UTF-8 encoded");
    let empty_case = "case_id,activity,timestamp\n,a,2024-01-01\n";
    assert_eq!(refused("empty.csv", empty_case.as_bytes()).await, "row 2: the case id (`case_id`) is empty");
}

#[tokio::test]
async fn an_error_after_batches_were_written_leaves_the_previous_import_intact() {
    let dir = tempfile::tempdir().unwrap();
    let (_w, warehouse) = warehouse();
    let rows = |n: usize| {
        let mut csv = String::from("case_id,activity,timestamp\n");
        for i in 0..n {
            csv.push_str(&format!("c{},a,2024-01-01 10:{:02}:00\n", i / 4, i % 60));
        }
        csv
    };
    let first = dir.path().join("first.csv");
    std::fs::write(&first, rows(10)).unwrap();
    assert_eq!(import_file(&warehouse, &first, "orders").await.unwrap().events, 10);
    // 150,000 good rows (more than two batches reach the writer) and then a bad time.
    let mut long = rows(150_000);
    long.push_str("c9,a,never\n");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, long).unwrap();
    let error = import_file(&warehouse, &bad, "orders").await.unwrap_err().to_string();
    assert_eq!(
        error,
        "row 150002: column `timestamp`: cannot read `never` as a time (expected ISO 8601, like 2024-03-01T09:30:00+01:00)"
    );
    assert_eq!(number(&warehouse, "SELECT count(*) FROM events WHERE source = 'orders'").await, 10);
}

#[tokio::test]
async fn csv_columns_can_be_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, "Order;Step;Done;Who\no1;pack;2024-01-01T10:00:00Z;ann\no1;ship;2024-01-02T10:00:00Z;bob\n")
        .unwrap();
    let (_w, warehouse) = warehouse();
    // Semicolons are not commas: one column, no case column found.
    let columns = CsvColumns {
        case: Some("Order".into()),
        activity: Some("Step".into()),
        timestamp: Some("Done".into()),
        resource: Some("Who".into()),
        ..CsvColumns::default()
    };
    let error =
        import::import(&warehouse, import::open(&path).unwrap(), &LogFormat::Csv(columns), "t", "orders", |_| {})
            .await
            .unwrap_err();
    assert!(error.to_string().starts_with("header: no column `Order` for the case id"), "{error}");
    std::fs::write(
        &path,
        "Order,Step,Done,Who,Amount\no1,pack,2024-01-01T10:00:00Z,ann,5\no1,ship,2024-01-02T10:00:00Z,bob,\n",
    )
    .unwrap();
    let columns = CsvColumns {
        case: Some("Order".into()),
        activity: Some("Step".into()),
        timestamp: Some("Done".into()),
        ..CsvColumns::default()
    };
    let imported =
        import::import(&warehouse, import::open(&path).unwrap(), &LogFormat::Csv(columns), "t", "orders", |_| {})
            .await
            .unwrap();
    assert_eq!((imported.events, imported.cases), (2, 1));
    let result = warehouse
        .query(
            "SELECT activity, resource, attributes FROM events ORDER BY ordinal",
            &TeamScope::All,
            QueryLimits::default(),
        )
        .await
        .unwrap();
    // `Who` is not a resource column name Orgata knows, and was not named: it is an attribute.
    let batch = &arrow::compute::concat_batches(&result.schema, &result.batches).unwrap();
    let text = |i: usize| {
        let column = arrow::compute::cast(batch.column(i), &arrow::datatypes::DataType::Utf8).unwrap();
        column.as_any().downcast_ref::<arrow::array::StringArray>().unwrap().clone()
    };
    assert_eq!(text(0).iter().collect::<Vec<_>>(), [Some("pack"), Some("ship")]);
    assert_eq!(text(1).iter().collect::<Vec<_>>(), [None, None]);
    let attributes: Vec<serde_json::Value> =
        text(2).iter().map(|a| serde_json::from_str(a.unwrap()).unwrap()).collect();
    assert_eq!(attributes, [serde_json::json!({"Amount": "5", "Who": "ann"}), serde_json::json!({"Who": "bob"})]);
}
