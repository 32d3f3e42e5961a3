//! A filter's events as a report reads them: outlined before the report's queries (from the
//! table's log where its statistics settle it, else by one scan), so that every query selects
//! exactly the events that count without finding it out again.
//!
//! [`Events::select`] counts the selected events per lifecycle transition once. That tells which
//! transitions count (the rule of [`CountRule`]: where `complete` transitions are mixed with
//! others only they count; where there is none every event does), whether the engine's tasks
//! have `start` events to time their completions by; the table's log tells whether they are one
//! team's (its files are partitioned by team and source). From it
//! [`Events::cte`] writes the CTE `ev`, one row per counted event, as a plain scan of `events`
//! with the counting rule in its `WHERE` (and the tasks' starts joined only where there are
//! any):
//!
//! | column | meaning |
//! |---|---|
//! | `team_id`, `case_id` | the case (case ids are only unique within a team's source) |
//! | `activity` | the activity |
//! | `ordinal` | file (or commit) order, breaking ties in time |
//! | `ts` | when the event happened (timestamp) |
//! | `t` | `ts` in microseconds since the epoch |
//! | `st` | when the work started, in microseconds: the event's own `start_ts`, else the time of its task's `start` event (the engine's events), else `t` |
//! | `timed` | whether `st` is a real start time |
//! | `resource`, `role` | who did it, where the events say |
//!
//! Conventions (those of the PM4Py reference figures, `shared/eventlogs/README.md`): a log whose
//! transitions are its own statuses ("In Progress", "Resolved", no `complete` at all) counts
//! every event, as PM4Py's functions do.

use crate::selection::{CountRule, TRANSITIONS_LISTED, TransitionCount};
use crate::sql::{self, Rows};
use crate::{Filter, ReportError};
use orgata_warehouse::{LifecycleCount, TeamScope, Warehouse};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// `team_id` as plain text for grouping: in `events` it is dictionary-encoded (a partition column),
/// and DataFusion groups by several columns column by column only when none is a dictionary
/// (otherwise it converts every row to its row format, which cost the cases query a third more CPU).
///
/// `Utf8`, not `VARCHAR` (a string view): a team id is longer than a view holds inline, and when
/// a hash aggregation spills, DataFusion 53 writes each spilled batch of string views with every
/// data buffer of the whole aggregation's keys, which made the large reports spill tens of
/// gigabytes (docs/benchmarks.md, process analytics).
pub(crate) const TEAM_TEXT: &str = "arrow_cast(team_id, 'Utf8') AS team_id";

/// The events a filter selects within a scope, outlined (see the module docs): what every report
/// function computes over.
pub struct Events<'a> {
    warehouse: &'a Warehouse,
    scope: &'a TeamScope,
    filter: &'a Filter,
    outline: Outline,
    /// How many events count, once a case log of them has been loaded (in the cases started in
    /// a range, the selection's count then needs no query of its own).
    counted: OnceLock<u64>,
}

/// What the one scan of the selected events tells.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Outline {
    /// Events selected, whatever their transition.
    pub selected: u64,
    /// Of those, the `complete` transitions (case-insensitive).
    pub complete: u64,
    /// Which transitions count.
    pub rule: CountRule,
    /// The selected events per transition, the most frequent first (at most
    /// [`TRANSITIONS_LISTED`]).
    pub transitions: Vec<TransitionCount>,
    /// Whether `start` events of the engine's tasks are selected, which time their tasks'
    /// completions (`st`).
    task_starts: bool,
    /// Whether the selected events of an imported log hold `complete` transitions among other
    /// named ones (then only `complete` events are work items, paired with `start` events); never
    /// for the engine's events. See `times`.
    pub mixed: bool,
    /// Whether the selected events are of one team at most: the teams in scope with files of the
    /// filter's source, from the table's log (then cases need no team in their keys,
    /// [`Events::case_key`], nor case windows a partition by team, [`Events::case_window`]).
    one_team: bool,
}

