//! Tasks: the human work of a process — assigning, claiming, starting, completing, cancelling.

use super::processes::check_revision;
use super::{CompiledVersion, Engine, audit, check_payload, page_size, validate_against};
use crate::access::Permission;
use crate::definition::{OnReject, StepKind};
use crate::error::{EngineError, Result};
use crate::execution::set_step_output;
use crate::ids::*;
use crate::model::*;
use crate::store::{ReadAhead, Scope, TaskFilter, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// An approval's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Decision {
    Approve,
    Reject,
}

/// What completing a task needs.
#[derive(Debug, Clone, Default)]
pub struct CompleteTask {
    /// The step's output, checked against its form schema.
    pub output: Value,
    /// Required for approvals, refused for other kinds.
    pub decision: Option<Decision>,
    /// The revision the caller last read (optimistic concurrency).
    pub expected_revision: Option<i64>,
}

/// The result of a task operation: the task and its instance afterwards.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskOutcome {
    pub task: Task,
    pub instance: Instance,
    /// Tasks created by this operation (successor steps that became ready).
    pub created: Vec<Task>,
}

/// An open write transaction holding a locked, freshly read task and every execution of its
/// instance (`family`, which includes the task as read).
struct Locked {
    tx: Box<dyn Tx>,
    task: Task,
    family: Vec<Task>,
}

impl Engine {
    /// One task.
    pub async fn task(&self, scope: &Scope, id: &TaskId) -> Result<Task> {
        let mut tx = self.store.begin_read().await?;
        tx.task(scope, id).await?.ok_or_else(|| EngineError::not_found("task", id))
    }

    /// The caller's tasks matching `filter`, in id order.
    pub async fn tasks(&self, scope: &Scope, mut filter: TaskFilter) -> Result<Vec<Task>> {
        filter.limit = page_size(filter.limit);
        self.store.begin_read().await?.tasks(scope, &filter).await
    }

    /// Assigns (or reassigns) an active task to a member of its team.
    pub async fn assign_task(
        &self,
        scope: &Scope,
        id: &TaskId,
        assignee: &UserId,
        expected_revision: Option<i64>,
    ) -> Result<Task> {
        let Locked { mut tx, mut task, .. } = self.lock_task(scope, id, expected_revision, "assign").await?;
        // The assignee is locked like [`Engine::remove_user`] locks them: someone removed from the
        // organisation meanwhile is no member any more, rather than left with the task.
        tx.lock(assignee.as_str()).await?;
        tx.membership(&task.team_id, assignee).await?.ok_or_else(|| EngineError::not_found("user", assignee))?;
        let now = self.clock.now();
        let before = task.clone();
        task.assignee_id = Some(assignee.clone());
        task.assigned_at = Some(now);
        if task.status == TaskStatus::Open {
            task.status = TaskStatus::Assigned;
        }
        task.revision += 1;
        tx.update_task(&before, &task).await?;
        tx.audit(audit(scope, Some(&task.team_id), "task.assign", "task", id, json!({ "assignee": assignee })));
        tx.commit().await?;
        Ok(task)
    }

    /// Takes an unassigned task offered to a role the caller has.
    pub async fn claim_task(&self, scope: &Scope, id: &TaskId, expected_revision: Option<i64>) -> Result<Task> {
        let Locked { mut tx, mut task, .. } = self.lock_task(scope, id, expected_revision, "claim").await?;
        if task.status != TaskStatus::Open {
            return Err(transition(&task, "claim"));
        }
        self.check_may_take(scope, &task)?;
        let before = task.clone();
        task.assignee_id = Some(scope.user_id.clone());
        task.assigned_at = Some(self.clock.now());
        task.status = TaskStatus::Assigned;
        task.revision += 1;
        tx.update_task(&before, &task).await?;
        tx.audit(audit(scope, Some(&task.team_id), "task.claim", "task", id, json!({})));
        tx.commit().await?;
        Ok(task)
    }

    /// Starts work on a task: the caller must be its assignee (an unassigned one is claimed first).
    pub async fn start_task(&self, scope: &Scope, id: &TaskId, expected_revision: Option<i64>) -> Result<Task> {
        let Locked { mut tx, mut task, .. } = self.lock_task(scope, id, expected_revision, "start").await?;
        if task.status == TaskStatus::Started {
            return Err(transition(&task, "start"));
        }
        let now = self.clock.now();
        let before = task.clone();
        self.take(scope, &mut task, now)?;
        task.status = TaskStatus::Started;
        task.started_at = Some(now);
        task.revision += 1;
        tx.update_task(&before, &task).await?;
        tx.audit(audit(scope, Some(&task.team_id), "task.start", "task", id, json!({})));
        tx.commit().await?;
        Ok(task)
    }

