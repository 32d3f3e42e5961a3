//! Which events a report counted and why, and — when a filter left nothing — which filter did.
//!
//! Every report counts the events its [`Filter`] selects under one rule (`Events::cte`): where
//! the selected events hold `complete` transitions among others only those count; where none is
//! `complete` (a log whose transitions are its own statuses: "In Progress", "Resolved") every
//! event counts, as PM4Py's functions do. [`selection`] says which case applies, with the
//! transitions found, so that no log is silently analysed as empty; and when nothing is selected
//! it finds the filter that left nothing (the source in this team, the playbook, the version, the
//! time range) and what the events outside it are.

use crate::catalog::range_label;
use crate::sql::run;
use crate::text::{number, plural};
use crate::{Events, Filter, ReportError};
use chrono::{DateTime, Utc};
use orgata_warehouse::{TeamScope, Warehouse};
use serde::Serialize;

/// Transitions listed in a [`Selection`], the most frequent first; the others are only counted.
pub const TRANSITIONS_LISTED: usize = 50;

/// Sources named when a team has none of the events asked for.
const SOURCES_LISTED: usize = 10;

/// What a report counted: how many events its filter selected and which of them count.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Selection {
    /// Events the filter selected, whatever their transition.
    pub selected_events: u64,
    /// Of those, the events the figures count (for a time range over cases started: the events of
    /// the cases started in it).
    pub counted_events: u64,
    /// Which transitions count.
    pub rule: CountRule,
    /// The selected events per lifecycle transition (by name, case-insensitive; `null` for events
    /// without one), the most frequent first, at most [`TRANSITIONS_LISTED`].
    pub transitions: Vec<TransitionCount>,
    /// When nothing is counted: the filter that left nothing.
    pub emptied_by: Option<Emptied>,
    /// The above in a sentence or two.
    pub summary: String,
}

/// Which selected events a report counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CountRule {
    /// Every event: all are `complete` transitions (or there are none).
    Every,
    /// Only the `complete` transitions: the events mix them with others (`start`, …), and a step
    /// counts once, when it completes.
    CompleteOnly,
    /// Every event, though none is a `complete` transition: the log's transitions are its own
    /// statuses, and each event counts as a step (as in PM4Py).
    NoComplete,
}

/// How many selected events have one lifecycle transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransitionCount {
    /// The transition as the log spells it (`None`: events without one).
    pub transition: Option<String>,
    pub events: u64,
}

/// The filter that left no event, and what there is without it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "filter", rename_all = "snake_case")]
pub enum Emptied {
    /// The teams in scope have no event of the source; `sources` are those they have, the
    /// largest first (at most ten).
    Source { source: String, sources: Vec<SourceCount> },
    /// The source has no event of the playbook.
    Playbook { playbook_id: String },
    /// The playbook (or source) has no event of the version.
    Version { version_id: String },
    /// No event falls in the time range; `events` fall outside it, from `first` to `last`.
    TimeRange { events: u64, first: DateTime<Utc>, last: DateTime<Utc> },
    /// No case starts in the time range; `cases` start outside it, the first at `first` and the
    /// last at `last`.
    CasesStarted { cases: u64, first: DateTime<Utc>, last: DateTime<Utc> },
}

/// A source and its number of events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourceCount {
    pub source: String,
    pub events: u64,
}

impl Selection {
    /// Whether a reader of the text should be told: no event is `complete`, so every event counts
    /// by the log's own statuses, or nothing is counted. (Counting only the completions of a log
    /// that mixes them with starts is the convention of every lifecycle log — the engine's own —
    /// and said in the JSON alone.)
    pub fn is_notable(&self) -> bool {
        self.rule == CountRule::NoComplete || self.emptied_by.is_some()
    }
}

