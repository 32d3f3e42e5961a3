//! Which events a report covers: one source (an imported log or the engine's own events),
//! optionally one playbook and version, optionally a time range. Team scoping is not part of the
//! filter: it comes from the [`orgata_warehouse::TeamScope`] the warehouse applies to every query.
//!
//! Every value that ends up in SQL is validated here (identifiers of a restricted alphabet,
//! timestamps as integers), and quoted on top of that.

use crate::ReportError;
use chrono::{DateTime, Utc};
use orgata_warehouse::tables::ENGINE_SOURCE;
use serde::Serialize;

/// How a time range selects events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeScope {
    /// The events that happened within the range (cases are cut at its edges; PM4Py's `events`
    /// mode of `filter_time_range`).
    #[default]
    Events,
    /// Every event of the cases whose first event happened within the range.
    CasesStarted,
}

/// The events a report is computed over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Filter {
    source: String,
    playbook_id: Option<String>,
    version_id: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    time_scope: TimeScope,
}

impl Filter {
    /// The events of one source: an imported log's name, or [`ENGINE_SOURCE`] (`orgata`) for
    /// the processes run in Orgata. A source name is 1 to 100 letters, digits, `.`, `_`, `-` or `:`.
    pub fn source(source: &str) -> Result<Filter, ReportError> {
        check_identifier("source", source, 100)?;
        Ok(Filter::of_source(source))
    }

    /// The events of the processes run in Orgata (source [`ENGINE_SOURCE`]).
    pub fn engine() -> Filter {
        Filter::of_source(ENGINE_SOURCE)
    }

    /// Every event of a source already known to be a valid name.
    pub(crate) fn of_source(source: &str) -> Filter {
        Filter {
            source: source.to_string(),
            playbook_id: None,
            version_id: None,
            from: None,
            to: None,
            time_scope: TimeScope::Events,
        }
    }

    /// Only the events of one playbook (1 to 200 letters, digits, `.`, `_`, `-` or `:`).
    pub fn playbook(mut self, playbook_id: &str) -> Result<Filter, ReportError> {
        check_identifier("playbook id", playbook_id, 200)?;
        self.playbook_id = Some(playbook_id.to_string());
        Ok(self)
    }

    /// Only the events of one playbook version (1 to 200 letters, digits, `.`, `_`, `-` or `:`).
    pub fn version(mut self, version_id: &str) -> Result<Filter, ReportError> {
        check_identifier("version id", version_id, 200)?;
        self.version_id = Some(version_id.to_string());
        Ok(self)
    }

    /// Only the time range `[from, to)` (either end open when `None`), applied as `scope` says.
    /// Times are taken at microsecond precision, as the warehouse stores them.
    pub fn between(
        mut self,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        scope: TimeScope,
    ) -> Result<Filter, ReportError> {
        if let (Some(from), Some(to)) = (from, to)
            && from >= to
        {
            return Err(ReportError::InvalidFilter(format!("the time range is empty: {from} is not before {to}")));
        }
        self.from = from;
        self.to = to;
        self.time_scope = scope;
        Ok(self)
    }

    /// Checks a team id given by a caller (1 to 200 letters, digits, `.`, `_`, `-` or `:`).
    pub(crate) fn check_team(team: &str) -> Result<(), ReportError> {
        check_identifier("team id", team, 200)
    }

    /// The source the events come from.
    pub fn source_name(&self) -> &str {
        &self.source
    }

    /// Whether the filter selects the engine's own events.
    pub fn is_engine(&self) -> bool {
        self.source == ENGINE_SOURCE
    }

    /// The playbook the events are limited to, if any.
    pub fn playbook_id(&self) -> Option<&str> {
        self.playbook_id.as_deref()
    }

    /// The playbook version the events are limited to, if any.
    pub fn version_id(&self) -> Option<&str> {
        self.version_id.as_deref()
    }