    /// Completes a task with its output (checked against the step's form); an approval needs a
    /// decision. Then activates the successors whose conditions hold and completes the instance
    /// when nothing more can run.
    pub async fn complete_task(&self, scope: &Scope, id: &TaskId, req: CompleteTask) -> Result<TaskOutcome> {
        let output = if req.output.is_null() { json!({}) } else { req.output };
        check_payload("output", &output)?;
        if !output.is_object() {
            return Err(EngineError::invalid("/output", "must be a JSON object"));
        }
        let Locked { mut tx, mut task, family: mut tasks } =
            self.lock_task(scope, id, req.expected_revision, "complete").await?;
        let mut instance = tx
            .instance(scope, &task.instance_id)
            .await?
            .ok_or_else(|| EngineError::not_found("instance", &task.instance_id))?;
        let compiled = self.compiled_version(&mut *tx, scope, &task.version_id).await?;
        let step = compiled
            .definition
            .step(&task.step_key)
            .ok_or_else(|| EngineError::Corrupt(format!("step {} missing", task.step_key)))?;
        match (task.kind, req.decision) {
            (StepKind::Approval, None) => {
                return Err(EngineError::invalid("decision", "an approval needs a decision: approve or reject"));
            }
            (kind, Some(_)) if kind != StepKind::Approval => {
                return Err(EngineError::invalid("decision", format!("a {} step takes no decision", kind.as_str())));
            }
            _ => {}
        }
        if let Some(v) = compiled.forms.get(&task.step_key) {
            validate_against(v, &output, "/output")?;
        }
        let now = self.clock.now();
        let before = task.clone();
        self.take(scope, &mut task, now)?;
        let rejected = req.decision == Some(Decision::Reject);
        task.status = if rejected { TaskStatus::Rejected } else { TaskStatus::Completed };
        task.started_at.get_or_insert(now);
        task.completed_at = Some(now);
        task.decision = req.decision.map(|d| if d == Decision::Approve { "approved" } else { "rejected" }.to_string());
        task.output = output.clone();
        task.revision += 1;
        tx.update_task(&before, &task).await?;

        let mut recorded = output;
        if let (Some(decision), Value::Object(map)) = (&task.decision, &mut recorded) {
            map.insert("decision".into(), json!(decision));
        }
        set_step_output(&mut instance.data, &task.step_key, recorded);
        replace(&mut tasks, &task);

        if rejected {
            match step.on_reject.clone().unwrap_or(OnReject::EndPath) {
                OnReject::EndPath => {}
                OnReject::EndProcess => {
                    cancel_active(&mut *tx, &mut tasks, |_| true).await?;
                    instance.outcome = Some("rejected".into());
                }
                OnReject::Rework(target) => {
                    let reset = compiled.definition.descendants_inclusive(&target);
                    cancel_active(&mut *tx, &mut tasks, |t| reset.contains(&t.step_key)).await?;
                    for t in tasks.iter_mut().filter(|t| t.current && reset.contains(&t.step_key)) {
                        let before = t.clone();
                        t.current = false;
                        t.revision += 1;
                        tx.update_task(&before, t).await?;
                    }
                }
            }
        }
        let created = self.advance_and_save(&mut *tx, &compiled, &mut instance, &mut tasks, now).await?;
        let action = match req.decision {
            Some(Decision::Approve) => "task.approve",
            Some(Decision::Reject) => "task.reject",
            None => "task.complete",
        };
        tx.audit(audit(scope, Some(&task.team_id), action, "task", id, json!({ "instance": instance.id })));
        tx.commit().await?;
        // The task as stored after the rework reset, if any.
        let task = tasks.iter().find(|t| t.id == task.id).cloned().unwrap_or(task);
        Ok(TaskOutcome { task, instance, created })
    }

