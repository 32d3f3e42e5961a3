//! The MCP prompts: a running process, a task or the bottleneck report, put into words for an
//! agent, from the records the engine and the reports return.

use super::server::{Failure, OrgataMcp};
use crate::app::work::TaskListing;
use orgata_engine::{InstanceId, PlaybookId, Task, TaskId, TaskStatus};
use orgata_reports::{ReportKind, ReportOptions};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{GetPromptResult, PromptMessage, Role};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, prompt, prompt_router};
use schemars::JsonSchema;
use serde::Deserialize;
use std::fmt::Write;

/// The processes at risk the `analyze_bottlenecks` prompt names (the likeliest first).
const AT_RISK_IN_PROMPT: usize = 5;

/// Completed executions of the same step shown as examples.
const SIMILAR_SHOWN: usize = 5;

/// `process_help`'s argument.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ProcessHelpArgs {
    /// The process (instance) id.
    pub process_id: String,
}

/// `task_guidance`'s argument.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct TaskGuidanceArgs {
    /// The task id.
    pub task_id: String,
}

/// `analyze_bottlenecks`' argument.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AnalyzeBottlenecksArgs {
    /// Only this playbook's processes (all of the team's when absent).
    pub playbook_id: Option<String>,
}

/// One line about a task: step, status, assignee, due.
fn task_line(t: &Task) -> String {
    let mut line = format!("- `{}` {} ({:?}, task {}): {}", t.step_key, t.name, t.kind, t.id, t.status.as_str());
    if let Some(a) = &t.assignee_id {
        let _ = write!(line, ", assigned to {a}");
    } else if let Some(role) = &t.role {
        let _ = write!(line, ", offered to role {role}");
    }
    if let Some(due) = t.due_at {
        let _ = write!(line, ", due {}", due.to_rfc3339());
    }
    if t.attempt > 1 {
        let _ = write!(line, ", attempt {}", t.attempt);
    }
    line
}

fn user_prompt(description: String, text: String) -> GetPromptResult {
    GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)]).with_description(description)
}

