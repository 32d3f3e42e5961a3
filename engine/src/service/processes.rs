//! Process instances: starting, advancing, cancelling, reading; and comments on them.

use super::{
    CompiledVersion, Engine, MAX_COMMENT_BYTES, audit, check_name, check_payload, page_size, validate_against,
};
use crate::access::Permission;
use crate::definition::{AssigneeRule, StepKind};
use crate::error::{EngineError, Result};
use crate::execution::{self, StepDecision};
use crate::ids::*;
use crate::model::*;
use crate::store::{InstanceFilter, ReadAhead, Scope, Tx};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// What starting an instance needs.
#[derive(Debug, Clone)]
pub struct StartInstance {
    pub playbook_id: PlaybookId,
    /// The branch whose head to run (default `main`).
    pub branch: Option<String>,
    /// A title (default: the playbook's name and the start time).
    pub title: Option<String>,
    /// Input data, checked against the playbook's `input_schema`.
    pub input: Value,
}

/// An instance with every execution of its steps and its comments.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InstanceDetail {
    pub instance: Instance,
    pub tasks: Vec<Task>,
    pub comments: Vec<Comment>,
}

impl Engine {
    /// Starts an instance of a playbook's branch head: pins that version, activates the steps that
    /// are ready and creates their tasks.
    pub async fn start_instance(&self, scope: &Scope, req: StartInstance) -> Result<InstanceDetail> {
        let input = if req.input.is_null() { json!({}) } else { req.input };
        check_payload("input", &input)?;
        if !input.is_object() {
            return Err(EngineError::invalid("/input", "must be a JSON object"));
        }
        let branch = req.branch.as_deref().unwrap_or(super::playbooks::MAIN_BRANCH);
        let now = self.clock.now();
        let ahead = ReadAhead::Playbook { id: req.playbook_id.clone(), branch: branch.to_string() };
        let mut tx = self.store.begin_write_reading(now, scope, ahead).await?;
        let playbook = tx
            .playbook(scope, &req.playbook_id)
            .await?
            .ok_or_else(|| EngineError::not_found("playbook", &req.playbook_id))?;
        scope.require(&playbook.team_id, Permission::ProcessStart)?;
        if playbook.archived_at.is_some() {
            return Err(EngineError::InvalidTransition {
                entity: "playbook",
                id: playbook.id.to_string(),
                action: "start a process of",
                state: "archived".into(),
            });
        }
        let head = tx
            .branch(scope, &playbook.id, branch)
            .await?
            .ok_or_else(|| EngineError::not_found("branch", format!("{}/{branch}", playbook.id)))?
            .head;
        let compiled = self.compiled_version(&mut *tx, scope, &head).await?;
        if let Some(v) = &compiled.input {
            validate_against(v, &input, "/input")?;
        }
        let title = match req.title {
            Some(t) => check_name("title", &t)?,
            None => compiled
                .definition
                .title_of(&input)
                .unwrap_or_else(|| format!("{} {}", playbook.name, now.format("%Y-%m-%d %H:%M"))),
        };
        let mut instance = Instance {
            id: InstanceId::generate(),
            team_id: playbook.team_id.clone(),
            playbook_id: playbook.id.clone(),
            version_id: head,
            title,
            status: InstanceStatus::Running,
            outcome: None,
            data: json!({ "input": input, "steps": {} }),
            started_by: scope.user_id.clone(),
            started_at: now,
            ended_at: None,
            revision: 1,
        };
        let mut tasks = Vec::new();
        self.advance(&mut *tx, &compiled, &mut instance, &mut tasks, now).await?;
        tx.insert_instance(&instance).await?;
        for t in &tasks {
            tx.insert_task(t).await?;
        }
        tx.audit(audit(
            scope,
            Some(&instance.team_id),
            "instance.start",
            "instance",
            &instance.id,
            json!({ "playbook": playbook.id, "version": instance.version_id }),
        ));
        tx.commit().await?;
        Ok(InstanceDetail { instance, tasks, comments: Vec::new() })
    }

