//! The warehouse's tables (design.md, "Warehouse tables"): their columns, Arrow schemas and
//! partitioning. `events` is the process event log; the others keep every committed version of a
//! record (merge-on-read), from which the SQL layer shows current state (see `sql`).

use crate::WarehouseError;
use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use std::sync::Arc;

/// The type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Int,
    Bool,
    /// Microseconds since the epoch, UTC.
    Timestamp,
    /// A JSON document, stored as text.
    Json,
}

impl ColumnKind {
    /// The Arrow type the column is stored as.
    pub fn arrow_type(self) -> DataType {
        match self {
            ColumnKind::Text | ColumnKind::Json => DataType::Utf8,
            ColumnKind::Int => DataType::Int64,
            ColumnKind::Bool => DataType::Boolean,
            ColumnKind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        }
    }
}

/// One column of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: ColumnKind,
    pub nullable: bool,
}

const fn required(name: &'static str, kind: ColumnKind) -> Column {
    Column { name, kind, nullable: false }
}

const fn optional(name: &'static str, kind: ColumnKind) -> Column {
    Column { name, kind, nullable: true }
}

use ColumnKind::{Bool, Int, Json, Text, Timestamp};

/// How a table's rows relate to the records they describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// Append-only facts: every row stands for itself (`events`).
    Log,
    /// Every committed version of a record, identified by `_id`; the newest version is the
    /// record's current state, unless its `_op` is `delete`.
    Versions,
    /// The ingest's own bookkeeping (`ingest_batches`), not exposed to analysts.
    Internal,
}

/// A table of the warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSpec {
    /// The table's name, which is also its folder under the warehouse root.
    pub name: &'static str,
    pub kind: TableKind,
    /// Data columns, in order; partition columns last.
    pub columns: &'static [Column],
    /// Hive-style partition columns: queries filtering on them read only matching folders.
    pub partition_by: &'static [&'static str],
}

impl TableSpec {
    /// The Arrow schema of the table's rows.
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns.iter().map(|c| Field::new(c.name, c.kind.arrow_type(), c.nullable)).collect::<Vec<_>>(),
        ))
    }

    /// Whether rows carry a team (and are therefore scoped to it in SQL).
    pub fn is_team_scoped(&self) -> bool {
        self.columns.iter().any(|c| c.name == "team_id")
    }

    /// Whether the table's files are partitioned by team first, so a scope is a set of folders.
    pub fn is_partitioned_by_team(&self) -> bool {
        self.partition_by.first() == Some(&"team_id")
    }

    /// Arrow rows of this table from JSON objects keyed by column name (timestamps as RFC 3339
    /// text, JSON columns as JSON text); unknown keys and missing required columns are errors.
    pub fn rows_from_json(
        &self,
        rows: &[serde_json::Map<String, serde_json::Value>],
    ) -> Result<RecordBatch, WarehouseError> {
        let error =
            |e: arrow::error::ArrowError| WarehouseError::Rows { table: self.name.into(), reason: e.to_string() };
        let mut decoder = arrow::json::ReaderBuilder::new(self.schema())
            .with_batch_size(rows.len().max(1))
            .with_strict_mode(true)
            .build_decoder()
            .map_err(error)?;
        decoder.serialize(rows).map_err(error)?;
        Ok(decoder.flush().map_err(error)?.unwrap_or_else(|| RecordBatch::new_empty(self.schema())))
    }

    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Columns every version-keeping table ends its data columns with: which record (`_id`), what
/// happened to it (`_op`: insert, update, delete), its commit position (`_xid`, `_seq`) and time.
macro_rules! version_columns {
    () => {
        [
            required("_id", Text),
            required("_op", Text),
            required("_xid", Int),
            required("_seq", Int),
            required("_at", Timestamp),
        ]
    };
}

/// Concatenates column arrays at compile time.
macro_rules! columns {
    ($($part:expr),+ $(,)?) => {{
        const PARTS: &[&[Column]] = &[$(&$part),+];
        const LEN: usize = { let mut n = 0; let mut i = 0; while i < PARTS.len() { n += PARTS[i].len(); i += 1; } n };
        const ALL: [Column; LEN] = {
            let mut out = [required("", Text); LEN];
            let (mut n, mut i) = (0, 0);
            while i < PARTS.len() {
                let mut j = 0;
                while j < PARTS[i].len() { out[n] = PARTS[i][j]; n += 1; j += 1; }
                i += 1;
            }
            out
        };
        &ALL
    }};
}

/// The `source` of the engine's own events in [`EVENTS`]; imported logs have other names.
pub const ENGINE_SOURCE: &str = "orgata";

/// The process event log: one row per lifecycle transition of a task (from the engine, source
/// [`ENGINE_SOURCE`]) or per event of an imported log (its source name). `ts` is when it happened;
/// `start_ts` is set where a row stands for an interval (an imported log with start and
/// completion times per event); `ordinal` orders events with equal times as their source did.
/// Partitioned by team, source and month.
pub const EVENTS: TableSpec = TableSpec {
    name: "events",
    kind: TableKind::Log,
    columns: columns!([
        required("event_id", Text),
        required("case_id", Text),
        required("activity", Text),
        required("lifecycle", Text),
        optional("resource", Text),
        optional("role", Text),
        required("ts", Timestamp),
        optional("start_ts", Timestamp),
        required("ordinal", Int),
        optional("playbook_id", Text),
        optional("version_id", Text),
        optional("task_id", Text),
        optional("step_key", Text),
        optional("attempt", Int),
        optional("attributes", Json),
        optional("_xid", Int),
        optional("_seq", Int),
        required("team_id", Text),
        required("source", Text),
        required("month", Text),
    ]),
    partition_by: &["team_id", "source", "month"],
};