/// What the events' filter selects and which of it a report counts: the outline's transitions
/// and rule, with the events counted in the cases started in a time range (unless a report has
/// loaded them already, `Events::counted`), and what lies outside the filter when nothing is
/// counted (queries only for those).
pub async fn selection(events: &Events<'_>) -> Result<Selection, ReportError> {
    let (warehouse, scope, filter) = (events.warehouse(), events.scope(), events.filter());
    let outline = events.outline();
    let (selected_events, rule) = (outline.selected, outline.rule);
    let predicate = filter.event_predicate();
    let counted_events = match filter.case_start_predicate() {
        Some(started) if selected_events > 0 => match events.counted() {
            Some(counted) => counted,
            None => counted_in_started_cases(events, &started).await?,
        },
        _ if rule == CountRule::CompleteOnly => outline.complete,
        _ => selected_events,
    };
    let emptied_by = if counted_events > 0 {
        None
    } else if selected_events > 0 {
        Some(cases_started_outside(warehouse, scope, &predicate).await?)
    } else {
        Some(emptied_by(warehouse, scope, filter).await?)
    };
    let transitions = outline.transitions.clone();
    let summary = summary(filter, selected_events, counted_events, rule, &transitions, emptied_by.as_ref());
    Ok(Selection { selected_events, counted_events, rule, transitions, emptied_by, summary })
}

/// The counted events of the cases whose first counted event lies in the time range (as
/// `Events::cte` selects them).
async fn counted_in_started_cases(events: &Events<'_>, started: &str) -> Result<u64, ReportError> {
    let counted =
        if events.outline().rule == CountRule::CompleteOnly { " AND lower(lifecycle) = 'complete'" } else { "" };
    let sql = format!(
        "SELECT sum(counted) AS n FROM (
            SELECT min(t) AS first_t, count(*) AS counted FROM (
                SELECT {case}, CAST(ts AS BIGINT) AS t FROM events WHERE {predicate}{counted}
            ) counted_events GROUP BY {key}
        ) WHERE {started}",
        case = events.case_columns(),
        key = events.case_key(),
        predicate = events.filter().event_predicate(),
    );
    events.run(&sql).await?.first_count("n")
}

/// When no case starts in the range: how many cases the other filters hold and when they start.
async fn cases_started_outside(
    warehouse: &Warehouse,
    scope: &TeamScope,
    predicate: &str,
) -> Result<Emptied, ReportError> {
    let sql = format!(
        "SELECT count(*) AS cases, min(first_t) AS first, max(first_t) AS last FROM (
            SELECT min(CAST(ts AS BIGINT)) AS first_t FROM events WHERE {predicate} GROUP BY team_id, case_id
        )"
    );
    let rows = run(warehouse, scope, &sql).await?;
    let (first, last) = span(rows.first_i64("first")?, rows.first_i64("last")?);
    Ok(Emptied::CasesStarted { cases: rows.first_count("cases")?, first, last })
}

/// The first filter, in the order source, playbook, version, time range, after which no event is
/// left (the whole filter selected none): the filter's parts are added one at a time.
async fn emptied_by(warehouse: &Warehouse, scope: &TeamScope, filter: &Filter) -> Result<Emptied, ReportError> {
    let events = |narrowed: &Filter| {
        let predicate = narrowed.event_predicate();
        async move {
            let rows = run(
                warehouse,
                scope,
                &format!(
                    "SELECT count(*) AS events, min(CAST(ts AS BIGINT)) AS first, max(CAST(ts AS BIGINT)) AS last \
                 FROM events WHERE {predicate}"
                ),
            )
            .await?;
            let n = rows.first_count("events")?;
            Ok::<_, ReportError>((n, span(rows.first_i64("first")?, rows.first_i64("last")?)))
        }
    };
    let mut narrowed = Filter::of_source(filter.source_name());
    if events(&narrowed).await?.0 == 0 {
        let rows = run(
            warehouse,
            scope,
            &format!(
                "SELECT source, count(*) AS events FROM events GROUP BY source \
                 ORDER BY events DESC, source LIMIT {SOURCES_LISTED}"
            ),
        )
        .await?;
        let sources = rows
            .strings("source")?
            .into_iter()
            .zip(rows.counts("events")?)
            .map(|(source, events)| SourceCount { source, events })
            .collect();
        return Ok(Emptied::Source { source: filter.source_name().to_string(), sources });
    }
    if let Some(playbook_id) = filter.playbook_id() {
        narrowed = narrowed.playbook(playbook_id)?;
        if events(&narrowed).await?.0 == 0 {
            return Ok(Emptied::Playbook { playbook_id: playbook_id.to_string() });
        }
    }
    if let Some(version_id) = filter.version_id() {
        narrowed = narrowed.version(version_id)?;
        if events(&narrowed).await?.0 == 0 {
            return Ok(Emptied::Version { version_id: version_id.to_string() });
        }
    }
    let (n, (first, last)) = events(&narrowed).await?;
    Ok(Emptied::TimeRange { events: n, first, last })
}