impl<'a> Events<'a> {
    /// Outlines the events `filter` selects within `scope`. The table's log tells which teams
    /// have the source's events (`min`/`max` of the dictionary-encoded `team_id` in a scan took
    /// most of its time), and where the filter selects a whole source whose every file holds one
    /// lifecycle spelling, how many events each spelling has (its files' statistics); otherwise
    /// one scan groups the events by transition as spelled, then by their lower case (a log has
    /// few spellings, so `lower` runs on those, not on every event).
    pub async fn select(
        warehouse: &'a Warehouse,
        scope: &'a TeamScope,
        filter: &'a Filter,
    ) -> Result<Events<'a>, ReportError> {
        let files = warehouse.source_files(scope, filter.source_name()).await?;
        let one_team = files.teams.len() <= 1;
        let outline = match files.lifecycles {
            Some(spellings) if filter.is_whole_source() => Outline::of_spellings(&spellings, filter, one_team),
            _ => Outline::read(&sql::run(warehouse, scope, &outline_sql(filter)).await?, filter, one_team)?,
        };
        Ok(Events { warehouse, scope, filter, outline, counted: OnceLock::new() })
    }

    /// The same events under another filter that the outline does not depend on: one that
    /// differs only in the range of case starts ([`Filter::differs_only_in_case_starts`]).
    pub(crate) fn with_filter<'b>(&self, filter: &'b Filter) -> Events<'b>
    where
        'a: 'b,
    {
        debug_assert!(
            self.filter.differs_only_in_case_starts(filter) || filter.differs_only_in_case_starts(self.filter)
        );
        Events {
            warehouse: self.warehouse,
            scope: self.scope,
            filter,
            outline: self.outline.clone(),
            counted: OnceLock::new(),
        }
    }

    /// The warehouse the events are read from.
    pub(crate) fn warehouse(&self) -> &'a Warehouse {
        self.warehouse
    }

    /// The teams the events are read within.
    pub(crate) fn scope(&self) -> &'a TeamScope {
        self.scope
    }

    /// The filter that selected them.
    pub(crate) fn filter(&self) -> &'a Filter {
        self.filter
    }

    /// What the scan found.
    pub(crate) fn outline(&self) -> &Outline {
        &self.outline
    }

    /// The columns that name a case, to group by: `case_id` alone where the events are one
    /// team's (a one-column grouping DataFusion hashes fastest) — except the engine's, whose
    /// cases are joined with `instances` by team — else `team_id, case_id`.
    pub(crate) fn case_key(&self) -> &'static str {
        if self.outline.one_team && !self.filter.is_engine() { "case_id" } else { "team_id, case_id" }
    }

    /// [`Events::case_key`]'s columns to select, `team_id` as plain text: grouping by a
    /// dictionary column (as `team_id`, a partition column, is read) makes DataFusion convert
    /// every row to its row format (see [`TEAM_TEXT`]).
    pub(crate) fn case_columns(&self) -> String {
        if self.case_key() == "case_id" { "case_id".into() } else { format!("{TEAM_TEXT}, case_id") }
    }

    /// A window over rows in case order: each case's rows together, ordered by `order` within
    /// it. It is partitioned by team and a cheap bucket of the case id (the code of its last
    /// character), not by case, so that it runs on every core without a window partition per case
    /// (thousands of small partitions are much slower in DataFusion); a case lies within one
    /// bucket. One team's events are not partitioned by team: the team id would lead every row's
    /// sort key with the same 36 bytes.
    pub(crate) fn case_window(&self, order: &str) -> String {
        let team = if self.outline.one_team { "" } else { "team_id, " };
        format!("PARTITION BY {team}ascii(right(case_id, 1)) ORDER BY case_id, {order}")
    }

    /// Whether the work items of `times` are exactly the counted events: for imported logs (an
    /// event is an item, or where lifecycles mix a `complete` event is), unless events without a
    /// transition sit beside `complete` ones (they are items but not counted).
    pub(crate) fn items_are_counted_events(&self) -> bool {
        !self.filter.is_engine() && (self.outline.mixed || self.outline.rule != CountRule::CompleteOnly)
    }

    /// Notes how many events count, found by loading them.
    pub(crate) fn note_counted(&self, events: usize) {
        let _ = self.counted.set(events as u64);
    }

    /// How many events count, where a report has loaded them (see [`Events::note_counted`]).
    pub(crate) fn counted(&self) -> Option<u64> {
        self.counted.get().copied()
    }

    /// Whether the events are of one team at most.
    pub(crate) fn one_team(&self) -> bool {
        self.outline.one_team
    }

    /// Runs a report query over these events (their scope).
    pub(crate) async fn run(&self, sql: &str) -> Result<Rows, ReportError> {
        sql::run(self.warehouse, self.scope, sql).await
    }

    /// Runs a report query over these events and folds each partition of its answer into a
    /// state of its own with `step` (`Warehouse::fold_own`); returns the states and the bytes the
    /// query spilled.
    pub(crate) async fn fold<S, F>(&self, sql: &str, step: F) -> Result<(Vec<S>, usize), ReportError>
    where
        S: Default + Send + 'static,
        F: Fn(&mut S, arrow::array::RecordBatch) + Send + Sync + 'static,
    {
        Ok(self.warehouse.fold_own(sql, self.scope, sql::limits(), step).await?)
    }

    /// `WITH … ev AS (…)`: the counted events (see the module docs). The caller appends
    /// `, more AS (…) SELECT …`.
    pub(crate) fn cte(&self) -> String {
        let predicate = self.filter.event_predicate();
        let complete_only = self.outline.rule == CountRule::CompleteOnly;
        let timed_events = if self.outline.task_starts {
            // The engine's tasks: a completion without its own start time is timed by its task's
            // `start` event.
            format!(
                "selected AS (
                    SELECT team_id, case_id, activity, lower(lifecycle) AS lifecycle, ts, start_ts, task_id, ordinal,
                        resource, role
                    FROM events WHERE {predicate}
                ),
                task_starts AS (
                    SELECT team_id, task_id, min(ts) AS started FROM selected
                    WHERE lifecycle = 'start' AND task_id IS NOT NULL GROUP BY team_id, task_id
                ),
                timed_events AS (
                    SELECT c.team_id, c.case_id, c.activity, c.ordinal, c.ts, CAST(c.ts AS BIGINT) AS t, c.resource, c.role,
                        CAST(coalesce(c.start_ts, CASE WHEN s.started <= c.ts THEN s.started END, c.ts) AS BIGINT) AS st,
                        c.start_ts IS NOT NULL OR coalesce(s.started <= c.ts, false) AS timed
                    FROM selected c LEFT JOIN task_starts s ON c.team_id = s.team_id AND c.task_id = s.task_id
                    {counted}
                )",
                counted = if complete_only { "WHERE c.lifecycle = 'complete'" } else { "" },
            )
        } else {
            format!(
                "timed_events AS (
                    SELECT team_id, case_id, activity, ordinal, ts, CAST(ts AS BIGINT) AS t, resource, role,
                        CAST(coalesce(start_ts, ts) AS BIGINT) AS st, start_ts IS NOT NULL AS timed
                    FROM events WHERE {predicate}{counted}
                )",
                counted = if complete_only { " AND lower(lifecycle) = 'complete'" } else { "" },
            )
        };
        // The cases started in a range first in the join, so that its hash table holds them
        // rather than every event.
        let counted = match self.filter.case_start_predicate() {
            Some(predicate) => format!(
                "(SELECT {case} FROM timed_events GROUP BY {case} HAVING {having}) started \
                 JOIN timed_events USING ({case})",
                case = self.case_key(),
                having = predicate.replace("first_t", "min(t)")
            ),
            None => "timed_events".to_string(),
        };
        format!("WITH {timed_events},\n        ev AS (SELECT timed_events.* FROM {counted})")
    }
}

