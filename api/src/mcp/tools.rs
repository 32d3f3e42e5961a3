//! The MCP tools: each takes JSON arguments described by a JSON Schema and answers with the same
//! JSON document the REST API gives for the same operation, through the same functions.

use super::server::{Failure, OrgataMcp, ToolResult, tool};
use crate::app::Page;
use crate::app::analytics::{SqlRequest, answer, sql_options};
use crate::app::paging::{decode_cursor, page_limit};
use crate::app::work::{TaskListing, assignee, task_statuses};
use chrono::{DateTime, Utc};
use orgata_engine::{
    CommentId, CompleteTask, Decision, InstanceId, PlaybookId, Scope, StartInstance, TaskId, TeamId, UserId,
};
use orgata_reports::{Filter, ReportKind, ReportOptions, Versus};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// No arguments (anything given is refused, so a misplaced argument is noticed).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArguments {}

/// `list_tasks`' arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListTasks {
    /// Only tasks in these statuses: open, assigned, started, completed, rejected, skipped,
    /// cancelled (all when absent).
    #[serde(default)]
    pub status: Vec<String>,
    /// `me` or a user id: only tasks assigned to them.
    pub assignee: Option<String>,
    /// Only active tasks past their due time.
    #[serde(default)]
    pub overdue: bool,
    /// Only the tasks of this process.
    pub process_id: Option<String>,
    /// Tasks per page (1 to 1000, default 100).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One process.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessRef {
    /// The process (instance) id.
    pub process_id: String,
}

/// `create_process`' arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProcess {
    /// The playbook to run (see `search_playbooks`).
    pub playbook_id: String,
    /// A title (default: the playbook's name and the start time).
    pub title: Option<String>,
    /// The branch whose head to run (default `main`).
    pub branch: Option<String>,
    /// Input data, checked against the playbook's input schema.
    #[serde(default)]
    pub input: Value,
}

/// An approval's decision.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionArg {
    Approve,
    Reject,
}

/// `complete_task`' arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteTaskArgs {
    pub task_id: String,
    /// The step's output, checked against its form schema (default `{}`).
    #[serde(default)]
    pub output: Value,
    /// Required for approvals, refused for other kinds.
    pub decision: Option<DecisionArg>,
    /// The task revision you read; the completion fails if the task changed since.
    pub expected_revision: Option<i64>,
}

/// `assign_task`' arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignTaskArgs {
    pub task_id: String,
    /// `me` or the user id of a member of the team (see `list_team_members`).
    pub assignee_id: String,
    /// The task revision you read; the assignment fails if the task changed since.
    pub expected_revision: Option<i64>,
}

/// `cancel_process`' arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelProcessArgs {
    pub process_id: String,
    /// Why, for the audit trail.
    #[serde(default)]
    pub reason: String,
    /// The process revision you read; the cancellation fails if the process changed since.
    pub expected_revision: Option<i64>,
}

/// `add_comment`' arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddCommentArgs {
    pub process_id: String,
    /// The comment (plain text).
    #[schemars(length(min = 1))]
    pub body: String,
    /// The task of the process it is about, if one.
    pub task_id: Option<String>,
}

/// `edit_comment`' arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EditCommentArgs {
    /// One of your comments (see `get_process_status`).
    pub comment_id: String,
    /// The new text.
    #[schemars(length(min = 1))]
    pub body: String,
}

/// `delete_comment`' arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteCommentArgs {
    pub comment_id: String,
}

/// `start_task`' arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartTaskArgs {
    pub task_id: String,
    /// The task revision you read; starting fails if the task changed since.
    pub expected_revision: Option<i64>,
}

/// `edit_playbook`' arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EditPlaybookArgs {
    pub playbook_id: String,
    /// The whole new definition (steps, forms, assignment rules, SLAs), as `search_playbooks`
    /// shows the current one.
    pub definition: Value,
    /// What changed and why (the version's message).
    #[serde(default)]
    pub message: String,
    /// The revision of `main` you read (`branches` in the playbook); saving fails if someone saved
    /// a version since.
    pub expected_revision: Option<i64>,
}

/// `search_playbooks`' arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchPlaybooks {
    /// Words that must all appear in the playbook's name, description or steps (all playbooks
    /// when empty).
    #[serde(default)]
    pub query: String,
}

/// Which events an analytics tool covers.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportArgs {
    /// Only this playbook's processes.
    pub playbook_id: Option<String>,
    /// Only this playbook version's processes.
    pub version_id: Option<String>,
    /// From this time on (RFC 3339, inclusive).
    #[serde(default, deserialize_with = "time")]
    pub from: Option<DateTime<Utc>>,
    /// Before this time (RFC 3339, exclusive).
    #[serde(default, deserialize_with = "time")]
    pub to: Option<DateTime<Utc>>,
    /// The events' source: `orgata` (the processes run here, the default) or an imported log's.
    pub source: Option<String>,
}

