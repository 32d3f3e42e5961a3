//! Resources: who completed the work — workload per person and per role, utilisation over time
//! against a working week, and handovers of cases between people.
//!
//! # Definitions
//!
//! - **Items** are the completed work items of `times` (an engine task, an imported event, a
//!   paired `start`/`complete`, an atomic event); open and cancelled tasks do not count. An item's
//!   **resource** and **role** are the `resource` and `role` of its completing event (for the
//!   engine's tasks, of the task's `complete` event). Items without a resource count in `items`
//!   and `unassigned_items` only (and in their role's figures, where they have a role).
//! - **Busy time** of an item is its processing time (started → completed, as `times` computes
//!   it) where it has a start time; items without one (atomic logs) have none. An item's busy time
//!   counts in the period it completed in.
//! - **Capacity** of a period is (its days / 7) × `hours_per_week` hours; periods are whole
//!   (a filter's time range may cut the first and last). **Utilisation** of a resource in a
//!   period is its busy time over the capacity; a person working on several items at once is busy
//!   in each, so utilisation can exceed 1. The overall utilisation is the resource's total busy
//!   time over the total capacity of the periods in which it completed items. Both are `None`
//!   where none of the items concerned has a start time.
//! - **Periods**: days, weeks (from Monday), months, quarters or years (UTC) as in the bottleneck
//!   report; unless given, the shortest that covers the items' completions (first to last) in at
//!   most 31 days, 26 weeks, 36 months or 36 quarters (years otherwise).
//! - A **handover** is a pair of directly following items of a case (the case order of `times`:
//!   by start, else completion, then completion, then file order) completed by two different
//!   resources; items without a resource break the chain (neither side of a handover), and
//!   successive items of the same resource are none. Its gap is the next item's start (else
//!   completion) minus the previous item's completion, as the directly-follows graph's; negative
//!   where the next item started first.
//! - **Share**: a resource's items over all items with a resource.
//!
//! # SQL
//!
//! After the events' outline (whether an imported log mixes lifecycle transitions, as `times`,
//! and — for an imported log that does not — the items' completion range), at most two queries:
//! the items' completion range, when no period is given and the outline cannot tell it; then the
//! items in case order — the one sort
//! and window of `times`, whose `lag`s give each item the previous item's resource and completion
//! — aggregated at once by resource, by role, by resource and role, by resource and period, and by
//! (previous resource, resource), with grouping sets. Only those groups come back.

use crate::text::{duration, percent, plural, table, whole_percent};
use crate::times::{SUM, TimeSummary, case_order, items_base, kept_cte};
use crate::{Events, QueuePeriod, ReportError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Rows of the handovers table shown as text; the rest are counted.
const HANDOVERS_SHOWN: usize = 10;
/// How many of the busiest resources the text describes in sentences.
const RESOURCES_DESCRIBED: usize = 3;

/// Who completed a filter's work items, how busy they were, and whom they handed cases to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResourceReport {
    /// Completed work items.
    pub items: u64,
    /// Completed work items without a resource.
    pub unassigned_items: u64,
    /// The length of the workload's periods.
    pub period: QueuePeriod,
    /// The working hours of a week that utilisation is measured against.
    pub hours_per_week: f64,
    /// Every resource, by items (descending), then name.
    pub resources: Vec<ResourceFigures>,
    /// Every role, by items (descending), then name.
    pub roles: Vec<RoleFigures>,
    /// Per resource and period in which it completed items, by resource, then period.
    pub workload: Vec<ResourceWorkload>,
    /// Every pair of resources with a handover, by count (descending), then `from` and `to`.
    pub handovers: Vec<Handover>,
    /// The display names of the resources that are Orgata users (the engine's events name
    /// users by id), by id; the text shows these names.
    pub names: BTreeMap<String, String>,
}

/// One resource's completed work.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResourceFigures {
    pub resource: String,
    /// The roles of its items, sorted.
    pub roles: Vec<String>,
    /// Completed items.
    pub items: u64,
    /// Cases in which it completed items.
    pub cases: u64,
    /// Distinct activities of its items.
    pub activities: u64,
    /// `items` over all items with a resource.
    pub share: f64,
    /// Processing time (busy time) over its items with a start time; `None` without any.
    pub processing: Option<TimeSummary>,
    /// Busy time over the capacity of the periods in which it completed items; `None` when no
    /// item has a start time.
    pub utilisation: Option<f64>,
}

