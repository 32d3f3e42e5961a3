//! MCP's streamable HTTP transport at `/mcp` on `orgata serve`: every request authenticated by a
//! bearer API key (a 401 problem without one), `Host` and `Origin` checked against the configured
//! lists (DNS rebinding), sessions ended when the server shuts down.

use super::OrgataMcp;
use crate::app::request::client_address;
use crate::app::{App, AppError};
use crate::config::Config;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use orgata_engine::EngineError;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

/// The `/mcp` service: one [`OrgataMcp`] per session, on the server's application.
pub fn service(
    app: &App,
    config: &Config,
    stop: CancellationToken,
) -> StreamableHttpService<OrgataMcp, LocalSessionManager> {
    let mut settings = StreamableHttpServerConfig::default()
        .with_cancellation_token(stop)
        .with_max_request_body_bytes(crate::config::MAX_BODY_BYTES);
    if config.mcp_allowed_hosts.iter().any(|h| h == "*") {
        settings = settings.disable_allowed_hosts();
    } else if !config.mcp_allowed_hosts.is_empty() {
        settings = settings.with_allowed_hosts(config.mcp_allowed_hosts.clone());
    }
    if !config.mcp_allowed_origins.is_empty() {
        settings = settings.with_allowed_origins(config.mcp_allowed_origins.clone());
    }
    let app = app.clone();
    StreamableHttpService::new(
        move || Ok(OrgataMcp::new(app.clone(), None)),
        LocalSessionManager::default().into(),
        settings,
    )
}

/// Authenticates every MCP request by its bearer API key and hands the caller's scope to the
/// handler (in the request's extensions); without a valid key, a 401 problem.
pub async fn authenticate(State(app): State<App>, mut request: Request, next: Next) -> Response {
    let header = request.headers().get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let Some(key) = header.and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer "))) else {
        let why = "send `Authorization: Bearer <API key>`; MCP clients authenticate with an Orgata API key";
        return AppError::from(EngineError::Unauthenticated(why.into())).into_response();
    };
    match app.engine.authenticate_api_key(key.trim()).await {
        Ok(scope) => {
            let (parts, body) = request.into_parts();
            let scope = match client_address(&parts) {
                Some(addr) => scope.with_source(addr),
                None => scope,
            };
            request = Request::from_parts(parts, body);
            request.extensions_mut().insert(scope);
            next.run(request).await
        }
        Err(e) => AppError::from(e).into_response(),
    }
}
