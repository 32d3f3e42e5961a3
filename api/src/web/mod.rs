//! The web UI: server-rendered pages (minijinja templates from `api/templates/`, assets from
//! `api/assets/web/`, both compiled into the binary) over the application layer (`crate::app`)
//! that REST and MCP call. A signed-in browser holds its session in two HTTP-only cookies (the
//! access token and the refresh token, see `session.rs`); every form posts to the page it came
//! from and is answered with a redirect, or with the page again showing what was wrong.

mod account;
mod analytics;
mod assets;
mod cache;
mod dashboard;
pub mod form;
mod models;
mod organisation;
mod playbooks;
mod problems;
mod processes;
mod render;
mod session;
mod sql;
pub mod svg;
mod tasks;
mod view;

use crate::app::{App, AppError};
use axum::Router;
use std::sync::Arc;

/// The web UI's state: the application, and what the UI keeps between requests (session
/// renewals in flight, warehouse figures).
#[derive(Clone)]
pub struct WebState {
    app: App,
    sessions: Arc<session::Sessions>,
    figures: Arc<cache::FigureCache>,
}

impl WebState {
    /// The UI's state over `app`, with nothing kept yet.
    pub fn new(app: App) -> Self {
        WebState { app, sessions: Arc::default(), figures: Arc::default() }
    }
}

/// Every page, asset and form of the web UI.
pub fn routes(state: WebState) -> Router {
    let signed_in = Router::new()
        .merge(dashboard::routes())
        .merge(tasks::routes())
        .merge(processes::routes())
        .merge(playbooks::routes())
        .merge(analytics::routes())
        .merge(models::routes())
        .merge(sql::routes())
        .merge(account::routes())
        .merge(organisation::routes())
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), session::require));
    Router::new()
        .merge(signed_in)
        .merge(session::routes())
        .merge(account::public_routes())
        .merge(assets::routes())
        .route_layer(axum::middleware::from_fn(session::same_origin_forms))
        .route_layer(axum::middleware::from_fn(session::flash))
        .route_layer(axum::middleware::from_fn(assets::security_headers))
        .with_state(state)
}

/// A browser asking for a page that does not exist gets the error page in words (an API client
/// gets the problem document).
pub fn not_found(path: &str, headers: &axum::http::HeaderMap) -> Option<axum::response::Response> {
    let wants_html =
        headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
    if !wants_html || path.starts_with("/v1/") || path.starts_with("/mcp") {
        return None;
    }
    let error = AppError::not_found(format!(
        "There is no page at {path}. Check the address, or start again from your dashboard."
    ));
    Some(axum::response::IntoResponse::into_response(render::PageError::Api(error)))
}