/// Two microsecond times as times (the epoch where there are none).
fn span(first: Option<i64>, last: Option<i64>) -> (DateTime<Utc>, DateTime<Utc>) {
    let time = |v: Option<i64>| v.and_then(DateTime::from_timestamp_micros).unwrap_or(DateTime::UNIX_EPOCH);
    (time(first), time(last))
}

/// The selection in words.
fn summary(
    filter: &Filter,
    selected: u64,
    counted: u64,
    rule: CountRule,
    transitions: &[TransitionCount],
    emptied_by: Option<&Emptied>,
) -> String {
    if let Some(emptied) = emptied_by {
        return emptied_text(filter, emptied);
    }
    let listed = || {
        let mut names: Vec<String> = transitions
            .iter()
            .map(|t| format!("{} {}", t.transition.as_deref().unwrap_or("(none)"), number(t.events as f64)))
            .collect();
        if transitions.len() == TRANSITIONS_LISTED {
            names.push("…".into());
        }
        names.join(", ")
    };
    let of_cases = match filter.case_start_predicate() {
        Some(_) => " in the cases started in the time range",
        None => "",
    };
    match rule {
        CountRule::Every => format!("Counted all {}{of_cases}.", plural(counted, "event", "events")),
        CountRule::CompleteOnly => format!(
            "Counted the {}{of_cases} whose transition is `complete`, of {} selected: the log mixes \
             transitions ({}), and a step counts once, when it completes.",
            plural(counted, "event", "events"),
            number(selected as f64),
            listed()
        ),
        CountRule::NoComplete => format!(
            "Counted all {}{of_cases}, though none is a `complete` transition: the log's transitions are \
             its own ({}), so every event counts as a step, as in PM4Py.",
            plural(counted, "event", "events"),
            listed()
        ),
    }
}

/// Why nothing is counted, in a sentence.
fn emptied_text(filter: &Filter, emptied: &Emptied) -> String {
    let (from, to, _) = filter.time_range();
    let day = |t: &DateTime<Utc>| t.format("%Y-%m-%d %H:%M").to_string();
    match emptied {
        Emptied::Source { source, sources } if sources.is_empty() => {
            format!("No events: the source `{source}` has none here, and there are no events at all yet.")
        }
        Emptied::Source { source, sources } => {
            let listed: Vec<String> =
                sources.iter().map(|s| format!("`{}` ({})", s.source, number(s.events as f64))).collect();
            format!(
                "No events: the source `{source}` has none here. The events here come from {}; choose one with the source filter.",
                listed.join(", ")
            )
        }
        Emptied::Playbook { playbook_id } => {
            format!(
                "No events: the playbook filter `{playbook_id}` matches none of the source `{}`.",
                filter.source_name()
            )
        }
        Emptied::Version { version_id } => {
            format!("No events: the version filter `{version_id}` matches none of the other filters' events.")
        }
        Emptied::TimeRange { events, first, last } => format!(
            "No events: the time range {} holds none of the {} the other filters select, which run from {} to {}.",
            range_label(from, to),
            plural(*events, "event", "events"),
            day(first),
            day(last)
        ),
        Emptied::CasesStarted { cases, first, last } => format!(
            "No events: none of the {} the other filters select starts in the time range {} (the first starts {}, the last {}).",
            plural(*cases, "case", "cases"),
            range_label(from, to),
            day(first),
            day(last)
        ),
    }
}