/// One role's completed work.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleFigures {
    pub role: String,
    /// Distinct resources that completed items in the role.
    pub resources: u64,
    /// Completed items.
    pub items: u64,
    /// Cases with such items.
    pub cases: u64,
    /// Processing time over its items with a start time; `None` without any.
    pub processing: Option<TimeSummary>,
}

/// A resource's work in one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResourceWorkload {
    pub resource: String,
    /// When the period starts.
    pub period_start: DateTime<Utc>,
    /// Items completed in the period.
    pub items: u64,
    /// Their busy time, in seconds.
    pub busy_s: f64,
    /// `busy_s` over the period's capacity; `None` when no item has a start time.
    pub utilisation: Option<f64>,
}

/// Cases passing from one resource to another.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Handover {
    pub from: String,
    pub to: String,
    /// How often an item of `to` directly follows one of `from` in a case.
    pub count: u64,
    /// Cases with such a handover.
    pub cases: u64,
    /// The mean gap from `from`'s completion to `to`'s start (else completion), in seconds.
    pub mean_gap_s: f64,
}

/// The resources report (see the module docs), with workload per `period` (`None`: as the items'
/// completion range suggests) and utilisation against weeks of `hours_per_week` working hours
/// (more than 0, at most 168).
///
/// SQL: at most two queries after the outline (see the module docs).
pub async fn resources(
    events: &Events<'_>,
    period: Option<QueuePeriod>,
    hours_per_week: f64,
) -> Result<ResourceReport, ReportError> {
    if !(hours_per_week.is_finite() && hours_per_week > 0.0 && hours_per_week <= 168.0) {
        return Err(ReportError::InvalidFilter(format!(
            "hours per week must be more than 0 and at most 168, not {hours_per_week}"
        )));
    }
    let filter = events.filter();
    let base = format!("{},\n{}", items_base(events).sql, kept_cte(events));
    let period = match (period, events.outline().completions) {
        (Some(period), _) => period,
        (None, Some(range)) => QueuePeriod::covering(range),
        (None, None) => {
            let sql = format!("{base} SELECT min(t) AS first_t, max(t) AS last_t FROM kept");
            let rows = events.run(&sql).await?;
            QueuePeriod::covering(rows.first_i64("first_t")?.zip(rows.first_i64("last_t")?))
        }
    };
    let groups = Group::query(events, &base, period).await?;
    let mut report = report(&groups, period, hours_per_week)?;
    if filter.is_engine() && !report.resources.is_empty() {
        let rows = events.run("SELECT id, display_name FROM users").await?;
        let users = rows.strings("id")?.into_iter().zip(rows.strings("display_name")?);
        report.names = users.filter(|(id, _)| report.resources.iter().any(|r| &r.resource == id)).collect();
    }
    Ok(report)
}

/// Which grouping set a row of the resources query belongs to: the sum of `grouping(…)` bits of
/// resource (8), role (4), period (2) and previous resource (1).
const BY_RESOURCE: i64 = 7;
const BY_ROLE: i64 = 11;
const BY_RESOURCE_ROLE: i64 = 3;
const BY_RESOURCE_PERIOD: i64 = 5;
const BY_HANDOVER: i64 = 6;

/// One group of completed items, with sums of microseconds.
struct Group {
    set: i64,
    resource: Option<String>,
    role: Option<String>,
    bin: Option<i64>,
    from: Option<String>,
    items: u64,
    /// Cases with an item of the group (for the sets by resource, by role and by handover).
    cases: u64,
    activities: u64,
    /// Items with a start time.
    timed: u64,
    busy: f64,
    busy_max: Option<i64>,
    gap: f64,
}

