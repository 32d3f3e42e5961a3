//! The process event log of a task: one event per lifecycle transition (XES's standard lifecycle
//! model — schedule, assign, reassign, start, complete, ate_abort), derived from a task's state
//! before and after a write. The store records these as `task_event` change events in the same
//! transaction as the task (design.md, invariant 2), so the warehouse's `events` table is a plain
//! copy of them and never has to guess what changed.

use crate::ids::{InstanceId, PlaybookId, TaskId, TeamId, UserId, VersionId};
use crate::model::{Task, TaskStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A lifecycle transition, named as in the XES standard lifecycle extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    /// The step became ready and its task was offered.
    Schedule,
    /// Somebody was made the assignee of an unassigned task.
    Assign,
    /// The assignee changed.
    Reassign,
    /// Work started.
    Start,
    /// Work finished (an approval, approved or rejected, completes too).
    Complete,
    /// The task was cancelled before it finished.
    AteAbort,
}

impl Lifecycle {
    /// The XES name (`schedule`, …, `ate_abort`).
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Schedule => "schedule",
            Lifecycle::Assign => "assign",
            Lifecycle::Reassign => "reassign",
            Lifecycle::Start => "start",
            Lifecycle::Complete => "complete",
            Lifecycle::AteAbort => "ate_abort",
        }
    }
}

/// One event of the process event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskEvent {
    /// `<task id>/<revision>/<lifecycle>`: unique, and the same however often it is derived.
    pub id: String,
    pub team_id: TeamId,
    pub playbook_id: PlaybookId,
    pub version_id: VersionId,
    pub instance_id: InstanceId,
    pub task_id: TaskId,
    pub step_key: String,
    /// The step's name: the event log's activity.
    pub activity: String,
    pub lifecycle: Lifecycle,
    /// Who the task is with after the transition.
    pub resource: Option<UserId>,
    /// The role it is offered to.
    pub role: Option<String>,
    /// 1 for the first execution of the step in its instance, 2 after one rework, …
    pub attempt: i32,
    /// `approved` or `rejected`, on an approval's completion.
    pub decision: Option<String>,
    pub at: DateTime<Utc>,
}