/// `compare_periods`' arguments: the period `[from, to)` against `[versus_from, versus_to)`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComparePeriods {
    /// The period's start (RFC 3339, inclusive; open when absent).
    #[serde(default, deserialize_with = "time")]
    pub from: Option<DateTime<Utc>>,
    /// The period's end (RFC 3339, exclusive; open when absent).
    #[serde(default, deserialize_with = "time")]
    pub to: Option<DateTime<Utc>>,
    /// The other period's start (RFC 3339, inclusive).
    #[serde(default, deserialize_with = "time")]
    pub versus_from: Option<DateTime<Utc>>,
    /// The other period's end (RFC 3339, exclusive).
    #[serde(default, deserialize_with = "time")]
    pub versus_to: Option<DateTime<Utc>>,
    /// Only this playbook's processes, on both sides.
    pub playbook_id: Option<String>,
}

/// An optional RFC 3339 time whose error says what is expected (serde's names neither field nor
/// format).
fn time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let Some(text) = Option::<String>::deserialize(d)? else { return Ok(None) };
    DateTime::parse_from_rfc3339(&text)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|_| serde::de::Error::custom(format!("`{text}` is not an RFC 3339 time like 2026-03-01T00:00:00Z")))
}

/// `list_team_members`' answer.
#[derive(Serialize)]
struct Members {
    team: orgata_engine::Team,
    members: Vec<orgata_engine::Membership>,
}

#[tool_router(vis = "pub(super)")]
impl OrgataMcp {
    #[tool(description = "The team this API key acts in, and its members with their roles.")]
    async fn list_team_members(&self, _: Parameters<NoArguments>, ctx: RequestContext<RoleServer>) -> ToolResult {
        tool(async {
            let (scope, team) = self.caller(&ctx)?;
            let members = self.app.engine.members(&scope, &team).await?;
            Ok(Members { team: self.app.engine.team(&scope, &team).await?, members })
        })
        .await
    }

    #[tool(description = "The team's tasks, newest last, filtered by status, assignee (`me` for yours), process or \
                          overdue; a page of `items` with a `next_cursor`.")]
    async fn list_tasks(&self, Parameters(args): Parameters<ListTasks>, ctx: RequestContext<RoleServer>) -> ToolResult {
        tool(async {
            let (scope, team) = self.caller(&ctx)?;
            let limit = page_limit(args.limit)?;
            let listing = TaskListing {
                statuses: task_statuses(args.status.iter().map(String::as_str))?,
                assignee: args.assignee,
                due_before: None,
                overdue: args.overdue,
                instance_id: args.process_id.map(InstanceId::from),
                after: args.cursor.as_deref().map(decode_cursor).transpose()?.map(TaskId::from),
                limit,
                ..Default::default()
            };
            let tasks = self.app.team_tasks(&scope, &team, listing).await?;
            Ok(Page::of(tasks, limit, |t| t.id.to_string()))
        })
        .await
    }

    #[tool(description = "A process (instance) with every execution of its steps (tasks) and its comments: where it \
                          stands and who has what to do.")]
    async fn get_process_status(
        &self,
        Parameters(args): Parameters<ProcessRef>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        tool(async {
            let (scope, _) = self.caller(&ctx)?;
            Ok(self.app.engine.instance(&scope, &InstanceId::from(args.process_id)).await?)
        })
        .await
    }

    #[tool(description = "The forecast of a running process by its playbook's prediction model (else the team's): \
                          when it will likely \
                          finish (with an interval), its likeliest next steps with their probabilities, the risk of \
                          exceeding the model's case target, and why in one sentence.")]
    async fn predict_case(
        &self,
        Parameters(args): Parameters<ProcessRef>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        tool(async {
            let (scope, _) = self.caller(&ctx)?;
            let (model, prediction) = self.app.process_prediction(&scope, &InstanceId::from(args.process_id)).await?;
            Ok(json!({ "prediction": prediction, "model": model }))
        })
        .await
    }

    #[tool(description = "The team's running processes likely (50% or more) to exceed the prediction model's case \
                          target, the likeliest first, each with its forecast and why.")]
    async fn list_at_risk_cases(&self, ctx: RequestContext<RoleServer>) -> ToolResult {
        tool(async {
            let (scope, team) = self.caller(&ctx)?;
            Ok(self.app.team_predictions(&scope, &team, true).await?)
        })
        .await
    }