    /// The time range `[from, to)` and how it applies.
    pub fn time_range(&self) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>, TimeScope) {
        (self.from, self.to, self.time_scope)
    }

    /// Whether the filter selects every event of its source: no playbook, no version, and no time
    /// range on the events themselves (a range of case starts selects whole cases among them).
    pub(crate) fn is_whole_source(&self) -> bool {
        self.playbook_id.is_none()
            && self.version_id.is_none()
            && (self.time_scope == TimeScope::CasesStarted || (self.from.is_none() && self.to.is_none()))
    }

    /// The SQL predicate over `events` for the source, playbook and version, and — in
    /// [`TimeScope::Events`] — the time range.
    pub(crate) fn event_predicate(&self) -> String {
        let mut parts = vec![format!("source = {}", quote(&self.source))];
        if let Some(playbook) = &self.playbook_id {
            parts.push(format!("playbook_id = {}", quote(playbook)));
        }
        if let Some(version) = &self.version_id {
            parts.push(format!("version_id = {}", quote(version)));
        }
        if self.time_scope == TimeScope::Events {
            parts.extend(self.time_predicate());
        }
        parts.join(" AND ")
    }

    /// The SQL predicate over the engine's current-state tables (`tasks`, `instances`) for the
    /// playbook and version, and the time range `[from, to)` on the timestamp column `time_column`
    /// (whatever the time scope; rows without a time are outside any range). The source is not
    /// part of it: those tables hold only the engine's records.
    pub(crate) fn record_predicate(&self, time_column: &str) -> String {
        debug_assert!(time_column.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{time_column}");
        let mut parts = vec!["true".to_string()];
        if let Some(playbook) = &self.playbook_id {
            parts.push(format!("playbook_id = {}", quote(playbook)));
        }
        if let Some(version) = &self.version_id {
            parts.push(format!("version_id = {}", quote(version)));
        }
        if let Some(from) = self.from {
            parts.push(format!("CAST({time_column} AS BIGINT) >= {}", from.timestamp_micros()));
        }
        if let Some(to) = self.to {
            parts.push(format!("CAST({time_column} AS BIGINT) < {}", to.timestamp_micros()));
        }
        parts.join(" AND ")
    }

    /// The time range as predicates on `ts`, with predicates on the `month` partition (the UTC
    /// month of `ts`) so that other months' files are not read.
    fn time_predicate(&self) -> Vec<String> {
        let mut parts = Vec::new();
        if let Some(from) = self.from {
            parts.push(format!("CAST(ts AS BIGINT) >= {}", from.timestamp_micros()));
            parts.push(format!("month >= {}", quote(&from.format("%Y-%m").to_string())));
        }
        if let Some(to) = self.to {
            parts.push(format!("CAST(ts AS BIGINT) < {}", to.timestamp_micros()));
            parts.push(format!("month <= {}", quote(&to.format("%Y-%m").to_string())));
        }
        parts
    }

    /// In [`TimeScope::CasesStarted`], the predicate over a case's first event time (`first_t`,
    /// microseconds) that keeps the case; `None` otherwise.
    pub(crate) fn case_start_predicate(&self) -> Option<String> {
        let CaseStarts { from, to } = self.case_starts()?;
        let parts: Vec<String> =
            [from.map(|from| format!("first_t >= {from}")), to.map(|to| format!("first_t < {to}"))]
                .into_iter()
                .flatten()
                .collect();
        Some(parts.join(" AND "))
    }

    /// In [`TimeScope::CasesStarted`] with a range, the range the cases' first events must lie
    /// in; `None` otherwise.
    pub(crate) fn case_starts(&self) -> Option<CaseStarts> {
        (self.time_scope == TimeScope::CasesStarted && (self.from.is_some() || self.to.is_some())).then(|| CaseStarts {
            from: self.from.map(|t| t.timestamp_micros()),
            to: self.to.map(|t| t.timestamp_micros()),
        })
    }

    /// Whether `other` selects the same events as this filter except for the range of case starts:
    /// both select cases by their start, from the same source, playbook and version.
    pub(crate) fn differs_only_in_case_starts(&self, other: &Filter) -> bool {
        self.time_scope == TimeScope::CasesStarted
            && *other == Filter { from: other.from, to: other.to, ..self.clone() }
    }

    /// This filter without its time range: every case, whenever it started.
    pub(crate) fn all_time(&self) -> Filter {
        Filter { from: None, to: None, ..self.clone() }
    }
}

/// A range `[from, to)` of case starts, in microseconds since the epoch (either end open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CaseStarts {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl CaseStarts {
    /// Whether a case whose first event is at `first` lies in the range.
    pub fn includes(&self, first: i64) -> bool {
        self.from.is_none_or(|from| first >= from) && self.to.is_none_or(|to| first < to)
    }
}

/// Accepts 1 to `max` characters of ASCII letters, digits, `.`, `_`, `-` and `:`.
fn check_identifier(what: &str, value: &str, max: usize) -> Result<(), ReportError> {
    let ok = (1..=max).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'));
    if ok {
        Ok(())
    } else {
        Err(ReportError::InvalidFilter(format!(
            "{what} `{}` must be 1 to {max} letters, digits, `.`, `_`, `-` or `:`",
            value.escape_default()
        )))
    }
}

/// A SQL string literal.
pub(crate) fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}
