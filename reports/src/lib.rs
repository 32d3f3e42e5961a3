//! Orgata's analytics over the warehouse (design.md): process metrics, bottleneck analysis, ML
//! predictions, what-if simulation, narratives and executive summaries, alerts, and the view
//! models of dashboards.
//!
//! The process-mining metrics here are computed over the warehouse's `events` table by DataFusion
//! SQL through [`Warehouse::query_own`](orgata_warehouse::Warehouse::query_own) — aggregated in
//! the query, or, where a report passes over every case in order (variants, the directly-follows
//! graph, activities, work items' times, resources), streamed into Rust once as a few numbers per
//! event (`Warehouse::fold_own`) — so every report sees
//! only the teams of the caller's [`TeamScope`](orgata_warehouse::TeamScope) (invariant 4). They follow the
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
//! - `caselog`: a filter's counted events (or work items) in memory, grouped by case in order
//!   (one query streamed into numbers, a counting sort), which the variants, the directly-follows
//!   graph, the activities report, the work items' times and the resources report pass over;
//!   `stats`: mean and median of such values.
//! - `bottlenecks`: the bottleneck report — activities and transitions ranked by their share of
//!   cycle time, waiting against working, queue trends, and findings as sentences.
//! - `compare`: two sides (team, period, playbook, version or source) measured by the same
//!   functions, with the changes and the notable ones in sentences.
//! - `sla`: SLA breaches — steps against their SLAs (on time, late, overdue, lateness) and cases
//!   against a target duration, with findings as sentences.
//! - `resources`: workload per resource and role, utilisation per period against a working week,
//!   and handovers of cases between resources.
//! - `predict`: what will happen and what departs from history — the temporal profile (PM4Py's
//!   figures) and anomalies among cases and steps, in words.

mod activities;
mod bottlenecks;
mod caselog;
mod cases;
mod catalog;
mod compare;
mod dfg;
mod error;
mod events;
mod filter;
mod predict;
mod resources;
mod selection;
mod sla;
mod sql;
mod stats;
pub mod text;
mod timeline;
mod times;
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
pub use predict::{
    AT_RISK, CasePrediction, END, MIN_TASKS, ModelUsed, NEXT_LISTED, NextActivity, Predictions, TaskForecast,
    TaskRiskScore, predictions, team_predictions,
};
pub use predict::{
    AnomalyReport, CaseDeviations, CaseOutlier, DEFAULT_ZETA, DEVIATING_CASES_LISTED, Deviation, MAX_PAIRS,
    MIN_HISTORY, OUTLIERS_LISTED, OutlierCounts, OutlierKind, PairTime, RECENT_DAYS, StepChange, TemporalProfile,
    anomalies, temporal_profile,
};
pub use predict::{
    ContextColumn, Encoding, Evaluation, LENGTHS_LISTED, LengthScore, MAX_ACTIVITIES, MAX_CATEGORIES, MAX_RESOURCES,
    MIN_TRAINING_CASES, MODELS_PREFIX, ModelCard, NextScore, PlaybookHistory, RemainingScore, RiskScore, Subject,
    TRAINING_SHARE, TYPICAL_TARGET, TimeScore, TrainingOptions, engine_playbooks, engine_teams, evaluate, model_card,
    models, newest_readable, playbooks_with_models, train,
};
pub use resources::{Handover, ResourceFigures, ResourceReport, ResourceWorkload, RoleFigures, resources};
pub use selection::{CountRule, Emptied, Selection, SourceCount, TRANSITIONS_LISTED, TransitionCount, selection};
pub use sla::{CaseSla, OpenInstances, STEP_FINDINGS, SlaReport, StepSla, sla};
pub use sql::MAX_ROWS;
pub use timeline::{Period, PeriodCounts, Timeline, timeline};
pub use times::{ActivityTime, ActivityTimes, TimeSummary, TransitionTime, activity_times};
pub use variants::{Variant, Variants, variants};