    #[tool(description = "Starts a process of one of the team's playbooks; answers with the new process and its \
                          first tasks.")]
    async fn create_process(
        &self,
        Parameters(args): Parameters<CreateProcess>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        tool(async {
            let (scope, team) = self.caller(&ctx)?;
            let req = StartInstance {
                playbook_id: PlaybookId::from(args.playbook_id),
                branch: args.branch,
                title: args.title,
                input: args.input,
            };
            Ok(self.app.start_process(&scope, &team, req).await?)
        })
        .await
    }

    #[tool(description = "Completes a task with its output (checked against the step's form) and, for approvals, a \
                          decision; answers with the task, its process and the tasks that became ready.")]
    async fn complete_task(
        &self,
        Parameters(args): Parameters<CompleteTaskArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        tool(async {
            let (scope, _) = self.caller(&ctx)?;
            let decision = args.decision.map(|d| match d {
                DecisionArg::Approve => Decision::Approve,
                DecisionArg::Reject => Decision::Reject,
            });
            let req = CompleteTask { output: args.output, decision, expected_revision: args.expected_revision };
            Ok(self.app.complete_task(&scope, &TaskId::from(args.task_id), req).await?)
        })
        .await
    }

    #[tool(description = "Assigns (or reassigns) a task to a member of the team, or to yourself with `me`.")]
    async fn assign_task(
        &self,
        Parameters(args): Parameters<AssignTaskArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        tool(async {
            let (scope, _) = self.caller(&ctx)?;
            let user = assignee(&scope, Some(args.assignee_id.as_str()))
                .unwrap_or_else(|| UserId::from(args.assignee_id.as_str()));
            let task = TaskId::from(args.task_id);
            Ok(self.app.engine.assign_task(&scope, &task, &user, args.expected_revision).await?)
        })
        .await
    }

    #[tool(description = "Starts work on a task: it is yours (an unassigned one is claimed first) and its clock \
                          of work starts.")]
    async fn start_task(
        &self,
        Parameters(args): Parameters<StartTaskArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        tool(async {
            let (scope, _) = self.caller(&ctx)?;
            Ok(self.app.engine.start_task(&scope, &TaskId::from(args.task_id), args.expected_revision).await?)
        })
        .await
    }

    #[tool(description = "Cancels a running process and every task still open in it, with the reason for the \
                          audit trail.")]
    async fn cancel_process(
        &self,
        Parameters(args): Parameters<CancelProcessArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        tool(async {
            let (scope, _) = self.caller(&ctx)?;
            let id = InstanceId::from(args.process_id);
            Ok(self.app.engine.cancel_instance(&scope, &id, args.expected_revision, &args.reason).await?)
        })
        .await
    }

    #[tool(description = "Comments on a process, or on one of its tasks, for the people working on it.")]
    async fn add_comment(
        &self,
        Parameters(args): Parameters<AddCommentArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        tool(async {
            let (scope, _) = self.caller(&ctx)?;
            let task = args.task_id.map(TaskId::from);
            let process = InstanceId::from(args.process_id);
            Ok(self.app.engine.add_comment(&scope, &process, task.as_ref(), &args.body).await?)
        })
        .await
    }

    #[tool(description = "Changes the text of one of your comments.")]
    async fn edit_comment(
        &self,
        Parameters(args): Parameters<EditCommentArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        tool(async {
            let (scope, _) = self.caller(&ctx)?;
            Ok(self.app.engine.edit_comment(&scope, &CommentId::from(args.comment_id), &args.body).await?)
        })
        .await
    }

    #[tool(description = "Deletes one of your comments; answers with the id of the deleted comment.")]
    async fn delete_comment(
        &self,
        Parameters(args): Parameters<DeleteCommentArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        tool(async {
            let (scope, _) = self.caller(&ctx)?;
            let id = CommentId::from(args.comment_id);
            self.app.engine.delete_comment(&scope, &id).await?;
            Ok(json!({ "deleted": id }))
        })
        .await
    }

    #[tool(description = "How the organisation keeps time: its time zone, working days, working hours and the \
                          day weeks start on. Count due dates and working time in these.")]
    async fn organisation_settings(&self, _: Parameters<NoArguments>, ctx: RequestContext<RoleServer>) -> ToolResult {
        tool(async {
            let (scope, _) = self.caller(&ctx)?;
            Ok(self.app.engine.organisation_settings(&scope).await?)
        })
        .await
    }