impl Group {
    /// Runs the resources query over `base` (the items' CTEs, ending in `kept`).
    async fn query(events: &Events<'_>, base: &str, period: QueuePeriod) -> Result<Vec<Group>, ReportError> {
        let same_case = "lag(case_id) OVER w = case_id";
        // A case counts for a resource, a role or a handover at its first item of it.
        let sql = format!(
            "{base},
            ordered AS (
                SELECT case_id, activity, t, st, timed, resource, role,
                    CASE WHEN {same_case} THEN lag(resource) OVER w END AS prev_resource,
                    CASE WHEN {same_case} THEN lag(t) OVER w END AS prev_t,
                    nth_occurrence(case_id, resource, t) OVER w AS resource_occurrence,
                    nth_occurrence(case_id, role, t) OVER w AS role_occurrence,
                    nth_handover(case_id, resource, t) OVER w AS handover_occurrence
                FROM kept WHERE t IS NOT NULL
                WINDOW w AS ({case_order})
            ),
            items AS (
                SELECT resource, role, activity, t, resource_occurrence, role_occurrence, handover_occurrence,
                    CASE WHEN timed THEN t - st END AS busy,
                    {bin} AS bin,
                    CASE WHEN prev_resource <> resource THEN prev_resource END AS handed_from,
                    CASE WHEN prev_resource <> resource THEN st - prev_t END AS gap
                FROM ordered
            )
            SELECT grouping(resource) * 8 + grouping(role) * 4 + grouping(bin) * 2 + grouping(handed_from) AS grouping_set,
                resource, role, bin, handed_from,
                count(*) AS items, count(CASE WHEN resource_occurrence = 1 THEN 1 END) AS resource_cases,
                count(CASE WHEN role_occurrence = 1 THEN 1 END) AS role_cases,
                count(CASE WHEN handover_occurrence = 1 THEN 1 END) AS handover_cases,
                count(DISTINCT activity) AS activities,
                count(busy) AS timed, sum(CAST(busy AS {SUM})) AS busy, max(busy) AS busy_max,
                sum(CAST(gap AS {SUM})) AS gap
            FROM items
            GROUP BY GROUPING SETS ((resource), (role), (resource, role), (resource, bin), (handed_from, resource))",
            case_order = case_order(events),
            bin = period.bin_sql("t"),
        );
        let rows = events.run(&sql).await?;
        let (sets, bins, busy_max) = (rows.i64s("grouping_set")?, rows.i64s("bin")?, rows.i64s("busy_max")?);
        let (resources, roles, from) =
            (rows.optional_strings("resource")?, rows.optional_strings("role")?, rows.optional_strings("handed_from")?);
        let (items, activities, timed) = (rows.counts("items")?, rows.counts("activities")?, rows.counts("timed")?);
        let (resource_cases, role_cases) = (rows.counts("resource_cases")?, rows.counts("role_cases")?);
        let handover_cases = rows.counts("handover_cases")?;
        let (busy, gap) = (rows.f64s("busy")?, rows.f64s("gap")?);
        Ok((0..rows.len())
            .map(|i| Group {
                cases: match sets[i] {
                    Some(BY_RESOURCE) => resource_cases[i],
                    Some(BY_ROLE) => role_cases[i],
                    Some(BY_HANDOVER) => handover_cases[i],
                    _ => 0,
                },
                set: sets[i].unwrap_or(-1),
                resource: resources[i].clone(),
                role: roles[i].clone(),
                bin: bins[i],
                from: from[i].clone(),
                items: items[i],
                activities: activities[i],
                timed: timed[i],
                busy: busy[i].unwrap_or(0.0),
                busy_max: busy_max[i],
                gap: gap[i].unwrap_or(0.0),
            })
            .collect())
    }

    /// Processing time over the group's items with a start time.
    fn processing(&self) -> Option<TimeSummary> {
        (self.timed > 0).then(|| TimeSummary {
            total_s: seconds(self.busy),
            mean_s: seconds(self.busy) / self.timed as f64,
            max_s: seconds(self.busy_max.unwrap_or(0) as f64),
        })
    }
}

/// Microseconds as seconds.
fn seconds(micros: f64) -> f64 {
    micros / 1_000_000.0
}