    /// Cancels a running instance and every task still open in it.
    pub async fn cancel_instance(
        &self,
        scope: &Scope,
        id: &InstanceId,
        expected_revision: Option<i64>,
        reason: &str,
    ) -> Result<Instance> {
        let now = self.clock.now();
        let mut tx = self.store.begin_write(now).await?;
        tx.lock(id.as_str()).await?;
        let mut instance = tx.instance(scope, id).await?.ok_or_else(|| EngineError::not_found("instance", id))?;
        scope.require(&instance.team_id, Permission::ProcessCancel)?;
        check_revision("instance", id.as_str(), expected_revision, instance.revision)?;
        if instance.status != InstanceStatus::Running {
            return Err(EngineError::InvalidTransition {
                entity: "instance",
                id: id.to_string(),
                action: "cancel",
                state: instance.status.to_string(),
            });
        }
        for mut t in tx.instance_tasks(id).await? {
            if t.current && t.status.is_active() {
                let before = t.clone();
                t.status = TaskStatus::Cancelled;
                t.revision += 1;
                tx.update_task(&before, &t).await?;
            }
        }
        let expected = instance.revision;
        instance.status = InstanceStatus::Cancelled;
        instance.outcome = Some("cancelled".into());
        instance.ended_at = Some(now);
        instance.revision += 1;
        tx.update_instance(&instance, expected).await?;
        tx.audit(audit(scope, Some(&instance.team_id), "instance.cancel", "instance", id, json!({ "reason": reason })));
        tx.commit().await?;
        Ok(instance)
    }

    /// An instance with its tasks and comments.
    pub async fn instance(&self, scope: &Scope, id: &InstanceId) -> Result<InstanceDetail> {
        let mut tx = self.store.begin_read().await?;
        let instance = tx.instance(scope, id).await?.ok_or_else(|| EngineError::not_found("instance", id))?;
        let tasks = tx.instance_tasks(id).await?;
        let comments = tx.comments(scope, id).await?;
        Ok(InstanceDetail { instance, tasks, comments })
    }

    /// The caller's instances matching `filter`, in id (start) order.
    pub async fn instances(&self, scope: &Scope, mut filter: InstanceFilter) -> Result<Vec<Instance>> {
        filter.limit = page_size(filter.limit);
        self.store.begin_read().await?.instances(scope, &filter).await
    }

    /// Adds a comment to an instance, or to one of its tasks.
    pub async fn add_comment(
        &self,
        scope: &Scope,
        instance: &InstanceId,
        task: Option<&TaskId>,
        body: &str,
    ) -> Result<Comment> {
        let body = comment_body(body)?;
        let now = self.clock.now();
        let mut tx = self.store.begin_write(now).await?;
        let i = tx.instance(scope, instance).await?.ok_or_else(|| EngineError::not_found("instance", instance))?;
        scope.require(&i.team_id, Permission::ProcessComment)?;
        if let Some(task) = task {
            tx.task(scope, task)
                .await?
                .filter(|t| &t.instance_id == instance)
                .ok_or_else(|| EngineError::not_found("task", task))?;
        }
        let c = Comment {
            id: CommentId::generate(),
            team_id: i.team_id.clone(),
            instance_id: i.id.clone(),
            task_id: task.cloned(),
            author_id: scope.user_id.clone(),
            body: body.to_string(),
            created_at: now,
            edited_at: None,
        };
        tx.insert_comment(&c).await?;
        tx.audit(audit(
            scope,
            Some(&c.team_id),
            "comment.create",
            "comment",
            &c.id,
            json!({ "instance": instance, "task": task }),
        ));
        tx.commit().await?;
        Ok(c)
    }

    /// Changes the body of one of the caller's own comments.
    pub async fn edit_comment(&self, scope: &Scope, comment: &CommentId, body: &str) -> Result<Comment> {
        let body = comment_body(body)?;
        let now = self.clock.now();
        let mut tx = self.store.begin_write(now).await?;
        let mut c = tx.comment(scope, comment).await?.ok_or_else(|| EngineError::not_found("comment", comment))?;
        scope.require(&c.team_id, Permission::ProcessComment)?;
        if &c.author_id != scope.user_id() {
            return Err(EngineError::Forbidden("only its author edits a comment".into()));
        }
        if c.body == body {
            return Ok(c);
        }
        c.body = body.to_string();
        c.edited_at = Some(now);
        tx.update_comment(&c).await?;
        tx.audit(audit(
            scope,
            Some(&c.team_id),
            "comment.edit",
            "comment",
            comment,
            json!({ "instance": c.instance_id }),
        ));
        tx.commit().await?;
        Ok(c)
    }

    /// Deletes a comment: the caller's own, or anyone's in a team they manage (`team.manage`).
    pub async fn delete_comment(&self, scope: &Scope, comment: &CommentId) -> Result<()> {
        let mut tx = self.store.begin_write(self.clock.now()).await?;
        let c = tx.comment(scope, comment).await?.ok_or_else(|| EngineError::not_found("comment", comment))?;
        if &c.author_id == scope.user_id() {
            scope.require(&c.team_id, Permission::ProcessComment)?;
        } else {
            scope.require(&c.team_id, Permission::TeamManage)?;
        }
        tx.delete_comment(&c).await?;
        tx.audit(audit(
            scope,
            Some(&c.team_id),
            "comment.delete",
            "comment",
            comment,
            json!({ "instance": c.instance_id, "author": c.author_id }),
        ));
        tx.commit().await
    }

