//! Change events as Arrow rows of the warehouse's tables. `task_event` changes become rows of
//! `events` (the process event log); records the engine writes (instances, tasks, playbooks and
//! their versions, teams, memberships, users) become new versions in their tables, a deletion
//! included. Changes to records the warehouse does not keep (organisations and their settings,
//! roles, branches, comments) are left out.

use crate::IngestError;
use arrow::array::RecordBatch;
use orgata_engine::ChangeEvent;
use orgata_warehouse::tables::{self, ColumnKind, TableKind, TableSpec};
use serde_json::{Map, Value, json};

/// Where changes of an engine entity go, if anywhere.
pub fn table_of(entity: &str) -> Option<&'static TableSpec> {
    Some(match entity {
        "task_event" => &tables::EVENTS,
        "instance" => &tables::INSTANCES,
        "task" => &tables::TASKS,
        "playbook" => &tables::PLAYBOOKS,
        "playbook_version" => &tables::PLAYBOOK_VERSIONS,
        "team" => &tables::TEAMS,
        "membership" => &tables::MEMBERSHIPS,
        "user" => &tables::USERS,
        _ => return None,
    })
}

/// The rows of `spec` that `changes` (all of them for this table) make, as one batch.
pub fn to_batch(spec: &TableSpec, changes: &[&ChangeEvent]) -> Result<RecordBatch, IngestError> {
    let rows: Vec<Map<String, Value>> = changes
        .iter()
        .map(|c| match spec.kind {
            TableKind::Log => event_row(c),
            _ => version_row(spec, c),
        })
        .collect::<Result<_, _>>()?;
    Ok(spec.rows_from_json(&rows)?)
}

/// A new version of a record: its fields by column name, the change's team, and the bookkeeping
/// columns. JSON columns hold the field as JSON text.
fn version_row(spec: &TableSpec, c: &ChangeEvent) -> Result<Map<String, Value>, IngestError> {
    let mut row = Map::new();
    for column in spec.columns {
        let value = match column.name {
            "team_id" => json!(c.team_id.as_ref().map(|t| t.as_str())),
            "_id" => json!(c.entity_id),
            "_op" => json!(c.op),
            "_xid" => json!(c.position.xid),
            "_seq" => json!(c.position.seq),
            "_at" => json!(c.at.to_rfc3339()),
            name => match (column.kind, c.data.get(name)) {
                (_, None | Some(Value::Null)) => Value::Null,
                (ColumnKind::Json, Some(v)) => Value::String(v.to_string()),
                (_, Some(v)) => v.clone(),
            },
        };
        row.insert(column.name.to_string(), value);
    }
    Ok(row)
}

/// A row of the event log from a `task_event` change (see `orgata_engine::lifecycle`).
fn event_row(c: &ChangeEvent) -> Result<Map<String, Value>, IngestError> {
    let event: orgata_engine::TaskEvent = serde_json::from_value(c.data.clone())
        .map_err(|e| IngestError::Malformed(format!("task_event {}: {e}", c.entity_id)))?;
    let attributes = event.decision.as_ref().map(|d| json!({ "decision": d }).to_string());
    match json!({
        "event_id": event.id,
        "source": tables::ENGINE_SOURCE,
        "case_id": event.instance_id,
        "activity": event.activity,
        "lifecycle": event.lifecycle.as_str(),
        "resource": event.resource,
        "role": event.role,
        "ts": event.at.to_rfc3339(),
        "ordinal": c.position.seq,
        "playbook_id": event.playbook_id,
        "version_id": event.version_id,
        "task_id": event.task_id,
        "step_key": event.step_key,
        "attempt": event.attempt,
        "attributes": attributes,
        "_xid": c.position.xid,
        "_seq": c.position.seq,
        "team_id": event.team_id,
        "month": event.at.format("%Y-%m").to_string(),
    }) {
        Value::Object(row) => Ok(row),
        other => Err(IngestError::Malformed(format!("event row {other}"))),
    }
}
