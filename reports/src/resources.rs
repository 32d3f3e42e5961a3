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
//! # Queries
//!
//! After the events' outline (whether an imported log mixes lifecycle transitions, as `times`),
//! one query: the items streamed into a [`CaseLog`] with their resource and role, grouped by case
//! in the case order of `times`. One pass over it gives each item the previous item's resource and
//! completion, and counts the items by resource, by role, by resource and role, by resource and
//! period, and by (previous resource, resource); the period, unless given, is that of the items'
//! completions.

use crate::caselog::{CaseLog, NO_NAME, NONE, seconds};
use crate::text::{duration, gap, percent, plural, table, whole_percent};
use crate::times::{TimeSummary, work_items};
use crate::{Events, QueuePeriod, ReportError};
use chrono::{DateTime, Utc};
use datafusion::common::{HashMap, HashSet};
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
    let log = work_items(events, ", resource, role").await?;
    let completed = || log.t.iter().copied().filter(|&t| t != NONE);
    let period = period.unwrap_or_else(|| QueuePeriod::covering(completed().min().zip(completed().max())));
    let groups = Group::of(&log, period);
    let mut report = report(&groups, period, hours_per_week)?;
    if filter.is_engine() && !report.resources.is_empty() {
        let rows = events.run("SELECT id, display_name FROM users").await?;
        let users = rows.strings("id")?.into_iter().zip(rows.strings("display_name")?);
        report.names = users.filter(|(id, _)| report.resources.iter().any(|r| &r.resource == id)).collect();
    }
    Ok(report)
}

/// Which grouping of the items a [`Group`] belongs to.
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
    busy: i128,
    busy_max: Option<i64>,
    gap: i128,
}

impl Group {
    /// The groups of the completed items in `log` (see the module docs): each item with the
    /// resource and completion of its case's previous completed item, counted by resource, by
    /// role, by resource and role, by resource and period, and by (previous resource, resource). A
    /// case counts for a resource, a role or a handover at its first item of it.
    fn of(log: &CaseLog, period: QueuePeriod) -> Vec<Group> {
        // Per grouping and its key: (grouping, name, name, period).
        let mut groups: HashMap<(i64, u32, u32, i64), Group> = HashMap::default();
        let mut activities: HashMap<u32, HashSet<u32>> = HashMap::default();
        // The case's resources, roles and handovers so far.
        let (mut resources, mut roles, mut handovers) = (Vec::new(), Vec::new(), Vec::new());
        for rows in log.case_ranges() {
            resources.clear();
            roles.clear();
            handovers.clear();
            let mut previous: Option<(u32, i64)> = None;
            for e in rows.filter(|&e| log.t[e] != NONE) {
                let (resource, role, t, st) = (log.resource[e], log.role[e], log.t[e], log.st[e]);
                let busy = log.timed[e].then(|| t.saturating_sub(st));
                let handover = previous.filter(|&(from, _)| from != NO_NAME && resource != NO_NAME && from != resource);
                let new_resource = first_time(&mut resources, resource);
                let new_role = first_time(&mut roles, role);
                let mut add = |key: (i64, u32, u32, i64), new_case: bool, gap: Option<i64>| {
                    let group = groups.entry(key).or_insert_with(|| Group::empty(key.0));
                    group.items += 1;
                    group.cases += u64::from(new_case);
                    if let Some(busy) = busy {
                        group.timed += 1;
                        group.busy += i128::from(busy);
                        group.busy_max = group.busy_max.max(Some(busy));
                    }
                    group.gap += i128::from(gap.unwrap_or(0));
                };
                add((BY_RESOURCE, resource, 0, 0), new_resource, None);
                add((BY_ROLE, role, 0, 0), new_role, None);
                add((BY_RESOURCE_ROLE, resource, role, 0), false, None);
                add((BY_RESOURCE_PERIOD, resource, 0, period.bin(t)), false, None);
                match handover {
                    Some((from, prev_t)) => {
                        let new_handover = first_time(&mut handovers, (from, resource));
                        add((BY_HANDOVER, from, resource, 0), new_handover, Some(st.saturating_sub(prev_t)));
                    }
                    None => add((BY_HANDOVER, NO_NAME, resource, 0), false, None),
                }
                activities.entry(resource).or_default().insert(log.activity[e]);
                previous = Some((resource, t));
            }
        }
        let name = |n: u32| (n != NO_NAME).then(|| log.names[n as usize].clone());
        groups
            .into_iter()
            .map(|((set, a, b, bin), mut group)| {
                match set {
                    BY_RESOURCE => {
                        group.resource = name(a);
                        group.activities = activities.get(&a).map_or(0, |a| a.len() as u64);
                    }
                    BY_ROLE => group.role = name(a),
                    BY_RESOURCE_ROLE => (group.resource, group.role) = (name(a), name(b)),
                    BY_RESOURCE_PERIOD => (group.resource, group.bin) = (name(a), Some(bin)),
                    _ => (group.from, group.resource) = (name(a), name(b)),
                }
                group
            })
            .collect()
    }

    /// An empty group of grouping `set`.
    fn empty(set: i64) -> Group {
        Group {
            set,
            resource: None,
            role: None,
            bin: None,
            from: None,
            items: 0,
            cases: 0,
            activities: 0,
            timed: 0,
            busy: 0,
            busy_max: None,
            gap: 0,
        }
    }

    /// Processing time over the group's items with a start time.
    fn processing(&self) -> Option<TimeSummary> {
        TimeSummary::of(self.timed, self.busy, self.busy_max)
    }
}

/// Whether `value` is not in `seen` yet (a case has few resources, roles and handovers); adds it.
fn first_time<T: PartialEq>(seen: &mut Vec<T>, value: T) -> bool {
    let new = !seen.contains(&value);
    if new {
        seen.push(value);
    }
    new
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
                        gap(h.mean_gap_s),
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
                "The most frequent handover is {} → {}: {} in {}, {}.",
                self.name(&h.from),
                self.name(&h.to),
                plural(h.count, "time", "times"),
                plural(h.cases, "case", "cases"),
                if h.mean_gap_s < 0.0 {
                    format!("overlapping by {} on average", duration(-h.mean_gap_s))
                } else {
                    format!("{} later on average", duration(h.mean_gap_s))
                }
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
