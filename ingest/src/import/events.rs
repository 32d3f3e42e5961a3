//! Imported events, gathered into Arrow batches of the `events` table.

use crate::IngestError;
use arrow::array::{ArrayBuilder, ArrayRef, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder};
use chrono::{DateTime, Datelike, Utc};
use orgata_warehouse::tables::EVENTS;
use std::sync::Arc;

/// Rows per Arrow batch.
const BATCH_ROWS: usize = 65_536;

/// One event of an imported log, borrowed from the reader's buffers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventRow<'a> {
    pub case_id: &'a str,
    pub activity: &'a str,
    /// The XES lifecycle transition, lowercase (`complete` when the log has none).
    pub lifecycle: &'a str,
    pub resource: Option<&'a str>,
    pub role: Option<&'a str>,
    pub at: DateTime<Utc>,
    /// When the work started, for logs with a start and a completion time per event.
    pub start: Option<DateTime<Utc>>,
    /// Every other attribute, as a JSON object (`None` when there are none).
    pub attributes: Option<&'a str>,
}

/// Builds `events` batches for one team and source, numbering events in file order.
pub struct EventBatches {
    team: String,
    source: String,
    rows: usize,
    current: Builders,
    /// Reused for each event's id (`<source>:<n>`), and the last month partition with the
    /// `(year, month)` it is of.
    event_id: String,
    month: ((i32, u32), String),
}

impl EventBatches {
    pub fn new(team: &str, source: &str) -> Self {
        EventBatches {
            team: team.into(),
            source: source.into(),
            rows: 0,
            current: Builders::new(),
            event_id: format!("{source}:"),
            month: ((i32::MIN, 0), String::new()),
        }
    }

    /// Events pushed so far.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Adds an event; returns a batch when one is full.
    pub fn push(&mut self, e: EventRow<'_>) -> Result<Option<RecordBatch>, IngestError> {
        use std::fmt::Write;
        let b = &mut self.current;
        self.event_id.truncate(self.source.len() + 1);
        let _ = write!(self.event_id, "{}", self.rows + 1);
        b.event_id.append_value(&self.event_id);
        b.case_id.append_value(e.case_id);
        b.activity.append_value(e.activity);
        b.lifecycle.append_value(e.lifecycle);
        b.resource.append_option(e.resource);
        b.role.append_option(e.role);
        b.ts.append_value(e.at.timestamp_micros());
        b.start_ts.append_option(e.start.map(|s| s.timestamp_micros()));
        b.ordinal.append_value(self.rows as i64 + 1);
        b.attributes.append_option(e.attributes);
        b.team_id.append_value(&self.team);
        b.source.append_value(&self.source);
        let month = (e.at.year(), e.at.month());
        if self.month.0 != month {
            self.month = (month, format!("{:04}-{:02}", month.0, month.1));
        }
        b.month.append_value(&self.month.1);
        self.rows += 1;
        if self.rows.is_multiple_of(BATCH_ROWS) {
            let full = std::mem::replace(&mut self.current, Builders::new());
            return full.finish().map(Some);
        }
        Ok(None)
    }

    /// The last, partial batch, if any.
    pub fn finish(self) -> Result<Option<RecordBatch>, IngestError> {
        if self.rows.is_multiple_of(BATCH_ROWS) { Ok(None) } else { self.current.finish().map(Some) }
    }
}

struct Builders {
    event_id: StringBuilder,
    case_id: StringBuilder,
    activity: StringBuilder,
    lifecycle: StringBuilder,
    resource: StringBuilder,
    role: StringBuilder,
    ts: TimestampMicrosecondBuilder,
    start_ts: TimestampMicrosecondBuilder,
    ordinal: Int64Builder,
    attributes: StringBuilder,
    team_id: StringBuilder,
    source: StringBuilder,
    month: StringBuilder,
}

impl Builders {
    fn new() -> Self {
        let text = || StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 16);
        Builders {
            event_id: text(),
            case_id: text(),
            activity: text(),
            lifecycle: text(),
            resource: text(),
            role: text(),
            ts: TimestampMicrosecondBuilder::with_capacity(BATCH_ROWS).with_timezone("UTC"),
            start_ts: TimestampMicrosecondBuilder::with_capacity(BATCH_ROWS).with_timezone("UTC"),
            ordinal: Int64Builder::with_capacity(BATCH_ROWS),
            attributes: text(),
            team_id: text(),
            source: text(),
            month: text(),
        }
    }

    /// The batch, its columns in the order of the `events` schema (columns imports leave empty
    /// are all null).
    fn finish(mut self) -> Result<RecordBatch, IngestError> {
        let schema = EVENTS.schema();
        let rows = self.case_id.len();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for field in schema.fields() {
            let column: ArrayRef = match field.name().as_str() {
                "event_id" => Arc::new(self.event_id.finish()),
                "case_id" => Arc::new(self.case_id.finish()),
                "activity" => Arc::new(self.activity.finish()),
                "lifecycle" => Arc::new(self.lifecycle.finish()),
                "resource" => Arc::new(self.resource.finish()),
                "role" => Arc::new(self.role.finish()),
                "ts" => Arc::new(self.ts.finish()),
                "start_ts" => Arc::new(self.start_ts.finish()),
                "ordinal" => Arc::new(self.ordinal.finish()),
                "attributes" => Arc::new(self.attributes.finish()),
                "team_id" => Arc::new(self.team_id.finish()),
                "source" => Arc::new(self.source.finish()),
                "month" => Arc::new(self.month.finish()),
                _ => arrow::array::new_null_array(field.data_type(), rows),
            };
            columns.push(column);
        }
        RecordBatch::try_new(schema, columns).map_err(|e| IngestError::Malformed(format!("event batch: {e}")))
    }
}
