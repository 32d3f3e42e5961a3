//! CSV event logs: one event per row, with columns for the case, the activity and the time, and
//! optionally a start time, a resource and a lifecycle transition. Columns are found by the names
//! PM4Py and XES use (`case:concept:name`, `concept:name`, `time:timestamp`, `start_timestamp`,
//! `org:resource`, `lifecycle:transition`) and common spellings (`case_id`, `activity`,
//! `timestamp`, …), or named explicitly. Every other column becomes an attribute.

use super::events::EventRow;
use super::time;
use crate::IngestError;
use serde_json::{Map, Value};
use std::io::BufRead;

/// Which columns hold what; unset ones are detected from the header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvColumns {
    pub case: Option<String>,
    pub activity: Option<String>,
    pub timestamp: Option<String>,
    pub start: Option<String>,
    pub resource: Option<String>,
    pub lifecycle: Option<String>,
}

const CASE: &[&str] = &["case:concept:name", "case_id", "caseid", "case id", "case"];
const ACTIVITY: &[&str] = &["concept:name", "activity", "activity_name", "activity name", "event", "task"];
const TIMESTAMP: &[&str] =
    &["time:timestamp", "timestamp", "complete_timestamp", "end_timestamp", "end_time", "completion_time", "time"];
const START: &[&str] = &["start_timestamp", "start_time", "starttime", "start"];
const RESOURCE: &[&str] = &["org:resource", "resource", "user", "performer"];
const LIFECYCLE: &[&str] = &["lifecycle:transition", "lifecycle", "transition"];

/// The resolved column positions.
struct Positions {
    case: usize,
    activity: usize,
    timestamp: usize,
    start: Option<usize>,
    resource: Option<usize>,
    lifecycle: Option<usize>,
}

/// Reads a CSV log, handing each row's event to `sink`.
pub fn read(
    input: impl BufRead,
    columns: &CsvColumns,
    sink: &mut dyn FnMut(EventRow<'_>) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(input);
    let header = reader.headers().map_err(|e| error("header", &e))?.clone();
    let names: Vec<String> = header.iter().map(|h| h.trim().trim_start_matches('\u{feff}').to_string()).collect();
    let positions = resolve(&names, columns)?;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => return Err(error(&location_of(&e), &e)),
        }
        let row = record.position().map_or(0, |p| p.line());
        let location = format!("row {row}");
        let cell = |i: usize| record.get(i).unwrap_or_default();
        let required = |i: usize, what: &str| {
            let value = cell(i).trim();
            if value.is_empty() {
                Err(IngestError::Import {
                    location: location.clone(),
                    message: format!("the {what} (`{}`) is empty", names[i]),
                })
            } else {
                Ok(value.to_string())
            }
        };
        let when = |i: usize| {
            time::parse(cell(i)).map_err(|m| IngestError::Import {
                location: location.clone(),
                message: format!("column `{}`: {m}", names[i]),
            })
        };
        let optional = |i: Option<usize>| i.map(|i| cell(i).trim()).filter(|v| !v.is_empty()).map(str::to_string);
        let mut attributes = Map::new();
        for (i, value) in record.iter().enumerate() {
            let used = [Some(positions.case), Some(positions.activity), Some(positions.timestamp)]
                .into_iter()
                .chain([positions.start, positions.resource, positions.lifecycle])
                .any(|p| p == Some(i));
            if !used && !value.is_empty() {
                attributes.insert(names[i].clone(), Value::String(value.to_string()));
            }
        }
        let start = match positions.start {
            Some(i) if !cell(i).trim().is_empty() => Some(when(i)?),
            _ => None,
        };
        let (case_id, activity) = (required(positions.case, "case id")?, required(positions.activity, "activity")?);
        let lifecycle = optional(positions.lifecycle).map_or_else(|| "complete".into(), |l| l.to_ascii_lowercase());
        let at = when(positions.timestamp)?;
        let attributes = (!attributes.is_empty()).then(|| Value::Object(attributes).to_string());
        sink(EventRow {
            case_id: &case_id,
            activity: &activity,
            lifecycle: &lifecycle,
            resource: optional(positions.resource).as_deref(),
            role: None,
            at,
            start,
            attributes: attributes.as_deref(),
        })?;
    }
}

/// Finds each column: the explicit name if given (it must exist), else the first known name.
fn resolve(names: &[String], columns: &CsvColumns) -> Result<Positions, IngestError> {
    let find = |explicit: &Option<String>, known: &[&str], what: &str| -> Result<Option<usize>, IngestError> {
        if let Some(name) = explicit {
            return names.iter().position(|n| n == name).map(Some).ok_or_else(|| IngestError::Import {
                location: "header".into(),
                message: format!("no column `{name}` for the {what}; the columns are {names:?}"),
            });
        }
        Ok(known.iter().find_map(|k| names.iter().position(|n| n.eq_ignore_ascii_case(k))))
    };
    let need = |found: Option<usize>, what: &str, flag: &str| {
        found.ok_or_else(|| IngestError::Import {
            location: "header".into(),
            message: format!("no {what} column found among {names:?}; name it with {flag}"),
        })
    };
    let case = need(find(&columns.case, CASE, "case id")?, "case id", "--case-column")?;
    let activity = need(find(&columns.activity, ACTIVITY, "activity")?, "activity", "--activity-column")?;
    let timestamp = need(find(&columns.timestamp, TIMESTAMP, "timestamp")?, "timestamp", "--timestamp-column")?;
    Ok(Positions {
        case,
        activity,
        timestamp,
        start: find(&columns.start, START, "start time")?,
        resource: find(&columns.resource, RESOURCE, "resource")?,
        lifecycle: find(&columns.lifecycle, LIFECYCLE, "lifecycle")?,
    })
}

fn location_of(e: &csv::Error) -> String {
    e.position().map_or_else(|| "a row".into(), |p| format!("row {}", p.line()))
}

fn error(location: &str, e: &csv::Error) -> IngestError {
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "invalid UTF-8: the file must be UTF-8 encoded".to_string(),
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("{len} fields where the header has {expected_len}")
        }
        _ => e.to_string(),
    };
    IngestError::Import { location: location.to_string(), message }
}
