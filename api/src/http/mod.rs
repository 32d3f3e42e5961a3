//! `orgata serve`: the REST API (`/v1`), MCP over streamable HTTP (`/mcp`, see `crate::mcp`),
//! health endpoints, and the server around them — request ids, tracing, compression, CORS, body
//! limits, timeouts and graceful shutdown.

pub mod analytics;
mod docs;
pub mod error;
pub mod events;
pub mod extract;
mod idempotency;
mod identity;
mod imports;
pub mod metrics;
pub mod openapi;
mod ops;
pub mod processes;
pub mod sql;
mod teams;

use crate::config::Config;
use anyhow::{Context, Result};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method};
use axum::response::IntoResponse;
use orgata_engine::{Engine, SystemClock};
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Largest request body accepted, in bytes (the engine's own payload limits are lower).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Longest a request may take before it is answered with 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub warehouse: orgata_warehouse::Warehouse,
    pub metrics: Arc<metrics::Metrics>,
    pub web: Arc<crate::web::WebState>,
}

impl AppState {
    /// The state of a server on `engine` and `warehouse`.
    pub fn new(engine: Engine, warehouse: orgata_warehouse::Warehouse) -> Self {
        AppState { engine: Arc::new(engine), warehouse, metrics: Arc::default(), web: Arc::default() }
    }
}

/// A page of a list, with the cursor of the next page (none on the last).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page of at most `limit` items, `id` giving each item's cursor.
    pub fn of(items: Vec<T>, limit: i64, id: impl Fn(&T) -> String) -> Self {
        let next_cursor = match items.last() {
            Some(last) if items.len() as i64 >= limit => Some(extract::encode_cursor(&id(last))),
            _ => None,
        };
        Page { items, next_cursor }
    }
}

/// The whole HTTP surface; `stop` ends the MCP sessions (their streams would hold a graceful
/// shutdown open).
pub fn router(state: AppState, config: &Config, stop: CancellationToken) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let mcp = Router::new()
        .nest_service("/mcp", crate::mcp::http::service(&state, config, stop))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::mcp::http::authenticate));
    let api = Router::new()
        .merge(mcp)
        .merge(identity::routes())
        .merge(teams::routes())
        .merge(sql::routes())
        .merge(analytics::routes())
        .merge(imports::routes())
        .merge(processes::routes())
        .merge(events::routes())
        .merge(ops::routes())
        .merge(docs::routes())
        .merge(crate::web::routes(&state))
        .route("/metrics", axum::routing::get(metrics::render))
        .route("/openapi.json", axum::routing::get(openapi::document))
        .fallback(|uri: axum::http::Uri, headers: axum::http::HeaderMap| async move {
            crate::web::not_found(uri.path(), &headers)
                .unwrap_or_else(|| error::ApiError::no_route(uri.path()).into_response())
        })
        .method_not_allowed_fallback(|method: Method, uri: axum::http::Uri| async move {
            let detail = format!("{} does not accept {method}; the Allow header lists what it does", uri.path());
            error::ApiError::new(axum::http::StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", detail)
        })
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::idempotent))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .route_layer(axum::middleware::from_fn(run_to_completion))
        .with_state(state);
    let cors_origins = &config.cors_origins;
    let cors = if cors_origins.is_empty() {
        CorsLayer::new()
    } else {
        let origins: Vec<HeaderValue> = cors_origins.iter().filter_map(|o| o.parse().ok()).collect();
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allow_headers(tower_http::cors::Any)
            .expose_headers([axum::http::header::ETAG, request_id.clone()])
    };
    api.layer(
        tower::ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
            .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }))
            .layer(PropagateRequestIdLayer::new(request_id))
            .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
            .layer(cors)
            .layer(CompressionLayer::new())
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
    )
}

/// Runs each request on its own task, so that a client hanging up (which drops the request's
/// future) cannot stop a handler half-way through a database transaction: it finishes, commits or
/// rolls back, and only its response is discarded. (Dropping sqlx futures mid-transaction leaves a
/// pooled connection's idea of its transaction state out of step with the server's.)
async fn run_to_completion(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "request task failed");
            error::ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the request failed; it was logged",
            )
            .into_response()
        }
    }
}

/// Runs the server until SIGINT or SIGTERM, then stops accepting and lets in-flight requests
/// finish.
pub async fn serve(config: &Config) -> Result<()> {
    let store = orgata_engine::connect(&config.database_url).await?;
    let engine =
        Engine::new(store.clone(), Arc::new(SystemClock)).with_signing_keys(crate::keys::signing_keys(config)?);
    let warehouse = config.warehouse()?;
    let state = AppState::new(engine, warehouse.clone());
    let (stop_streaming, stopped) = tokio::sync::watch::channel(false);
    let streaming = tokio::spawn(crate::streaming::run(store.clone(), warehouse, state.metrics.clone(), stopped));
    let stop_mcp = CancellationToken::new();
    let app = router(state, config, stop_mcp.clone());
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, database = %crate::cli::redact(&config.database_url), "listening");
    println!("Orgata is listening on http://{addr}");
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            stop_mcp.cancel();
        })
        .await?;
    let _ = stop_streaming.send(true);
    if tokio::time::timeout(std::time::Duration::from_secs(30), streaming).await.is_err() {
        tracing::warn!("the warehouse streamer did not stop within 30 s");
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
