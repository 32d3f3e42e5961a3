//! `GET /metrics` and the middleware that counts and times every request (the counters themselves
//! live in `app::metrics`).

use crate::app::App;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;

/// Middleware: counts and times every request under its route template (`/v1/tasks/{id}`, so
/// ids do not explode the label set; requests that match no route are not counted).
pub async fn track(State(s): State<App>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let route = request.extensions().get::<MatchedPath>().map_or("", |p| p.as_str()).to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    s.metrics.observe(&method, &route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

/// The exposition.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain")), security(()))]
pub async fn render(State(s): State<App>) -> Response {
    let body = s.metrics.exposition(s.engine.store().pool_stats());
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}
