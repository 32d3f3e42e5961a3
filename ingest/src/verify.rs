//! Checks that the warehouse equals the change log it was built from: every event exactly once,
//! and the current state of every record the warehouse keeps (`orgata warehouse verify`, and the
//! crash tests).

use crate::IngestError;
use crate::convert::table_of;
use orgata_engine::{LogPosition, Store};
use orgata_warehouse::tables::TableKind;
use orgata_warehouse::{QueryLimits, TeamScope, Warehouse};
use std::collections::{BTreeMap, HashMap};

/// What was compared, and what differed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verification {
    /// The change log's last position.
    pub position: LogPosition,
    /// Rows compared per table: events, and current records.
    pub compared: BTreeMap<&'static str, i64>,
    /// Every difference, in words; empty when the warehouse equals the change log.
    pub mismatches: Vec<String>,
}

/// Compares the warehouse with the whole change log of `store`: per table, the number of event
/// rows (and of distinct event ids) or of current records, by status where records have one.
pub async fn verify(store: &dyn Store, warehouse: &Warehouse) -> Result<Verification, IngestError> {
    let mut events_by_lifecycle: BTreeMap<String, i64> = BTreeMap::new();
    let mut latest: HashMap<(&'static str, String), (String, Option<String>)> = HashMap::new();
    let mut position = LogPosition::default();
    loop {
        let batch = store.read_changes(position, 10_000).await?;
        let Some(last) = batch.last() else { break };
        position = last.position;
        for c in batch {
            let Some(spec) = table_of(&c.entity) else { continue };
            if spec.kind == TableKind::Log {
                let lifecycle = c.data.get("lifecycle").and_then(|v| v.as_str()).unwrap_or_default();
                *events_by_lifecycle.entry(lifecycle.to_string()).or_default() += 1;
            } else {
                let status = c.data.get("status").and_then(|v| v.as_str()).map(str::to_string);
                latest.insert((spec.name, c.entity_id), (c.op, status));
            }
        }
    }
    let mut expected: BTreeMap<(&'static str, String), i64> = BTreeMap::new();
    for ((table, _), (op, status)) in &latest {
        if op != "delete" {
            *expected.entry((table, status.clone().unwrap_or_default())).or_default() += 1;
        }
    }
    let mut verification = Verification { position, ..Verification::default() };
    // Imported logs are in `events` too, under their own sources.
    let found =
        counts(warehouse, "SELECT lifecycle, count(*) FROM events WHERE source = 'orgata' GROUP BY lifecycle").await?;
    compare(&mut verification, "events", &events_by_lifecycle, &found);
    let distinct =
        counts(warehouse, "SELECT 'ids', count(DISTINCT event_id) FROM events WHERE source = 'orgata'").await?;
    let rows: i64 = found.values().sum();
    if distinct.get("ids").copied().unwrap_or(0) != rows {
        verification.mismatches.push(format!("events: {rows} rows but {:?} distinct event ids", distinct.get("ids")));
    }
    for spec in orgata_warehouse::tables::ALL.iter().filter(|t| t.kind == TableKind::Versions) {
        let by = if spec.column("status").is_some() { "status" } else { "''" };
        let found = counts(warehouse, &format!("SELECT {by}, count(*) FROM {} GROUP BY {by}", spec.name)).await?;
        let wanted: BTreeMap<String, i64> =
            expected.iter().filter(|((t, _), _)| *t == spec.name).map(|((_, s), n)| (s.clone(), *n)).collect();
        compare(&mut verification, spec.name, &wanted, &found);
    }
    Ok(verification)
}

fn compare(v: &mut Verification, table: &'static str, wanted: &BTreeMap<String, i64>, found: &BTreeMap<String, i64>) {
    v.compared.insert(table, wanted.values().sum());
    if wanted != found {
        v.mismatches.push(format!("{table}: the change log gives {wanted:?}, the warehouse holds {found:?}"));
    }
}

/// A two-column query (text, count) as a map.
async fn counts(warehouse: &Warehouse, sql: &str) -> Result<BTreeMap<String, i64>, IngestError> {
    let limits = QueryLimits { max_rows: 1_000_000, ..QueryLimits::default() };
    let result = warehouse.query(sql, &TeamScope::All, limits).await?;
    let mut out = BTreeMap::new();
    for batch in &result.batches {
        let cast = |i: usize, to: &arrow::datatypes::DataType| {
            arrow::compute::cast(batch.column(i), to).map_err(|e| IngestError::Malformed(e.to_string()))
        };
        let keys = cast(0, &arrow::datatypes::DataType::Utf8)?;
        let values = cast(1, &arrow::datatypes::DataType::Int64)?;
        let (Some(keys), Some(values)) = (
            keys.as_any().downcast_ref::<arrow::array::StringArray>(),
            values.as_any().downcast_ref::<arrow::array::Int64Array>(),
        ) else {
            return Err(IngestError::Malformed(format!("unexpected result types for {sql}")));
        };
        for i in 0..batch.num_rows() {
            out.insert(keys.value(i).to_string(), values.value(i));
        }
    }
    Ok(out)
}