/// Process instances.
pub const INSTANCES: TableSpec = TableSpec {
    name: "instances",
    kind: TableKind::Versions,
    columns: columns!(
        [
            required("id", Text),
            required("playbook_id", Text),
            required("version_id", Text),
            required("title", Text),
            required("status", Text),
            optional("outcome", Text),
            optional("data", Json),
            optional("started_by", Text),
            required("started_at", Timestamp),
            optional("ended_at", Timestamp),
            required("revision", Int),
        ],
        version_columns!(),
        [required("team_id", Text)],
    ),
    partition_by: &["team_id"],
};

/// Tasks: one per execution of a step.
pub const TASKS: TableSpec = TableSpec {
    name: "tasks",
    kind: TableKind::Versions,
    columns: columns!(
        [
            required("id", Text),
            required("instance_id", Text),
            required("playbook_id", Text),
            required("version_id", Text),
            required("step_key", Text),
            required("name", Text),
            required("kind", Text),
            required("status", Text),
            required("attempt", Int),
            required("current", Bool),
            optional("role", Text),
            optional("assignee_id", Text),
            optional("ready_at", Timestamp),
            optional("assigned_at", Timestamp),
            optional("started_at", Timestamp),
            optional("completed_at", Timestamp),
            optional("due_at", Timestamp),
            optional("decision", Text),
            optional("output", Json),
            required("revision", Int),
        ],
        version_columns!(),
        [required("team_id", Text)],
    ),
    partition_by: &["team_id"],
};

/// Playbooks.
pub const PLAYBOOKS: TableSpec = TableSpec {
    name: "playbooks",
    kind: TableKind::Versions,
    columns: columns!(
        [required("id", Text), required("name", Text), optional("created_by", Text), required("created_at", Timestamp),],
        version_columns!(),
        [required("team_id", Text)],
    ),
    partition_by: &[],
};

/// Playbook versions, with their definitions.
pub const PLAYBOOK_VERSIONS: TableSpec = TableSpec {
    name: "playbook_versions",
    kind: TableKind::Versions,
    columns: columns!(
        [
            required("id", Text),
            required("playbook_id", Text),
            optional("parent_id", Text),
            required("number", Int),
            required("definition", Json),
            required("message", Text),
            optional("created_by", Text),
            required("created_at", Timestamp),
        ],
        version_columns!(),
        [required("team_id", Text)],
    ),
    partition_by: &[],
};

/// Teams.
pub const TEAMS: TableSpec = TableSpec {
    name: "teams",
    kind: TableKind::Versions,
    columns: columns!(
        [required("id", Text), required("org_id", Text), required("name", Text), required("created_at", Timestamp)],
        version_columns!(),
        [required("team_id", Text)],
    ),
    partition_by: &[],
};

/// Team memberships, with the member's role.
pub const MEMBERSHIPS: TableSpec = TableSpec {
    name: "memberships",
    kind: TableKind::Versions,
    columns: columns!(
        [required("user_id", Text), required("role", Text), required("created_at", Timestamp)],
        version_columns!(),
        [required("team_id", Text)],
    ),
    partition_by: &[],
};

/// Users (no credentials: those never enter the change log).
pub const USERS: TableSpec = TableSpec {
    name: "users",
    kind: TableKind::Versions,
    columns: columns!(
        [
            required("id", Text),
            required("org_id", Text),
            required("email", Text),
            required("display_name", Text),
            required("org_role", Text),
            required("created_at", Timestamp),
        ],
        version_columns!(),
    ),
    partition_by: &[],
};

/// One row per batch the ingest committed: the positions it covered, how many change events, when
/// its oldest and newest were committed to the engine, and when the batch became queryable. It is
/// committed last for every batch, so its position is where the next run starts.
pub const INGEST_BATCHES: TableSpec = TableSpec {
    name: "ingest_batches",
    kind: TableKind::Internal,
    columns: columns!([
        required("first_xid", Int),
        required("first_seq", Int),
        required("last_xid", Int),
        required("last_seq", Int),
        required("changes", Int),
        required("oldest_change_at", Timestamp),
        required("newest_change_at", Timestamp),
        required("committed_at", Timestamp),
    ]),
    partition_by: &[],
};

/// Every table, in the order a batch is committed (`ingest_batches` last).
pub const ALL: &[TableSpec] =
    &[EVENTS, INSTANCES, TASKS, PLAYBOOKS, PLAYBOOK_VERSIONS, TEAMS, MEMBERSHIPS, USERS, INGEST_BATCHES];

/// A table by name.
pub fn table(name: &str) -> Option<&'static TableSpec> {
    ALL.iter().find(|t| t.name == name)
}