#[prompt_router(vis = "pub(super)")]
impl OrgataMcp {
    /// A running process in context — its playbook, where each step stands, its comments — and
    /// what to do next.
    #[prompt(name = "process_help")]
    async fn process_help(
        &self,
        Parameters(args): Parameters<ProcessHelpArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<GetPromptResult, ErrorData> {
        self.process_help_text(&args, &ctx).await.map_err(Failure::into_error)
    }

    /// A task with its form, its process's history and similar completed tasks: how to do it.
    #[prompt(name = "task_guidance")]
    async fn task_guidance(
        &self,
        Parameters(args): Parameters<TaskGuidanceArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<GetPromptResult, ErrorData> {
        self.task_guidance_text(&args, &ctx).await.map_err(Failure::into_error)
    }

    /// The team's bottleneck report, with a request to explain it and suggest improvements.
    #[prompt(name = "analyze_bottlenecks")]
    async fn analyze_bottlenecks(
        &self,
        Parameters(args): Parameters<AnalyzeBottlenecksArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<GetPromptResult, ErrorData> {
        self.analyze_bottlenecks_text(&args, &ctx).await.map_err(Failure::into_error)
    }
}

impl OrgataMcp {
    async fn process_help_text(
        &self,
        args: &ProcessHelpArgs,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<GetPromptResult, Failure> {
        let (scope, _) = self.caller(ctx)?;
        let detail = self.app.engine.instance(&scope, &InstanceId::from(args.process_id.as_str())).await?;
        let version = self.app.engine.version(&scope, &detail.instance.version_id).await?;
        let i = &detail.instance;
        let mut text = format!(
            "The process \"{}\" ({}) is {}; it started {} and runs version {} of its playbook.\n",
            i.title,
            i.id,
            i.status.as_str(),
            i.started_at.to_rfc3339(),
            version.number
        );
        if !version.definition.description.is_empty() {
            let _ = writeln!(text, "What the playbook is for: {}", version.definition.description);
        }
        text.push_str("\nIts steps, in order, with their dependencies:\n");
        for step in &version.definition.steps {
            let after = if step.depends_on.is_empty() {
                String::new()
            } else {
                format!(", after {}", step.depends_on.join(", "))
            };
            let _ = writeln!(text, "- `{}` {} ({:?}{after})", step.key, step.name, step.kind);
        }
        text.push_str("\nWhat has happened (every execution of a step):\n");
        for t in &detail.tasks {
            let _ = writeln!(text, "{}", task_line(t));
        }
        if !detail.comments.is_empty() {
            text.push_str("\nComments:\n");
            for c in &detail.comments {
                let _ = writeln!(text, "- {} at {}: {}", c.author_id, c.created_at.to_rfc3339(), c.body);
            }
        }
        let active: Vec<&Task> = detail
            .tasks
            .iter()
            .filter(|t| t.current && matches!(t.status, TaskStatus::Open | TaskStatus::Assigned | TaskStatus::Started))
            .collect();
        text.push_str("\nWhat is waiting now:\n");
        if active.is_empty() {
            text.push_str("- nothing: no step is active.\n");
        }
        for t in active {
            let _ = writeln!(text, "{}", task_line(t));
        }
        text.push_str(
            "\nExplain where this process stands and what should happen next, and by whom. Tasks are done with \
             the `complete_task` tool (the `task_guidance` prompt explains one) and handed over with `assign_task`.",
        );
        Ok(user_prompt(format!("Help with the process \"{}\"", i.title), text))
    }

    async fn task_guidance_text(
        &self,
        args: &TaskGuidanceArgs,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<GetPromptResult, Failure> {
        let (scope, team) = self.caller(ctx)?;
        let task = self.app.engine.task(&scope, &TaskId::from(args.task_id.as_str())).await?;
        let version = self.app.engine.version(&scope, &task.version_id).await?;
        let detail = self.app.engine.instance(&scope, &task.instance_id).await?;
        let step = version.definition.steps.iter().find(|s| s.key == task.step_key);
        let mut text = format!(
            "The task \"{}\" (id {}, revision {}) is step `{}` of the process \"{}\"; it is {}.\n{}\n",
            task.name,
            task.id,
            task.revision,
            task.step_key,
            detail.instance.title,
            task.status.as_str(),
            task_line(&task)
        );
        match step.and_then(|s| s.form.as_ref()) {
            Some(form) => {
                let _ = writeln!(text, "\nIts output must satisfy this JSON Schema (the step's form):\n{form:#}");
            }
            None => text.push_str("\nThe step has no form: its output may be any JSON object (often `{}`).\n"),
        }
        if task.kind == orgata_engine::definition::StepKind::Approval {
            text.push_str("It is an approval: completing it needs a `decision`, `approve` or `reject`.\n");
        }
        let _ = writeln!(text, "\nThe process's data so far: {}", detail.instance.data);
        text.push_str("\nThe process's history:\n");
        for t in &detail.tasks {
            let _ = writeln!(text, "{}", task_line(t));
        }
        let listing = TaskListing {
            statuses: vec![TaskStatus::Completed],
            limit: orgata_engine::service::MAX_PAGE,
            ..TaskListing::default()
        };
        let done = self.app.team_tasks(&scope, &team, listing).await?;
        let similar: Vec<&Task> = done
            .iter()
            .rev()
            .filter(|t| t.playbook_id == task.playbook_id && t.step_key == task.step_key && t.id != task.id)
            .take(SIMILAR_SHOWN)
            .collect();
        if !similar.is_empty() {
            text.push_str("\nHow the same step was completed recently:\n");
            for t in similar {
                let decision = t.decision.as_deref().map(|d| format!(" decision {d},")).unwrap_or_default();
                let _ = writeln!(text, "- task {}:{decision} output {}", t.id, t.output);
            }
        }
        text.push_str(
            "\nSay how to complete this task well, and with which output; then complete it with the \
             `complete_task` tool (passing `expected_revision`).",
        );
        Ok(user_prompt(format!("Guidance for the task \"{}\"", task.name), text))
    }

    async fn analyze_bottlenecks_text(
        &self,
        args: &AnalyzeBottlenecksArgs,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<GetPromptResult, Failure> {
        let (scope, team) = self.caller(ctx)?;
        let report = match &args.playbook_id {
            None => self.overview(&scope, &team, ReportKind::Bottlenecks).await?,
            Some(id) => {
                // A playbook the caller does not see is not found, as everywhere.
                self.app.engine.playbook(&scope, &PlaybookId::from(id.as_str())).await?;
                let filter = orgata_reports::filter_of(None, Some(id.as_str()), None, None, None, false)?;
                self.app.team_report(&scope, &team, ReportKind::Bottlenecks, &filter, &ReportOptions::default()).await?
            }
        };
        // What departs from history, and what is likely to go wrong next, beside it.
        let anomalies = self.overview(&scope, &team, ReportKind::Anomalies).await?;
        let mut ahead = String::new();
        match self.app.team_predictions(&scope, &team, true).await {
            Ok(p) if p.cases.is_empty() => ahead.push_str("No running process is at risk of its case target.\n"),
            Ok(p) => {
                let _ = writeln!(ahead, "{} running processes are at risk of their case target:", p.cases.len());
                for case in p.cases.iter().take(AT_RISK_IN_PROMPT) {
                    let _ = writeln!(ahead, "- process {}: {}", case.case_id, case.reason);
                }
            }
            Err(e) => {
                let _ = writeln!(ahead, "No forecasts: {}", e.detail);
            }
        }
        let text = format!(
            "This is the bottleneck report of the team's processes{}:\n\n{}\nWhat is unusual (the anomalies \
             report):\n{}\nWhat is ahead (the prediction model's forecasts):\n{ahead}\nExplain where the time goes \
             and why, which findings matter most, and what the team could change first. Use the `run_sql` tool to \
             look closer (tables `events`, `tasks`, `instances`), `list_anomalies` and `predict_case` for more.",
            args.playbook_id.as_deref().map(|p| format!(" of playbook {p}")).unwrap_or_default(),
            report.to_text(),
            anomalies.to_text(),
        );
        Ok(user_prompt("Analyse the team's bottlenecks".to_string(), text))
    }
}
