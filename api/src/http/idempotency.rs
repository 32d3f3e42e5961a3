//! `Idempotency-Key` on creating requests (start a process, complete a task, create a playbook): a
//! retry with the same key gets the first response again, marked `Idempotent-Replayed: true`, and
//! creates nothing twice. The same key with a different request is refused (422); a retry while
//! the first is still running is a conflict (409). Keys are per caller and kept 24 hours.

use super::extract::Caller;
use crate::app::App;
use crate::app::AppError;
use crate::config::MAX_BODY_BYTES;
use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use orgata_engine::service::IdempotencyStart;
use sha2::{Digest, Sha256};

/// The routes whose POSTs honour `Idempotency-Key`.
pub const IDEMPOTENT_ROUTES: [&str; 3] =
    ["/v1/teams/{team}/processes", "/v1/tasks/{id}/complete", "/v1/teams/{team}/playbooks"];

/// Largest response kept for replay, in bytes.
const MAX_KEPT_RESPONSE: usize = 4 * 1024 * 1024;

/// Middleware: see the module documentation.
pub async fn idempotent(State(s): State<App>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let applies = request.method() == Method::POST && route.is_some_and(|r| IDEMPOTENT_ROUTES.contains(&r.as_str()));
    let key = request.headers().get("idempotency-key").map(|v| v.to_str().map(str::to_string));
    let key = match (applies, key) {
        (true, Some(Ok(key))) => key,
        (true, Some(Err(_))) => {
            return AppError::invalid_field("Idempotency-Key", "must be 1-255 visible ASCII characters")
                .into_response();
        }
        _ => return next.run(request).await,
    };
    match run(&s, key, request, next).await {
        Ok(response) | Err(response) => response,
    }
}

async fn run(s: &App, key: String, request: Request, next: Next) -> Result<Response, Response> {
    let (mut parts, body) = request.into_parts();
    let Caller(scope) = Caller::from_request_parts(&mut parts, s).await.map_err(IntoResponse::into_response)?;
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
        AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", format!("the body is over {MAX_BODY_BYTES} bytes"))
            .into_response()
    })?;
    let mut hash = Sha256::new();
    hash.update(format!("{} {}\n", parts.method, parts.uri.path()));
    if let Some(m) = parts.headers.get(header::IF_MATCH) {
        hash.update(m.as_bytes());
    }
    hash.update(b"\n");
    hash.update(&bytes);
    let fingerprint = hex::encode(hash.finalize());
    match s.engine.begin_idempotent(&scope, &key, &fingerprint).await {
        Err(e) => Err(AppError::from(e).into_response()),
        Ok(IdempotencyStart::Replay { status, etag, body }) => Ok(replay(status, etag, body)),
        Ok(IdempotencyStart::Run) => {
            parts.extensions.insert(scope.clone());
            let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            let (parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, MAX_KEPT_RESPONSE).await.unwrap_or_default();
            let etag = parts.headers.get(header::ETAG).and_then(|v| v.to_str().ok());
            let kept = if parts.status.is_server_error() {
                s.engine.abandon_idempotent(&scope, &key).await
            } else {
                let body = String::from_utf8_lossy(&bytes);
                s.engine.finish_idempotent(&scope, &key, i32::from(parts.status.as_u16()), etag, &body).await
            };
            if let Err(e) = kept {
                tracing::error!(error = %e, "could not record an idempotent response");
            }
            Ok(Response::from_parts(parts, Body::from(bytes)))
        }
    }
}

/// The first response, again.
fn replay(status: i32, etag: Option<String>, body: String) -> Response {
    let status = u16::try_from(status).ok().and_then(|s| StatusCode::from_u16(s).ok()).unwrap_or(StatusCode::OK);
    let content_type = if status.is_success() { "application/json" } else { "application/problem+json" };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    if let Some(v) = etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
        headers.insert(header::ETAG, v);
    }
    response
}