/// The report from the query's groups.
fn report(groups: &[Group], period: QueuePeriod, hours_per_week: f64) -> Result<ResourceReport, ReportError> {
    let of = |set: i64| groups.iter().filter(move |g| g.set == set);
    let items: u64 = of(BY_RESOURCE).map(|g| g.items).sum();
    let unassigned_items: u64 = of(BY_RESOURCE).filter(|g| g.resource.is_none()).map(|g| g.items).sum();
    let assigned = items - unassigned_items;
    // Roles per resource and resources per role.
    let mut roles_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut resources_of: BTreeMap<&str, u64> = BTreeMap::new();
    for group in of(BY_RESOURCE_ROLE) {
        if let (Some(resource), Some(role)) = (&group.resource, &group.role) {
            roles_of.entry(resource).or_default().insert(role);
            *resources_of.entry(role).or_default() += 1;
        }
    }
    // Workload, and the capacity and busy time of each resource's periods.
    let mut workload = Vec::new();
    let mut capacity_of: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for group in of(BY_RESOURCE_PERIOD) {
        let (Some(resource), Some(bin)) = (&group.resource, group.bin) else { continue };
        let out_of_range = || ReportError::Shape(format!("period {bin} is out of range"));
        let start = period.start(bin).ok_or_else(out_of_range)?;
        let end = bin.checked_add(1).and_then(|next| period.start(next)).ok_or_else(out_of_range)?;
        // (days / 7) × hours per week × 3600 s = the period's seconds × hours per week / 168.
        let capacity = (end - start).num_seconds() as f64 * hours_per_week / 168.0;
        let busy_s = seconds(group.busy);
        let totals = capacity_of.entry(resource).or_default();
        *totals = (totals.0 + capacity, totals.1 + busy_s);
        workload.push(ResourceWorkload {
            resource: resource.clone(),
            period_start: start,
            items: group.items,
            busy_s,
            utilisation: (group.timed > 0).then(|| busy_s / capacity),
        });
    }
    workload.sort_by(|a, b| (&a.resource, a.period_start).cmp(&(&b.resource, b.period_start)));
    let mut resources: Vec<ResourceFigures> = of(BY_RESOURCE)
        .filter_map(|g| Some((g.resource.as_deref()?, g)))
        .map(|(resource, g)| {
            let (capacity, busy) = capacity_of.get(resource).copied().unwrap_or_default();
            ResourceFigures {
                resource: resource.to_string(),
                roles: roles_of.get(resource).map_or_else(Vec::new, |r| r.iter().map(|r| r.to_string()).collect()),
                items: g.items,
                cases: g.cases,
                activities: g.activities,
                share: if assigned > 0 { g.items as f64 / assigned as f64 } else { 0.0 },
                processing: g.processing(),
                utilisation: (g.timed > 0 && capacity > 0.0).then(|| busy / capacity),
            }
        })
        .collect();
    resources.sort_by(|a, b| b.items.cmp(&a.items).then_with(|| a.resource.cmp(&b.resource)));
    let mut roles: Vec<RoleFigures> = of(BY_ROLE)
        .filter_map(|g| Some((g.role.as_deref()?, g)))
        .map(|(role, g)| RoleFigures {
            role: role.to_string(),
            resources: resources_of.get(role).copied().unwrap_or(0),
            items: g.items,
            cases: g.cases,
            processing: g.processing(),
        })
        .collect();
    roles.sort_by(|a, b| b.items.cmp(&a.items).then_with(|| a.role.cmp(&b.role)));
    let mut handovers: Vec<Handover> = of(BY_HANDOVER)
        .filter_map(|g| Some((g.from.as_deref()?, g.resource.as_deref()?, g)))
        .map(|(from, to, g)| Handover {
            from: from.to_string(),
            to: to.to_string(),
            count: g.items,
            cases: g.cases,
            mean_gap_s: seconds(g.gap) / g.items as f64,
        })
        .collect();
    handovers.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| (&a.from, &a.to).cmp(&(&b.from, &b.to))));
    Ok(ResourceReport {
        items,
        unassigned_items,
        period,
        hours_per_week,
        resources,
        roles,
        workload,
        handovers,
        names: BTreeMap::new(),
    })
}

impl ResourceReport {
    /// A resource as people know it: its display name where it is a user, else as it is.
    fn name(&self, resource: &str) -> String {
        self.names.get(resource).cloned().unwrap_or_else(|| resource.to_string())
    }

