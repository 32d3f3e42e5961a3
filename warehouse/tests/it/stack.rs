//! The pinned analytical stack works together (design.md, "Pinned stack"): DataFusion writes a
//! Delta table, DuckDB reads its Parquet files, and DuckDB's `query_arrow` hands back arrow-58
//! batches that DataFusion takes as they are.

use std::error::Error;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::assert_batches_eq;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use deltalake::DeltaTable;

type TestResult = Result<(), Box<dyn Error>>;

/// 2026-01-05T09:00:00Z in microseconds since the epoch.
const T0: i64 = 1_767_603_600_000_000;
const MINUTE: i64 = 60_000_000;

/// A small process event log: 6 rows over 2 instances of one team. Durations are exact in binary
/// floating point, so sums can be compared exactly.
fn event_log() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("team_id", DataType::Utf8, false),
        Field::new("instance_id", DataType::Utf8, false),
        Field::new("activity", DataType::Utf8, false),
        Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), false),
        Field::new("duration_s", DataType::Float64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec!["team-a"; 6])),
        Arc::new(StringArray::from(vec!["inst-1", "inst-1", "inst-1", "inst-2", "inst-2", "inst-2"])),
        Arc::new(StringArray::from(vec!["register", "review", "approve", "register", "review", "review"])),
        Arc::new(
            TimestampMicrosecondArray::from(vec![
                T0,
                T0 + MINUTE,
                T0 + 2 * MINUTE,
                T0 + 10 * MINUTE,
                T0 + 11 * MINUTE,
                T0 + 12 * MINUTE,
            ])
            .with_timezone("UTC"),
        ),
        Arc::new(Float64Array::from(vec![1.5, 2.25, 0.5, 1.0, 4.75, 3.0])),
    ];
    RecordBatch::try_new(schema, columns).expect("valid event log batch")
}

/// Runs `sql` in DataFusion and collects the result.
async fn df_sql(ctx: &SessionContext, sql: &str) -> datafusion::error::Result<Vec<RecordBatch>> {
    ctx.sql(sql).await?.collect().await
}

/// Runs `sql` in an in-memory DuckDB and collects its Arrow result with the result's schema.
/// `RecordBatch` here is DataFusion's arrow 58 type: this compiling is half the proof.
fn duckdb_arrow(sql: &str) -> duckdb::Result<(SchemaRef, Vec<RecordBatch>)> {
    let conn = duckdb::Connection::open_in_memory()?;
    let mut stmt = conn.prepare(sql)?;
    let result = stmt.query_arrow([])?;
    let schema = result.get_schema();
    Ok((schema, result.collect()))
}

/// The same per-instance query is run over the Delta table and over DuckDB's batches.
const SUM_PER_INSTANCE: &str = "SELECT instance_id, count(*) AS n, sum(duration_s) AS total_s, min(ts) AS first_ts \
     FROM {table} GROUP BY instance_id ORDER BY instance_id";
const SUM_PER_INSTANCE_EXPECTED: [&str; 6] = [
    "+-------------+---+---------+----------------------+",
    "| instance_id | n | total_s | first_ts             |",
    "+-------------+---+---------+----------------------+",
    "| inst-1      | 3 | 4.25    | 2026-01-05T09:00:00Z |",
    "| inst-2      | 3 | 8.75    | 2026-01-05T09:10:00Z |",
    "+-------------+---+---------+----------------------+",
];

#[tokio::test]
async fn datafusion_writes_delta_duckdb_reads_it_and_datafusion_takes_duckdb_batches() -> TestResult {
    let written = event_log();

    // 1. Write the batch as a new Delta table in a local folder (a file:// table URL).
    let dir = tempfile::tempdir()?;
    let table_url = deltalake::ensure_table_uri(dir.path().join("events").to_string_lossy())?;
    assert_eq!(table_url.scheme(), "file");
    let table =
        DeltaTable::try_from_url(table_url).await?.write(vec![written.clone()]).with_table_name("events").await?;
    assert_eq!(table.version(), Some(0));

    // 2. Read it back through the deltalake DataFusion table provider.
    let ctx = SessionContext::new();
    table.update_datafusion_session(&ctx.state())?;
    ctx.register_table("events", table.table_provider().await?)?;

    let total = df_sql(&ctx, "SELECT count(*) AS n FROM events").await?;
    assert_batches_eq!(["+---+", "| n |", "+---+", "| 6 |", "+---+"], &total);

    let per_activity =
        df_sql(&ctx, "SELECT activity, count(*) AS n FROM events GROUP BY activity ORDER BY activity").await?;
    let per_activity_expected = [
        "+----------+---+",
        "| activity | n |",
        "+----------+---+",
        "| approve  | 1 |",
        "| register | 2 |",
        "| review   | 3 |",
        "+----------+---+",
    ];
    assert_batches_eq!(per_activity_expected, &per_activity);

    let per_instance = df_sql(&ctx, &SUM_PER_INSTANCE.replace("{table}", "events")).await?;
    assert_batches_eq!(SUM_PER_INSTANCE_EXPECTED, &per_instance);

    // 3. The table's Parquet files, as listed by the Delta log (local paths for a file:// table).
    let files: Vec<String> = table.get_file_uris()?.collect();
    assert_eq!(files.len(), 1, "one small write makes one file: {files:?}");
    for file in &files {
        assert!(file.ends_with(".parquet") && std::path::Path::new(file).is_file(), "not a local Parquet file: {file}");
    }
    let parquet_list = files.iter().map(|f| format!("'{}'", f.replace('\'', "''"))).collect::<Vec<_>>().join(", ");

    // 4. DuckDB (bundled, with its parquet extension compiled in) reads those files.
    let (_, duck_counts) = duckdb_arrow(&format!(
        "SELECT activity, count(*) AS n FROM read_parquet([{parquet_list}]) GROUP BY activity ORDER BY activity"
    ))?;
    assert_batches_eq!(per_activity_expected, &duck_counts);

    // DuckDB hands back exactly the Arrow types that were written (nullability aside).
    let (duck_schema, duck_rows) = duckdb_arrow(&format!("SELECT * FROM read_parquet([{parquet_list}]) ORDER BY ts"))?;
    let types =
        |schema: &Schema| schema.fields().iter().map(|f| (f.name().clone(), f.data_type().clone())).collect::<Vec<_>>();
    assert_eq!(types(&duck_schema), types(&written.schema()));
    assert_eq!(duck_rows.iter().map(RecordBatch::num_rows).sum::<usize>(), 6);

    // 5. DataFusion takes DuckDB's batches as they are: no conversion, straight into a MemTable.
    ctx.register_table("duck_events", Arc::new(MemTable::try_new(duck_schema, vec![duck_rows])?))?;
    let per_instance = df_sql(&ctx, &SUM_PER_INSTANCE.replace("{table}", "duck_events")).await?;
    assert_batches_eq!(SUM_PER_INSTANCE_EXPECTED, &per_instance);

    Ok(())
}
