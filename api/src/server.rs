//! `orgata serve`: one HTTP server composing the interfaces — REST (`crate::http`), the web UI
//! (`crate::web`) and MCP over streamable HTTP (`crate::mcp`) — with what every request gets
//! (request ids, tracing, metrics, idempotency, compression, CORS, body limits, timeouts), the
//! warehouse streamer and the model trainer beside them, and graceful shutdown.

use crate::app::{App, AppError};
use crate::config::{Config, MAX_BODY_BYTES, REQUEST_TIMEOUT, redact};
use anyhow::{Context, Result};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method};
use axum::response::IntoResponse;
use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

/// The whole HTTP surface; `stop` ends the MCP sessions (their streams would hold a graceful
/// shutdown open).
pub fn router(app: App, config: &Config, stop: CancellationToken) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let mcp = Router::new()
        .nest_service("/mcp", crate::mcp::http::service(&app, config, stop))
        .layer(axum::middleware::from_fn_with_state(app.clone(), crate::mcp::http::authenticate));
    let routes = Router::new()
        .merge(mcp)
        .merge(crate::http::routes(app.clone()))
        .merge(crate::web::routes(crate::web::WebState::new(app.clone())))
        .fallback(|uri: axum::http::Uri, headers: axum::http::HeaderMap| async move {
            crate::web::not_found(uri.path(), &headers)
                .unwrap_or_else(|| AppError::no_route(uri.path()).into_response())
        })
        .method_not_allowed_fallback(|method: Method, uri: axum::http::Uri| async move {
            let detail = format!("{} does not accept {method}; the Allow header lists what it does", uri.path());
            AppError::new(axum::http::StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", detail)
        })
        .route_layer(axum::middleware::from_fn_with_state(app.clone(), crate::http::idempotency::idempotent))
        .route_layer(axum::middleware::from_fn_with_state(app, crate::http::metrics::track))
        .route_layer(axum::middleware::from_fn(run_to_completion));
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
    routes.layer(
        tower::ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
            .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            })
            // One line per request at info: its status and latency, in the request's span.
            .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)))
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
            AppError::new(
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
    let (app, store) = App::connect(config).await?;
    let (stop_streaming, stopped) = tokio::sync::watch::channel(false);
    let streaming = app.spawn_streamer(store.clone(), stopped.clone());
    let training = app.spawn_trainer(stopped);
    let stop_mcp = CancellationToken::new();
    let service = router(app, config, stop_mcp.clone());
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, database = %redact(&config.database_url), "listening");
    println!("Orgata is listening on http://{addr}");
    axum::serve(listener, service.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            stop_mcp.cancel();
        })
        .await?;
    let _ = stop_streaming.send(true);
    if tokio::time::timeout(std::time::Duration::from_secs(30), streaming).await.is_err() {
        tracing::warn!("the warehouse streamer did not stop within 30 s");
    }
    // A training in progress finishes on its thread; the trainer itself stops at once.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), training).await;
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