/// The outline's scan: the selected events per transition (see [`Events::select`]).
fn outline_sql(filter: &Filter) -> String {
    format!(
        "WITH per_spelling AS (
            SELECT lifecycle, count(*) AS events, count(task_id) AS with_task
            FROM events WHERE {predicate} GROUP BY lifecycle
        ),
        per_transition AS (
            SELECT lower(lifecycle) AS transition, min(lifecycle) AS name, sum(events) AS events,
                sum(with_task) AS with_task
            FROM per_spelling GROUP BY lower(lifecycle)
        )
        SELECT name, events, sum(events) OVER () AS selected,
            sum(CASE WHEN transition = 'complete' THEN events ELSE 0 END) OVER () AS complete,
            sum(CASE WHEN transition = 'start' THEN with_task ELSE 0 END) OVER () AS task_starts,
            count(name) OVER () AS named
        FROM per_transition ORDER BY events DESC, name NULLS LAST LIMIT {TRANSITIONS_LISTED}",
        predicate = filter.event_predicate(),
    )
}

/// What the outline counts, before the rule is drawn from it.
struct Counts {
    selected: u64,
    complete: u64,
    task_starts: u64,
    /// Transitions with a name.
    named: u64,
    transitions: Vec<TransitionCount>,
}

impl Outline {
    /// Reads the answer of [`Events::select`]'s scan, for events of one team at most or not.
    fn read(rows: &Rows, filter: &Filter, one_team: bool) -> Result<Outline, ReportError> {
        let transitions: Vec<TransitionCount> = rows
            .optional_strings("name")?
            .into_iter()
            .zip(rows.counts("events")?)
            .map(|(transition, events)| TransitionCount { transition, events })
            .collect();
        let counts = Counts {
            selected: rows.first_count("selected")?,
            complete: rows.first_count("complete")?,
            task_starts: rows.first_count("task_starts")?,
            named: rows.first_count("named")?,
            transitions,
        };
        Ok(Outline::of(counts, filter, one_team))
    }