    /// Moves an instance forward: activates, runs or skips the steps the plan decides, and
    /// completes the instance when nothing more can run. New tasks are appended to `tasks` (which
    /// must hold every execution of the instance) and inserted by the caller; existing ones are
    /// not touched here.
    pub(crate) async fn advance(
        &self,
        tx: &mut dyn Tx,
        compiled: &CompiledVersion,
        instance: &mut Instance,
        tasks: &mut Vec<Task>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let def = &compiled.definition;
        let states: HashMap<String, TaskStatus> =
            tasks.iter().filter(|t| t.current).map(|t| (t.step_key.clone(), t.status)).collect();
        let plan = execution::plan(def, &instance.data, &states);
        for decision in plan.decisions {
            let (key, status) = match &decision {
                StepDecision::Activate(k) => (k, TaskStatus::Open),
                StepDecision::RunAutomated(k) => (k, TaskStatus::Completed),
                StepDecision::Skip(k) => (k, TaskStatus::Skipped),
            };
            let Some(step) = def.step(key) else { continue };
            let attempt =
                1 + tasks.iter().filter(|t| &t.step_key == key && t.status != TaskStatus::Skipped).count() as i32;
            let mut task = Task {
                id: TaskId::generate(),
                team_id: instance.team_id.clone(),
                instance_id: instance.id.clone(),
                playbook_id: instance.playbook_id.clone(),
                version_id: instance.version_id.clone(),
                step_key: key.clone(),
                name: step.name.clone(),
                kind: step.kind,
                status,
                attempt,
                current: true,
                role: None,
                assignee_id: None,
                ready_at: None,
                assigned_at: None,
                started_at: None,
                completed_at: None,
                due_at: None,
                decision: None,
                output: json!({}),
                revision: 1,
            };
            match decision {
                StepDecision::Skip(_) => {}
                StepDecision::RunAutomated(_) => {
                    task.ready_at = Some(now);
                    task.started_at = Some(now);
                    task.completed_at = Some(now);
                    execution::set_step_output(&mut instance.data, key, json!({}));
                }
                StepDecision::Activate(_) => {
                    task.ready_at = Some(now);
                    task.due_at = step.sla.map(|s| now + Duration::seconds(s.seconds));
                    let assignee = match &step.assignee {
                        Some(AssigneeRule::Role(role)) => {
                            task.role = Some(role.clone());
                            None
                        }
                        Some(AssigneeRule::User(user)) => {
                            tx.membership(&instance.team_id, user).await?.map(|m| m.user_id)
                        }
                        Some(AssigneeRule::RoundRobin(role)) => {
                            task.role = Some(role.clone());
                            self.next_in_turn(tx, &instance.team_id, role).await?
                        }
                        None => None,
                    };
                    if let Some(user) = assignee {
                        task.assignee_id = Some(user);
                        task.assigned_at = Some(now);
                        task.status = TaskStatus::Assigned;
                    }
                }
            }
            debug_assert!(step.kind != StepKind::Automated || task.status != TaskStatus::Open);
            tasks.push(task);
        }
        if plan.finished && instance.status == InstanceStatus::Running {
            instance.status = InstanceStatus::Completed;
            instance.outcome.get_or_insert_with(|| "completed".into());
            instance.ended_at = Some(now);
        }
        Ok(())
    }

    /// The next member with `role` after the last one given a task by round-robin.
    async fn next_in_turn(&self, tx: &mut dyn Tx, team: &TeamId, role: &str) -> Result<Option<UserId>> {
        let members = tx.members_with_role(team, role).await?;
        if members.is_empty() {
            return Ok(None);
        }
        let last = tx.round_robin_cursor(team, role).await?;
        let next = last.and_then(|l| members.iter().find(|m| **m > l).cloned()).unwrap_or_else(|| members[0].clone());
        tx.set_round_robin_cursor(team, role, &next).await?;
        Ok(Some(next))
    }
}

/// Fails with a conflict when the caller's expected revision is not the stored one.
pub(crate) fn check_revision(entity: &'static str, id: &str, expected: Option<i64>, found: i64) -> Result<()> {
    match expected {
        Some(expected) if expected != found => {
            Err(EngineError::Conflict { entity, id: id.to_string(), expected, found })
        }
        _ => Ok(()),
    }
}

/// A comment's text, trimmed: not empty, at most [`MAX_COMMENT_BYTES`].
fn comment_body(body: &str) -> Result<&str> {
    let body = body.trim();
    if body.is_empty() {
        return Err(EngineError::invalid("body", "must not be empty"));
    }
    if body.len() > MAX_COMMENT_BYTES {
        return Err(EngineError::TooLarge { what: "comment", size: body.len(), limit: MAX_COMMENT_BYTES });
    }
    Ok(body)
}