    #[tool(description = "Saves a new version of a playbook's definition on its `main` branch (processes started \
                          from then on follow it); answers with the playbook and its versions.")]
    async fn edit_playbook(
        &self,
        Parameters(args): Parameters<EditPlaybookArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        tool(async {
            let (scope, _) = self.caller(&ctx)?;
            let id = PlaybookId::from(args.playbook_id);
            // A playbook the key does not see (its scope holds its one team) is not found before
            // the definition is judged.
            self.app.engine.playbook(&scope, &id).await?;
            let main = orgata_engine::service::MAIN_BRANCH;
            self.app.commit_version(&scope, &id, main, args.definition, &args.message, args.expected_revision).await?;
            Ok(self.app.engine.playbook(&scope, &id).await?)
        })
        .await
    }

    #[tool(description = "The team's playbooks (process definitions) whose name, description or steps contain every \
                          word of the query, each with its current definition.")]
    async fn search_playbooks(
        &self,
        Parameters(args): Parameters<SearchPlaybooks>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        tool(async {
            let (scope, team) = self.caller(&ctx)?;
            let playbooks = self.app.engine.search_playbooks(&scope, Some(&team), &args.query).await?;
            Ok(json!({ "playbooks": playbooks }))
        })
        .await
    }

    #[tool(description = "Runs one read-only SQL query (SELECT, WITH, EXPLAIN) over the team's warehouse: events, \
                          instances, tasks, playbooks, playbook_versions, teams, memberships, users and their \
                          `_history`. At most 10,000 rows and 30 s.")]
    async fn run_sql(&self, Parameters(args): Parameters<SqlRequest>, ctx: RequestContext<RoleServer>) -> ToolResult {
        tool(async {
            let (scope, team) = self.caller(&ctx)?;
            let (max_rows, engine) = sql_options(args.max_rows, args.engine.as_deref())?;
            let result = self.app.team_query(&scope, &team, &args.sql, max_rows, engine).await?;
            Ok(answer(&result)?)
        })
        .await
    }

    #[tool(description = "The bottleneck report: where cycle time goes (activities and transitions by share, \
                          waiting against working), queues and their trend, and findings in sentences.")]
    async fn get_bottlenecks(
        &self,
        Parameters(args): Parameters<ReportArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        tool(self.report(&ctx, ReportKind::Bottlenecks, &args, Versus::default())).await
    }

    #[tool(description = "Key metrics of the team's processes (the `cases` report): how many cases and events, case \
                          durations (mean, median, p90, p95, min, max) and the arrival rate.")]
    async fn get_metrics(
        &self,
        Parameters(args): Parameters<ReportArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        tool(self.report(&ctx, ReportKind::Cases, &args, Versus::default())).await
    }

    #[tool(description = "Cases and steps unlike their history (the `anomalies` report): cases whose time between \
                          two activities lies beyond 3 standard deviations of the temporal profile, cases far \
                          longer than usual, with unusual rework or a path no other case followed, and steps \
                          slower over the last 14 days than before — each as a sentence.")]
    async fn list_anomalies(
        &self,
        Parameters(args): Parameters<ReportArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        tool(self.report(&ctx, ReportKind::Anomalies, &args, Versus::default())).await
    }

    #[tool(description = "Compares two periods (the `compare` report): case and activity figures of [from, to) \
                          against [versus_from, versus_to), with the notable changes in sentences.")]
    async fn compare_periods(
        &self,
        Parameters(args): Parameters<ComparePeriods>,
        ctx: RequestContext<RoleServer>,
    ) -> ToolResult {
        if args.versus_from.is_none() && args.versus_to.is_none() {
            let failure = Failure::new("validation: give the other period as `versus_from` and/or `versus_to`");
            return Err(failure.into_tool_result());
        }
        let versus = Versus { from: args.versus_from, to: args.versus_to, ..Versus::default() };
        let range = ReportArgs { playbook_id: args.playbook_id, from: args.from, to: args.to, ..ReportArgs::default() };
        tool(self.report(&ctx, ReportKind::Compare, &range, versus)).await
    }
}

impl OrgataMcp {
    /// A report over the caller's team, as REST computes it.
    async fn report(
        &self,
        ctx: &RequestContext<RoleServer>,
        kind: ReportKind,
        args: &ReportArgs,
        versus: Versus,
    ) -> Result<orgata_reports::ReportOutput, Failure> {
        let (scope, team) = self.caller(ctx)?;
        let filter = report_filter(args)?;
        let options = ReportOptions { versus, ..ReportOptions::default() };
        Ok(self.app.team_report(&scope, &team, kind, &filter, &options).await?)
    }

    /// A report over all of the team's processes (for resources and prompts).
    pub(super) async fn overview(
        &self,
        scope: &Scope,
        team: &TeamId,
        kind: ReportKind,
    ) -> Result<orgata_reports::ReportOutput, Failure> {
        let options = ReportOptions::default();
        Ok(self.app.team_report(scope, team, kind, &Filter::engine(), &options).await?)
    }
}

/// The events a report covers, as REST reads them from its query.
fn report_filter(args: &ReportArgs) -> Result<Filter, Failure> {
    let ReportArgs { playbook_id, version_id, from, to, source } = args;
    Ok(orgata_reports::filter_of(source.as_deref(), playbook_id.as_deref(), version_id.as_deref(), *from, *to, false)?)
}
