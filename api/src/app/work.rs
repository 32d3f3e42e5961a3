//! The work people and agents do through every interface: starting processes, listing and
//! completing tasks, saving playbook versions and signing in. The operations that are business
//! events count themselves here, once, whichever interface asked.

use super::{App, AppError, AppResult, visible};
use chrono::{DateTime, Utc};
use orgata_engine::*;
use serde_json::Value;

/// Which of a team's tasks to list.
#[derive(Debug, Default)]
pub struct TaskListing {
    /// Only these statuses (all when empty; the active ones when `overdue` and empty).
    pub statuses: Vec<TaskStatus>,
    /// `me` or a user id.
    pub assignee: Option<String>,
    pub due_before: Option<DateTime<Utc>>,
    /// Only active tasks past their due time.
    pub overdue: bool,
    pub instance_id: Option<InstanceId>,
    /// The last task id of the previous page.
    pub after: Option<TaskId>,
    /// The newest first (the web UI's lists) instead of the oldest.
    pub newest_first: bool,
    pub limit: i64,
}

/// Task statuses by name; an unknown one is a bad request naming it.
pub fn task_statuses<'a>(names: impl IntoIterator<Item = &'a str>) -> AppResult<Vec<TaskStatus>> {
    names
        .into_iter()
        .map(|v| TaskStatus::try_from(v.trim().to_string()))
        .collect::<Result<_, _>>()
        .map_err(AppError::bad_request)
}

/// An `assignee` parameter: `me` or a user id.
pub fn assignee(caller: &Scope, param: Option<&str>) -> Option<UserId> {
    match param {
        Some("me") => Some(caller.user_id().clone()),
        Some(id) => Some(UserId::from(id)),
        None => None,
    }
}

impl App {
    /// A team's tasks.
    pub async fn team_tasks(&self, c: &Scope, team: &TeamId, q: TaskListing) -> AppResult<Vec<Task>> {
        visible(c, team)?;
        let (mut statuses, mut due_before) = (q.statuses, q.due_before);
        if q.overdue {
            let now = self.engine.clock().now();
            due_before = Some(due_before.map_or(now, |d| d.min(now)));
            if statuses.is_empty() {
                statuses = vec![TaskStatus::Open, TaskStatus::Assigned, TaskStatus::Started];
            }
        }
        let filter = TaskFilter {
            team_id: Some(team.clone()),
            instance_id: q.instance_id,
            assignee_id: assignee(c, q.assignee.as_deref()),
            statuses,
            due_before,
            after: q.after,
            newest_first: q.newest_first,
            limit: q.limit,
            ..Default::default()
        };
        Ok(self.engine.tasks(c, filter).await?)
    }

    /// Starts a process of one of `team`'s playbooks (another team's playbook looks missing).
    pub async fn start_process(&self, c: &Scope, team: &TeamId, req: StartInstance) -> Result<InstanceDetail> {
        let playbook = self.engine.playbook(c, &req.playbook_id).await?;
        if playbook.playbook.team_id != *team {
            return Err(EngineError::not_found("playbook", &req.playbook_id));
        }
        let started = self.engine.start_instance(c, req).await?;
        self.metrics.count("processes_started");
        Ok(started)
    }

    /// Completes a task.
    pub async fn complete_task(&self, c: &Scope, id: &TaskId, req: CompleteTask) -> Result<TaskOutcome> {
        let outcome = self.engine.complete_task(c, id, req).await?;
        self.metrics.count("tasks_completed");
        Ok(outcome)
    }

    /// Saves a new version of a playbook on `branch`, if the branch is still at `expected_revision`
    /// (any revision when `None`).
    pub async fn commit_version(
        &self,
        c: &Scope,
        playbook: &PlaybookId,
        branch: &str,
        definition: Value,
        message: &str,
        expected_revision: Option<i64>,
    ) -> Result<PlaybookVersion> {
        let version = self.engine.commit_version(c, playbook, branch, definition, message, expected_revision).await?;
        self.metrics.count("playbook_versions");
        Ok(version)
    }

    /// Signs in with a password (and, when the account has one, asks for the second factor).
    pub async fn login(&self, login: Login) -> Result<LoginOutcome> {
        let outcome = self.engine.login(login).await?;
        if matches!(outcome, LoginOutcome::SignedIn(_)) {
            self.metrics.count("sign_ins");
        }
        Ok(outcome)
    }

    /// Finishes a sign-in with the second factor's code.
    pub async fn login_second_factor(&self, challenge: &str, code: &str, source: Option<&str>) -> Result<Session> {
        let session = self.engine.login_second_factor(challenge, code, source).await?;
        self.metrics.count("sign_ins");
        Ok(session)
    }
}
