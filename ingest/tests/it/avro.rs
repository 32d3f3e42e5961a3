//! Change events as Avro: exact round trips, and schema evolution checked before it ships.

use apache_avro::types::Value;
use chrono::{TimeZone, Utc};
use orgata_engine::{ChangeEvent, LogPosition, TeamId};
use orgata_ingest::avro::{SCHEMAS, check_evolution, decode, encode};
use serde_json::json;

fn events() -> Vec<ChangeEvent> {
    let at = Utc.with_ymd_and_hms(2026, 3, 14, 9, 26, 53).unwrap() + chrono::Duration::microseconds(589_793);
    vec![
        ChangeEvent {
            position: LogPosition { xid: 7_001, seq: 0 },
            team_id: Some(TeamId::from("01a2155a-b881-75eb-8258-a8ee4223918e")),
            entity: "task".into(),
            entity_id: "01a2155a-b881-75eb-8258-a8edccb20a7e".into(),
            op: "update".into(),
            data: json!({"status": "completed", "output": {"ok": true, "amount": 12.5}, "note": "ünïcödé"}),
            at,
        },
        ChangeEvent {
            position: LogPosition { xid: 7_002, seq: 3 },
            team_id: None,
            entity: "user".into(),
            entity_id: "01a2155a-0000-7000-8000-000000000001".into(),
            op: "insert".into(),
            data: json!({"email": "ana@acme.test"}),
            at,
        },
    ]
}

/// Version 1 of the schema with `extra` added to its fields.
fn v1_with(extra: &str) -> String {
    let (_, v1) = SCHEMAS[0];
    let at = v1.rfind("]").unwrap();
    format!("{}, {extra}\n  {}", v1[..at].trim_end(), &v1[at..])
}

#[test]
fn change_events_round_trip_through_an_avro_container_file() {
    let bytes = encode(&events()).unwrap();
    assert_eq!(&bytes[..4], b"Obj\x01", "an Avro object container file");
    assert_eq!(decode(&bytes).unwrap(), events());
    let reader = apache_avro::Reader::new(&bytes[..]).unwrap();
    let written = reader.writer_schema().canonical_form();
    let current = apache_avro::Schema::parse_str(SCHEMAS.last().unwrap().1).unwrap().canonical_form();
    assert_eq!(written, current, "files carry the schema they were written with");
    assert_eq!(decode(&encode(&[]).unwrap()).unwrap(), Vec::<ChangeEvent>::new());
}

#[test]
fn the_schemas_in_the_repository_evolve_compatibly() {
    assert_eq!(SCHEMAS.iter().map(|(v, _)| *v).collect::<Vec<_>>(), ["v1"]);
    check_evolution(SCHEMAS).unwrap();
}

#[test]
fn an_added_optional_field_with_a_default_keeps_older_files_readable() {
    let v2 = v1_with(r#"{"name": "source", "type": ["null", "string"], "default": null}"#);
    check_evolution(&[("v1", SCHEMAS[0].1), ("v2", &v2)]).unwrap();
    let v2 = apache_avro::Schema::parse_str(&v2).unwrap();
    let written_with_v1 = encode(&events()).unwrap();
    let reader = apache_avro::Reader::builder(&written_with_v1[..]).reader_schema(&v2).build().unwrap();
    let records: Vec<Value> = reader.map(Result::unwrap).collect();
    assert_eq!(records.len(), 2);
    for record in records {
        let Value::Record(fields) = record else { panic!("a record") };
        let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["xid", "seq", "team_id", "entity", "entity_id", "op", "data", "at", "source"]);
        assert_eq!(fields[8].1, Value::Union(0, Box::new(Value::Null)), "the default fills the new field");
    }
}

#[test]
fn an_incompatible_change_is_caught() {
    let retyped = SCHEMAS[0].1.replace(r#""name": "seq", "type": "long""#, r#""name": "seq", "type": "string""#);
    assert_ne!(retyped, SCHEMAS[0].1);
    let err = check_evolution(&[("v1", SCHEMAS[0].1), ("v2", &retyped)]).unwrap_err();
    assert!(err.starts_with("v2 cannot read data written with v1: "), "{err}");
    let required = v1_with(r#"{"name": "source", "type": "string"}"#);
    let err = check_evolution(&[("v1", SCHEMAS[0].1), ("v2", &required)]).unwrap_err();
    assert!(err.starts_with("v2 cannot read data written with v1: "), "{err}");
    let err = check_evolution(&[("v1", "{not a schema")]).unwrap_err();
    assert!(err.starts_with("v1: "), "{err}");
}

#[test]
fn corrupt_archives_are_errors_not_panics() {
    assert!(decode(b"not an avro file").is_err());
    let bytes = encode(&events()).unwrap();
    assert!(decode(&bytes[..bytes.len() - 10]).is_err(), "a file cut in its last block");
}
