//! The reports' tests: every figure of the PM4Py reference for every shared event log, and small
//! hand-computed logs for the edge cases (ties in time, single-event cases, lifecycles, start
//! times, the engine's own events, time ranges, teams' scopes, the timeline).

mod common;
mod edge_cases;
mod engine;
mod reference;
mod sql_semantics;
mod timeline;