    /// Cancels one active task; steps depending on it are skipped.
    pub async fn cancel_task(&self, scope: &Scope, id: &TaskId, expected_revision: Option<i64>) -> Result<TaskOutcome> {
        let Locked { mut tx, mut task, family: mut tasks } =
            self.lock_task(scope, id, expected_revision, "cancel").await?;
        let mut instance = tx
            .instance(scope, &task.instance_id)
            .await?
            .ok_or_else(|| EngineError::not_found("instance", &task.instance_id))?;
        let compiled = self.compiled_version(&mut *tx, scope, &task.version_id).await?;
        let now = self.clock.now();
        let before = task.clone();
        task.status = TaskStatus::Cancelled;
        task.revision += 1;
        tx.update_task(&before, &task).await?;
        replace(&mut tasks, &task);
        let created = self.advance_and_save(&mut *tx, &compiled, &mut instance, &mut tasks, now).await?;
        tx.audit(audit(scope, Some(&task.team_id), "task.cancel", "task", id, json!({})));
        tx.commit().await?;
        Ok(TaskOutcome { task, instance, created })
    }

    /// Opens a write transaction, locks the task's instance and reads the task fresh; checks that
    /// it is active and at the caller's expected revision.
    async fn lock_task(
        &self,
        scope: &Scope,
        id: &TaskId,
        expected_revision: Option<i64>,
        action: &'static str,
    ) -> Result<Locked> {
        let mut tx = self.store.begin_write_reading(self.clock.now(), scope, ReadAhead::Task(id.clone())).await?;
        tx.lock_task_instance(scope, id).await?;
        let family = tx.task_family(scope, id).await?;
        let task = family.iter().find(|t| &t.id == id).cloned().ok_or_else(|| EngineError::not_found("task", id))?;
        let needed = match action {
            "assign" => Permission::TaskAssign,
            "cancel" => Permission::ProcessCancel,
            _ => Permission::TaskComplete,
        };
        scope.require(&task.team_id, needed)?;
        check_revision("task", id.as_str(), expected_revision, task.revision)?;
        if !task.status.is_active() || !task.current {
            return Err(transition(&task, action));
        }
        Ok(Locked { tx, task, family })
    }

    /// Advances the instance, inserts the tasks that creates and saves the instance (whose
    /// revision the caller read in this transaction); returns the new tasks.
    async fn advance_and_save(
        &self,
        tx: &mut dyn Tx,
        compiled: &CompiledVersion,
        instance: &mut Instance,
        tasks: &mut Vec<Task>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Task>> {
        let expected = instance.revision;
        let before = tasks.len();
        self.advance(tx, compiled, instance, tasks, now).await?;
        let created = tasks.split_off(before);
        for t in &created {
            tx.insert_task(t).await?;
        }
        instance.revision += 1;
        tx.update_instance(instance, expected).await?;
        Ok(created)
    }

    /// Makes the caller the task's assignee if nobody is; refuses if somebody else is.
    fn take(&self, scope: &Scope, task: &mut Task, now: chrono::DateTime<chrono::Utc>) -> Result<()> {
        match &task.assignee_id {
            Some(a) if a == &scope.user_id => Ok(()),
            Some(_) => Err(EngineError::Forbidden(format!(
                "task `{}` is assigned to another user; reassign it first",
                task.id
            ))),
            None => {
                self.check_may_take(scope, task)?;
                task.assignee_id = Some(scope.user_id.clone());
                task.assigned_at = Some(now);
                Ok(())
            }
        }
    }

    /// A task offered to a role may be taken only by a member with that role (or a team owner
    /// or admin).
    fn check_may_take(&self, scope: &Scope, task: &Task) -> Result<()> {
        match (&task.role, scope.grant(&task.team_id)) {
            (_, None) => Err(EngineError::not_found("task", &task.id)),
            (Some(role), Some(g)) if &g.role != role && g.role != "owner" && g.role != "admin" => Err(
                EngineError::Forbidden(format!("task `{}` is for role `{role}`, and yours is `{}`", task.id, g.role)),
            ),
            _ => Ok(()),
        }
    }
}

/// Cancels the current, active tasks that `which` selects.
async fn cancel_active(tx: &mut dyn Tx, tasks: &mut [Task], which: impl Fn(&Task) -> bool) -> Result<()> {
    for t in tasks.iter_mut().filter(|t| t.current && t.status.is_active() && which(t)) {
        let before = t.clone();
        t.status = TaskStatus::Cancelled;
        t.revision += 1;
        tx.update_task(&before, t).await?;
    }
    Ok(())
}

/// Puts the new state of `task` into `family` in place of its old one.
fn replace(family: &mut [Task], task: &Task) {
    if let Some(slot) = family.iter_mut().find(|t| t.id == task.id) {
        *slot = task.clone();
    }
}

fn transition(task: &Task, action: &'static str) -> EngineError {
    let state = if task.current { task.status.to_string() } else { format!("{} (superseded by rework)", task.status) };
    EngineError::InvalidTransition { entity: "task", id: task.id.to_string(), action, state }
}