/// The transitions from `before` (none for a new task) to `after`, in lifecycle order. `now` is
/// the time of a cancellation, which the task itself does not record. A skipped task has none;
/// a write that changes no lifecycle state (a rework marking an old execution superseded) has none.
pub fn transitions(before: Option<&Task>, after: &Task, now: DateTime<Utc>) -> Vec<TaskEvent> {
    if after.status == TaskStatus::Skipped {
        return Vec::new();
    }
    let mut happened: Vec<(Lifecycle, DateTime<Utc>)> = Vec::new();
    if let (Some(ready), None) = (after.ready_at, before.and_then(|b| b.ready_at)) {
        happened.push((Lifecycle::Schedule, ready));
    }
    let assigned_before = before.and_then(|b| b.assigned_at.map(|at| (at, b.assignee_id.as_ref())));
    if let (Some(at), Some(assignee)) = (after.assigned_at, &after.assignee_id) {
        match assigned_before {
            None | Some((_, None)) => happened.push((Lifecycle::Assign, at)),
            Some((previous_at, previous)) if previous_at != at || previous != Some(assignee) => {
                happened.push((Lifecycle::Reassign, at))
            }
            Some(_) => {}
        }
    }
    if let (Some(started), None) = (after.started_at, before.and_then(|b| b.started_at)) {
        happened.push((Lifecycle::Start, started));
    }
    let was = before.map(|b| b.status);
    let finished = |s: Option<TaskStatus>| matches!(s, Some(TaskStatus::Completed | TaskStatus::Rejected));
    if finished(Some(after.status)) && !finished(was) {
        happened.push((Lifecycle::Complete, after.completed_at.unwrap_or(now)));
    }
    if after.status == TaskStatus::Cancelled && was != Some(TaskStatus::Cancelled) {
        happened.push((Lifecycle::AteAbort, now));
    }
    happened
        .into_iter()
        .map(|(lifecycle, at)| TaskEvent {
            id: format!("{}/{}/{}", after.id, after.revision, lifecycle.as_str()),
            team_id: after.team_id.clone(),
            playbook_id: after.playbook_id.clone(),
            version_id: after.version_id.clone(),
            instance_id: after.instance_id.clone(),
            task_id: after.id.clone(),
            step_key: after.step_key.clone(),
            activity: after.name.clone(),
            lifecycle,
            resource: after.assignee_id.clone(),
            role: after.role.clone(),
            attempt: after.attempt,
            decision: (lifecycle == Lifecycle::Complete).then(|| after.decision.clone()).flatten(),
            at,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::StepKind;
    use chrono::TimeZone;
    use serde_json::json;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, minute, 0).unwrap()
    }

    fn open_task() -> Task {
        Task {
            id: TaskId::from("tsk_1"),
            team_id: TeamId::from("team_1"),
            instance_id: InstanceId::from("ins_1"),
            playbook_id: PlaybookId::from("pbk_1"),
            version_id: VersionId::from("ver_1"),
            step_key: "review".into(),
            name: "Legal review".into(),
            kind: StepKind::Approval,
            status: TaskStatus::Open,
            attempt: 1,
            current: true,
            role: Some("legal".into()),
            assignee_id: None,
            ready_at: Some(at(0)),
            assigned_at: None,
            started_at: None,
            completed_at: None,
            due_at: None,
            decision: None,
            output: json!({}),
            revision: 1,
        }
    }

    fn names(events: &[TaskEvent]) -> Vec<(&'static str, DateTime<Utc>)> {
        events.iter().map(|e| (e.lifecycle.as_str(), e.at)).collect()
    }

    #[test]
    fn a_task_walks_through_its_lifecycle_once() {
        let open = open_task();
        let created = transitions(None, &open, at(0));
        assert_eq!(names(&created), [("schedule", at(0))]);
        assert_eq!(created[0].id, "tsk_1/1/schedule");
        assert_eq!(created[0].activity, "Legal review");

        let mut claimed = open.clone();
        claimed.status = TaskStatus::Assigned;
        claimed.assignee_id = Some(UserId::from("usr_ann"));
        claimed.assigned_at = Some(at(5));
        claimed.revision = 2;
        let events = transitions(Some(&open), &claimed, at(5));
        assert_eq!(names(&events), [("assign", at(5))]);
        assert_eq!(events[0].resource, Some(UserId::from("usr_ann")));

        let mut reassigned = claimed.clone();
        reassigned.assignee_id = Some(UserId::from("usr_bob"));
        reassigned.assigned_at = Some(at(7));
        reassigned.revision = 3;
        assert_eq!(names(&transitions(Some(&claimed), &reassigned, at(7))), [("reassign", at(7))]);

        let mut done = reassigned.clone();
        done.status = TaskStatus::Rejected;
        done.started_at = Some(at(9));
        done.completed_at = Some(at(9));
        done.decision = Some("rejected".into());
        done.revision = 4;
        let events = transitions(Some(&reassigned), &done, at(9));
        assert_eq!(names(&events), [("start", at(9)), ("complete", at(9))]);
        assert_eq!((events[0].decision.as_deref(), events[1].decision.as_deref()), (None, Some("rejected")));

        let mut superseded = done.clone();
        superseded.current = false;
        superseded.revision = 5;
        assert!(transitions(Some(&done), &superseded, at(9)).is_empty());
    }

    #[test]
    fn taking_a_task_while_completing_it_assigns_starts_and_completes_it() {
        let open = open_task();
        let mut done = open.clone();
        done.status = TaskStatus::Completed;
        done.assignee_id = Some(UserId::from("usr_ann"));
        done.assigned_at = Some(at(30));
        done.started_at = Some(at(30));
        done.completed_at = Some(at(30));
        assert_eq!(
            names(&transitions(Some(&open), &done, at(30))),
            [("assign", at(30)), ("start", at(30)), ("complete", at(30))]
        );
    }

    #[test]
    fn cancelling_aborts_at_the_write_time_and_skipping_leaves_no_event() {
        let open = open_task();
        let mut cancelled = open.clone();
        cancelled.status = TaskStatus::Cancelled;
        assert_eq!(names(&transitions(Some(&open), &cancelled, at(40))), [("ate_abort", at(40))]);

        let mut skipped = open_task();
        skipped.status = TaskStatus::Skipped;
        skipped.ready_at = None;
        assert!(transitions(None, &skipped, at(0)).is_empty());
    }
}
