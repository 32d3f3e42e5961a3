//! The MCP server handler: who is calling (an engine `Scope` from an API key), what the server
//! offers, and how failures reach the agent.

use crate::app::{App, AppError};
use orgata_engine::{Scope, TeamId};
use rmcp::handler::server::router::{prompt::PromptRouter, tool::ToolRouter};
use rmcp::model::{
    CallToolResult, ContentBlock, Implementation, InitializeResult, ListResourceTemplatesResult, ListResourcesResult,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, prompt_handler, tool_handler};
use serde::Serialize;

/// What an agent is told when it connects.
const INSTRUCTIONS: &str = "Orgata runs a team's processes (instances of playbooks, made of tasks) and analyses how \
they run. Read `team://current` for who is in the team, `tasks://assigned` for your work and `processes://active` \
for what is running. Tools start processes, complete and assign tasks, and query analytics (read-only SQL over the \
warehouse, bottlenecks, metrics, comparisons of periods). Everything is limited to the team and permissions of the \
API key you connected with.";

/// The MCP server of one connection: the application every interface calls, and the caller. Over stdio the caller is fixed when the server starts (`ORGATA_API_KEY`); over HTTP
/// every request carries its own API key, authenticated before it reaches the handler (see
/// [`super::http`]), and the handler reads that request's scope.
#[derive(Clone)]
pub struct OrgataMcp {
    pub(super) app: App,
    scope: Option<Scope>,
    tools: ToolRouter<OrgataMcp>,
    prompts: PromptRouter<OrgataMcp>,
}

impl OrgataMcp {
    /// A server acting for `scope`, or, with `None`, for the scope each HTTP request carries.
    pub fn new(app: App, scope: Option<Scope>) -> Self {
        OrgataMcp { app, scope, tools: Self::tool_router(), prompts: Self::prompt_router() }
    }

    /// The caller of a request and the team it acts in: an API key sees exactly one team.
    pub(super) fn caller(&self, ctx: &RequestContext<RoleServer>) -> Result<(Scope, TeamId), Failure> {
        let from_request = ctx
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Scope>())
            .cloned();
        let scope = from_request
            .or_else(|| self.scope.clone())
            .ok_or_else(|| Failure::new("unauthenticated: connect with an Orgata API key"))?;
        let team = match scope.teams().keys().collect::<Vec<_>>().as_slice() {
            [team] => (*team).clone(),
            _ => return Err(Failure::new("this MCP server needs an API key, which acts in exactly one team")),
        };
        Ok((scope, team))
    }
}

/// A failure an agent can act on: what went wrong and, for invalid input, which field.
#[derive(Debug)]
pub struct Failure(pub String);

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Failure(message.into())
    }

    /// As a tool's result: an error the agent sees (not a protocol error).
    pub fn into_tool_result(self) -> CallToolResult {
        CallToolResult::error(vec![ContentBlock::text(self.0)])
    }

    /// As a protocol error (resources and prompts have no error results).
    pub fn into_error(self) -> ErrorData {
        if self.0.starts_with("not-found") {
            ErrorData::resource_not_found(self.0, None)
        } else {
            ErrorData::invalid_params(self.0, None)
        }
    }
}

/// Every failure of the application becomes the same message here: its kind and its words
/// (`validation: the input is invalid (/output/ok: required)`).
impl<E: Into<AppError>> From<E> for Failure {
    fn from(e: E) -> Self {
        let e: AppError = e.into();
        Failure(format!("{}: {e}", e.kind))
    }
}

/// What a tool returns: structured JSON (the same document REST answers with), or an error the
/// agent sees.
pub type ToolResult = Result<CallToolResult, CallToolResult>;

/// A value as a tool's structured result.
pub fn structured<T: Serialize>(value: &T) -> ToolResult {
    serde_json::to_value(value)
        .map(CallToolResult::structured)
        .map_err(|e| Failure::new(format!("internal: the result could not be encoded: {e}")).into_tool_result())
}

/// Runs a tool's body, turning its failure into a tool error.
pub async fn tool<T: Serialize>(body: impl Future<Output = Result<T, Failure>>) -> ToolResult {
    match body.await {
        Ok(value) => structured(&value),
        Err(failure) => Err(failure.into_tool_result()),
    }
}

#[tool_handler(router = self.tools)]
#[prompt_handler(router = self.prompts)]
impl ServerHandler for OrgataMcp {
    fn get_info(&self) -> InitializeResult {
        let capabilities = ServerCapabilities::builder().enable_prompts().enable_resources().enable_tools().build();
        InitializeResult::new(capabilities)
            .with_server_info(Implementation::new("orgata", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let (scope, team) = self.caller(&ctx).map_err(Failure::into_error)?;
        let resources = super::resources::list(self, &scope, &team).await.map_err(Failure::into_error)?;
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(super::resources::templates()))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let (scope, team) = self.caller(&ctx).map_err(Failure::into_error)?;
        let result = super::resources::read(self, &scope, &team, &request.uri).await.map_err(Failure::into_error)?;
        Ok(result.into())
    }
}
