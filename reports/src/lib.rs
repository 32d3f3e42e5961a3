//! Orgata's analytics over the warehouse (design.md): process metrics, bottleneck analysis, ML
//! predictions, what-if simulation, narratives and executive summaries, alerts, and the view
//! models of dashboards.
//!
//! The process-mining metrics here are computed by DataFusion SQL over the warehouse's `events`
//! table — aggregated in the query, never by pulling events into Rust — through
//! [`Warehouse::query`](orgata_warehouse::Warehouse::query), so every report sees only the teams
//! of the caller's [`TeamScope`](orgata_warehouse::TeamScope) (invariant 4). They follow the
//! conventions of PM4Py, against whose figures they are tested (`shared/eventlogs/README.md`):
//! where a log holds `complete` transitions among others only `complete` events count (a log
//! without any `complete` counts every event); a case's events are ordered by time, ties in file
//! order; durations are in seconds.
//!
//! - `filter`: which events a report covers ([`Filter`]); `events`: those events outlined by one
//!   scan before a report's queries ([`Events`]), and the CTE every query starts from.
//! - `cases`: case counts, durations and arrival rate.
//! - `variants`: distinct activity sequences.
//! - `dfg`: the directly-follows graph with start and end activities.
//! - `activities`: rework and service time per activity.
//! - `timeline`: throughput and work in progress per day or week.
//! - `selection`: which events a report counted and why, and which filter left nothing.
//! - `sql`: running queries, reading answers, and the SQL pieces reports share.
//! - `catalog`: the reports by name, as every interface offers them ([`ReportKind`], [`run`]),
//!   with their text rendering; `text`: aligned tables and readable durations.
//! - `times`: waiting, processing (service) and elapsed time per activity, rework, self-loops and
//!   the time between directly following activities, over work items (engine tasks, interval
//!   events, paired start/complete events, atomic events).
//! - `occurrence`: the window functions `nth_occurrence`, which numbers an activity's (resource's,
//!   role's) completed items within their case (rework, cases per resource, without a hash
//!   aggregation by case and activity), and `nth_handover`, the same for handovers.
//! - `trace`: the window functions `case_trace`, `case_span`, `case_first` and `case_last`, which
//!   give each case's trace, duration, and first and last activity by time on its last row in
//!   case order (the variants and the directly-follows graph, each from one sort).
//! - `bottlenecks`: the bottleneck report — activities and transitions ranked by their share of
//!   cycle time, waiting against working, queue trends, and findings as sentences.
//! - `compare`: two sides (team, period, playbook, version or source) measured by the same
//!   functions, with the changes and the notable ones in sentences.
//! - `sla`: SLA breaches — steps against their SLAs (on time, late, overdue, lateness) and cases
//!   against a target duration, with findings as sentences.
//! - `resources`: workload per resource and role, utilisation per period against a working week,
//!   and handovers of cases between resources.

mod activities;
mod bottlenecks;
mod cases;
mod catalog;
mod compare;
mod dfg;
mod error;
mod events;
mod filter;
mod occurrence;
mod resources;
mod selection;
mod sla;
mod sql;
pub mod text;
mod timeline;
mod times;
mod trace;
mod variants;

pub use activities::{ActivityFigures, ActivityReport, ServiceTime, activity_report};
pub use bottlenecks::{
    ActivityBottleneck, BottleneckReport, MORE_GROWING_QUEUES, Queue, QueueCounts, QueueDirection, QueuePeriod,
    QueueTrend, TOP_ACTIVITIES, TransitionBottleneck, bottlenecks, bottlenecks_per,
};
pub use cases::{CaseReport, CaseStatistics, DurationSummary, case_report};
pub use catalog::{DEFAULT_HOURS_PER_WEEK, Report, ReportKind, ReportOptions, ReportOutput, Versus, filter_of, run};
pub use compare::{ActivityChange, Change, Comparison, MetricChange, NOTABLE_CHANGE, Side, Unit, compare};
pub use dfg::{DfgEdge, DirectlyFollowsGraph, directly_follows};
pub use error::ReportError;
pub use events::Events;
pub use filter::{Filter, TimeScope};
pub use resources::{Handover, ResourceFigures, ResourceReport, ResourceWorkload, RoleFigures, resources};
pub use selection::{CountRule, Emptied, Selection, SourceCount, TRANSITIONS_LISTED, TransitionCount, selection};
pub use sla::{CaseSla, OpenInstances, STEP_FINDINGS, SlaReport, StepSla, sla};
pub use sql::MAX_ROWS;
pub use timeline::{Period, PeriodCounts, Timeline, timeline};
pub use times::{ActivityTime, ActivityTimes, TimeSummary, TransitionTime, activity_times};
pub use variants::{Variant, Variants, variants};
