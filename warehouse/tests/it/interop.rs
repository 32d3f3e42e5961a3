//! The warehouse read by others: the `deltalake` Python package (an independent Delta reader)
//! reads the tables and gets the same rows, from a local folder and from an S3-compatible server
//! (moto's server mode) that the warehouse writes to by URL.

use crate::sql::two_teams_in;
use orgata_warehouse::tables::{self, TableSpec};
use orgata_warehouse::{QueryLimits, TeamScope, Warehouse};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The Python with deltalake, pyarrow and moto (`scripts/test` installs it and sets
/// `ORGATA_PYTHON`); `None` outside CI when absent.
fn python() -> Option<String> {
    match std::env::var("ORGATA_PYTHON") {
        Ok(python) => Some(python),
        Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but ORGATA_PYTHON is not set: the interoperability tests must not skip")
        }
        Err(_) => {
            eprintln!("skipped: run through scripts/test (or set ORGATA_PYTHON) for the interoperability tests");
            None
        }
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/read_delta.py")
}

/// A table's rows as the Python reader prints them: the sorted column names, then sorted rows.
fn read_with_python(python: &str, uri: &str, options: &HashMap<String, String>) -> Vec<String> {
    let output = Command::new(python)
        .arg(script())
        .arg(uri)
        .args(options.iter().map(|(k, v)| format!("{k}={v}")))
        .output()
        .expect("run python");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().lines().map(str::to_string).collect()
}

/// The same, read by the warehouse itself (DataFusion over the raw Delta table).
async fn read_with_orgata(warehouse: &Warehouse, spec: &TableSpec) -> Vec<String> {
    let mut names: Vec<&str> = spec.columns.iter().map(|c| c.name).collect();
    names.sort();
    let select: Vec<String> = names
        .iter()
        .map(|n| match spec.column(n).map(|c| c.kind) {
            Some(orgata_warehouse::ColumnKind::Timestamp) => format!("CAST(CAST(\"{n}\" AS BIGINT) AS VARCHAR)"),
            _ => format!("CAST(\"{n}\" AS VARCHAR)"),
        })
        .collect();
    let view = match spec.kind {
        orgata_warehouse::TableKind::Versions => format!("{}_history", spec.name),
        _ => spec.name.to_string(),
    };
    let sql = format!("SELECT {} FROM {view}", select.join(", "));
    let result = warehouse.query(&sql, &TeamScope::All, QueryLimits::default()).await.unwrap();
    let mut rows = Vec::new();
    for batch in &result.batches {
        for i in 0..batch.num_rows() {
            let cells: Vec<String> = (0..batch.num_columns())
                .map(|c| {
                    let column = arrow::compute::cast(batch.column(c), &arrow::datatypes::DataType::Utf8).unwrap();
                    let text = column.as_any().downcast_ref::<arrow::array::StringArray>().unwrap();
                    if arrow::array::Array::is_null(text, i) { "NULL".to_string() } else { text.value(i).to_string() }
                })
                .collect();
            rows.push(cells.join("|"));
        }
    }
    rows.sort();
    let mut out = vec![names.join("|")];
    out.extend(rows);
    out
}

async fn same_rows_for_both_readers(python: &str, warehouse: &Warehouse, options: &HashMap<String, String>) {
    for spec in [&tables::EVENTS, &tables::TASKS, &tables::USERS] {
        let ours = read_with_orgata(warehouse, spec).await;
        let uri = warehouse.table_url(spec).to_string();
        let theirs = read_with_python(python, uri.trim_end_matches('/'), options);
        assert!(ours.len() > 1, "{}: rows to compare", spec.name);
        assert_eq!(theirs, ours, "{}", spec.name);
    }
}

#[tokio::test]
async fn python_deltalake_reads_the_same_rows_from_a_folder() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let warehouse = two_teams_in(dir.path().to_str().unwrap(), HashMap::new()).await;
    // After compaction and a checkpoint too.
    same_rows_for_both_readers(&python, &warehouse, &HashMap::new()).await;
    warehouse.maintain_all(64 << 20, std::time::Duration::ZERO).await.unwrap();
    same_rows_for_both_readers(&python, &warehouse, &HashMap::new()).await;
}

/// moto's S3-compatible server on a free port, stopped on drop.
struct Moto(Child, String);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_moto(python: &str) -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(python)
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto");
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "moto did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let created = Command::new(python)
        .args([
            "-c",
            &format!(
                "import boto3; boto3.client('s3', endpoint_url='{endpoint}', aws_access_key_id='test', \
                 aws_secret_access_key='test', region_name='us-east-1').create_bucket(Bucket='orgata')"
            ),
        ])
        .status()
        .unwrap();
    assert!(created.success(), "create the bucket");
    Moto(child, endpoint)
}

#[tokio::test]
async fn the_warehouse_lives_on_s3_compatible_storage_by_url() {
    let Some(python) = python() else { return };
    let moto = start_moto(&python);
    let options: HashMap<String, String> = [
        ("aws_endpoint", moto.1.as_str()),
        ("aws_access_key_id", "test"),
        ("aws_secret_access_key", "test"),
        ("aws_region", "us-east-1"),
        ("aws_allow_http", "true"),
        ("aws_s3_allow_unsafe_rename", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let warehouse = two_teams_in("s3://orgata/warehouse", options.clone()).await;
    assert_eq!(warehouse.root().as_str(), "s3://orgata/warehouse/");
    // The tables and an object of the archive's kind are in the bucket.
    use object_store::ObjectStoreExt;
    let store = warehouse.object_store();
    store.put(&"changes/probe.avro".into(), b"avro".to_vec().into()).await.unwrap();
    let back = store.get(&"changes/probe.avro".into()).await.unwrap().bytes().await.unwrap();
    assert_eq!(back.as_ref(), b"avro");
    let count = warehouse.query("SELECT count(*) FROM events", &TeamScope::All, QueryLimits::default()).await.unwrap();
    let count = arrow::compute::cast(count.batches[0].column(0), &arrow::datatypes::DataType::Int64).unwrap();
    assert_eq!(count.as_any().downcast_ref::<arrow::array::Int64Array>().unwrap().value(0), 4);
    let python_options: HashMap<String, String> = [
        ("AWS_ENDPOINT_URL", moto.1.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ALLOW_HTTP", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    same_rows_for_both_readers(&python, &warehouse, &python_options).await;
    // Compaction and clean-up work there too.
    let done = warehouse.maintain(&tables::EVENTS, 64 << 20, std::time::Duration::ZERO).await.unwrap();
    assert_eq!(done.table, "events");
}
