//! Change events as Avro records, under the versioned schemas of `ingest/schemas/`
//! (`change_event.v<N>.avsc`): written as Avro object container files — the raw change archive,
//! readable by any Avro consumer — and read back under the newest schema, which Avro's schema
//! resolution lets read every older version's files.

use crate::IngestError;
use apache_avro::schema_compatibility::SchemaCompatibility;
use apache_avro::types::{Record, Value};
use apache_avro::{Codec, DeflateSettings, Reader, Schema, Writer};
use chrono::DateTime;
use orgata_engine::{ChangeEvent, LogPosition, TeamId};
use std::sync::OnceLock;

/// Every version of the change-event schema, oldest first: `(version, schema JSON)`. A new version
/// is appended here (never edited in place) and must read every older one (see [`check_evolution`]).
pub const SCHEMAS: &[(&str, &str)] = &[("v1", include_str!("../schemas/change_event.v1.avsc"))];

/// The newest schema, which writes new files and reads all of them.
pub fn current_schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let (_, text) = SCHEMAS.last().expect("at least one schema");
        Schema::parse_str(text).expect("the schemas in ingest/schemas parse (checked by the tests)")
    })
}

/// Checks a history of schemas, oldest first: each parses, and each newer one can read what every
/// older one wrote. The error names the two versions and what breaks.
pub fn check_evolution(history: &[(&str, &str)]) -> Result<(), String> {
    let parsed: Vec<(&str, Schema)> = history
        .iter()
        .map(|(version, text)| Schema::parse_str(text).map(|s| (*version, s)).map_err(|e| format!("{version}: {e}")))
        .collect::<Result<_, _>>()?;
    for (i, (newer, reader)) in parsed.iter().enumerate() {
        for (older, writer) in &parsed[..i] {
            SchemaCompatibility::can_read(writer, reader)
                .map_err(|e| format!("{newer} cannot read data written with {older}: {e}"))?;
        }
    }
    Ok(())
}

/// Encodes change events as one Avro object container file (deflate-compressed blocks) under the
/// current schema.
pub fn encode(events: &[ChangeEvent]) -> Result<Vec<u8>, IngestError> {
    let schema = current_schema();
    let mut writer = Writer::with_codec(schema, Vec::new(), Codec::Deflate(DeflateSettings::default()))?;
    for event in events {
        let mut record = Record::new(schema).expect("the change-event schema is a record");
        record.put("xid", Value::Long(event.position.xid));
        record.put("seq", Value::Long(event.position.seq));
        let team = match &event.team_id {
            Some(team) => Value::Union(1, Box::new(Value::String(team.to_string()))),
            None => Value::Union(0, Box::new(Value::Null)),
        };
        record.put("team_id", team);
        record.put("entity", Value::String(event.entity.clone()));
        record.put("entity_id", Value::String(event.entity_id.clone()));
        record.put("op", Value::String(event.op.clone()));
        record.put("data", Value::String(event.data.to_string()));
        record.put("at", Value::TimestampMicros(event.at.timestamp_micros()));
        writer.append_value(record)?;
    }
    Ok(writer.into_inner()?)
}

/// Decodes an Avro object container file of change events written under any schema version, read
/// under the current one.
pub fn decode(bytes: &[u8]) -> Result<Vec<ChangeEvent>, IngestError> {
    Reader::builder(bytes).reader_schema(current_schema()).build()?.map(|value| event_of(value?)).collect()
}

/// A change event from a record read under the current schema.
fn event_of(value: Value) -> Result<ChangeEvent, IngestError> {
    let Value::Record(fields) = value else { return Err(malformed("a change event is not a record")) };
    let field = |name: &str| {
        fields.iter().find(|(n, _)| n == name).map(|(_, v)| v).ok_or_else(|| malformed(&format!("no field `{name}`")))
    };
    let long = |name: &str| match field(name)? {
        Value::Long(n) | Value::TimestampMicros(n) => Ok(*n),
        other => Err(malformed(&format!("`{name}` is {other:?}, not a long"))),
    };
    let text = |name: &str| match field(name)? {
        Value::String(s) => Ok(s.clone()),
        other => Err(malformed(&format!("`{name}` is {other:?}, not a string"))),
    };
    let team_id = match field("team_id")? {
        Value::Union(_, inner) => match inner.as_ref() {
            Value::String(team) => Some(TeamId::from(team.as_str())),
            Value::Null => None,
            other => return Err(malformed(&format!("`team_id` is {other:?}"))),
        },
        other => return Err(malformed(&format!("`team_id` is {other:?}, not a union"))),
    };
    let data = serde_json::from_str(&text("data")?).map_err(|e| malformed(&format!("`data` is not JSON: {e}")))?;
    let at = DateTime::from_timestamp_micros(long("at")?).ok_or_else(|| malformed("`at` is out of range"))?;
    Ok(ChangeEvent {
        position: LogPosition { xid: long("xid")?, seq: long("seq")? },
        team_id,
        entity: text("entity")?,
        entity_id: text("entity_id")?,
        op: text("op")?,
        data,
        at,
    })
}

fn malformed(what: &str) -> IngestError {
    IngestError::Malformed(what.to_string())
}
