//! The reports' tests: every figure of the PM4Py reference for every shared event log, and small
//! hand-computed logs for the edge cases (ties in time, single-event cases, lifecycles, start
//! times, the engine's own events, time ranges, teams' scopes, the timeline), and the activity
//! times and bottleneck report on both; the temporal profile against PM4Py's and the anomalies
//! against figures computed apart.

mod activity_times;
mod anomalies;
mod bottlenecks;
mod common;
mod compare;
mod edge_cases;
mod engine;
mod predictions;
mod reference;
mod resources;
mod sla;
mod sql_semantics;
mod temporal_profile;
mod timeline;