    /// The outline of a whole source's events from their count per lifecycle spelling (the
    /// files' statistics), as the scan's SQL would find it: grouped by lower case, each
    /// transition named by its least spelling, the most frequent first.
    fn of_spellings(spellings: &[LifecycleCount], filter: &Filter, one_team: bool) -> Outline {
        let mut by_transition: BTreeMap<String, (&str, u64, u64)> = BTreeMap::new();
        for spelling in spellings {
            let (name, events, with_task) =
                by_transition.entry(spelling.lifecycle.to_lowercase()).or_insert((&spelling.lifecycle, 0, 0));
            *name = (*name).min(spelling.lifecycle.as_str());
            *events += spelling.events;
            *with_task += spelling.with_task;
        }
        let of = |transition: &str| by_transition.get(transition).copied().unwrap_or(("", 0, 0));
        let mut transitions: Vec<TransitionCount> = by_transition
            .values()
            .map(|&(name, events, _)| TransitionCount { transition: Some(name.to_string()), events })
            .collect();
        transitions.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.transition.cmp(&b.transition)));
        transitions.truncate(TRANSITIONS_LISTED);
        let counts = Counts {
            selected: by_transition.values().map(|t| t.1).sum(),
            complete: of("complete").1,
            task_starts: of("start").2,
            named: by_transition.len() as u64,
            transitions,
        };
        Outline::of(counts, filter, one_team)
    }

    /// The outline from its counts.
    fn of(counts: Counts, filter: &Filter, one_team: bool) -> Outline {
        let Counts { selected, complete, task_starts, named, transitions } = counts;
        let rule = if complete == 0 {
            if named > 0 { CountRule::NoComplete } else { CountRule::Every }
        } else if complete == selected {
            CountRule::Every
        } else {
            CountRule::CompleteOnly
        };
        let mixed = !filter.is_engine() && named > 1 && complete > 0;
        Outline { selected, complete, rule, transitions, task_starts: task_starts > 0, mixed, one_team }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_group_by_lower_case_under_their_least_spelling_most_frequent_first() {
        let spelling =
            |lifecycle: &str, events, with_task| LifecycleCount { lifecycle: lifecycle.into(), events, with_task };
        let spellings =
            [spelling("complete", 1, 0), spelling("Start", 2, 2), spelling("COMPLETE", 2, 0), spelling("start", 1, 0)];
        let outline = Outline::of_spellings(&spellings, &Filter::of_source("log"), true);
        let transitions: Vec<(Option<&str>, u64)> =
            outline.transitions.iter().map(|t| (t.transition.as_deref(), t.events)).collect();
        // Three of each: ties go by name.
        assert_eq!(transitions, [(Some("COMPLETE"), 3), (Some("Start"), 3)]);
        assert_eq!((outline.selected, outline.complete, outline.rule), (6, 3, CountRule::CompleteOnly));
        assert!(outline.task_starts && outline.mixed && outline.one_team);
    }
}