    /// The report as text for people: a summary line, the resources, roles and most frequent
    /// handovers as aligned tables, then the main findings as sentences.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if self.items == 0 {
            out.push_str("No completed work items in the selection.\n");
            return out;
        }
        let week = format!("a {}-hour week", self.hours_per_week);
        let _ = writeln!(
            out,
            "{} completed, {} by {}, {} without a resource; utilisation against {week}, per {}\n",
            plural(self.items, "work item", "work items"),
            self.items - self.unassigned_items,
            plural(self.resources.len() as u64, "resource", "resources"),
            self.unassigned_items,
            self.period.as_str(),
        );
        let optional = |value: Option<f64>, show: fn(f64) -> String| value.map_or_else(|| "—".to_string(), show);
        if !self.resources.is_empty() {
            let rows: Vec<Vec<String>> = self
                .resources
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    vec![
                        (i + 1).to_string(),
                        self.name(&r.resource),
                        r.roles.join(", "),
                        r.items.to_string(),
                        percent(r.share),
                        r.cases.to_string(),
                        r.activities.to_string(),
                        optional(r.processing.map(|p| p.mean_s), duration),
                        optional(r.processing.map(|p| p.total_s), duration),
                        optional(r.utilisation, percent),
                    ]
                })
                .collect();
            let headers =
                ["#", "resource", "roles", "items", "share", "cases", "activities", "mean work", "busy", "utilisation"];
            out.push_str(&table(&headers, &rows));
        }
        if !self.roles.is_empty() {
            out.push('\n');
            let rows: Vec<Vec<String>> = self
                .roles
                .iter()
                .map(|r| {
                    vec![
                        r.role.clone(),
                        r.resources.to_string(),
                        r.items.to_string(),
                        r.cases.to_string(),
                        optional(r.processing.map(|p| p.mean_s), duration),
                    ]
                })
                .collect();
            out.push_str(&table(&["role", "resources", "items", "cases", "mean work"], &rows));
        }
        if !self.handovers.is_empty() {
            out.push('\n');
            let rows: Vec<Vec<String>> = self
                .handovers
                .iter()
                .take(HANDOVERS_SHOWN)
                .map(|h| {
                    vec![
                        self.name(&h.from),
                        self.name(&h.to),
                        h.count.to_string(),
                        h.cases.to_string(),
                        duration(h.mean_gap_s),
                    ]
                })
                .collect();
            out.push_str(&table(&["handover from", "to", "count", "cases", "mean gap"], &rows));
            if self.handovers.len() > HANDOVERS_SHOWN {
                let _ = writeln!(out, "… and {} more handovers", self.handovers.len() - HANDOVERS_SHOWN);
            }
        }
        out.push('\n');
        for finding in self.findings() {
            let _ = writeln!(out, "- {finding}");
        }
        out
    }

    /// Sentences on the busiest resources, work without a resource and the most frequent
    /// handover.
    fn findings(&self) -> Vec<String> {
        let week = format!("a {}-hour week", self.hours_per_week);
        let mut findings: Vec<String> = self
            .resources
            .iter()
            .take(RESOURCES_DESCRIBED)
            .map(|r| {
                let done = format!(
                    "{} completed {} of the work items ({} of {})",
                    self.name(&r.resource),
                    whole_percent(r.share),
                    r.items,
                    self.items - self.unassigned_items
                );
                match r.utilisation {
                    Some(u) if u > 1.0 => {
                        format!("{done}; utilisation {} of {week} (parallel work).", whole_percent(u))
                    }
                    Some(u) => format!("{done}; utilisation {} of {week}.", whole_percent(u)),
                    None => format!("{done}; no start times, so no utilisation."),
                }
            })
            .collect();
        if self.unassigned_items > 0 {
            findings.push(format!(
                "{} without a resource ({} of all).",
                plural(self.unassigned_items, "work item was completed", "work items were completed"),
                whole_percent(self.unassigned_items as f64 / self.items as f64)
            ));
        }
        if let Some(h) = self.handovers.first() {
            findings.push(format!(
                "The most frequent handover is {} → {}: {} in {}, {} later on average.",
                self.name(&h.from),
                self.name(&h.to),
                plural(h.count, "time", "times"),
                plural(h.cases, "case", "cases"),
                duration(h.mean_gap_s)
            ));
        }
        findings
    }
}

impl std::fmt::Display for ResourceReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}
