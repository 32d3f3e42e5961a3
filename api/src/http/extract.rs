//! Request extractors: the authenticated caller, JSON bodies and queries with problem+json
//! rejections, and `If-Match` revisions.

use crate::app::request::client_address;
use crate::app::{App, AppError};
use crate::config::MAX_BODY_BYTES;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use orgata_engine::Scope;
use serde::de::DeserializeOwned;

/// The authenticated caller: `Authorization: Bearer <access token or API key>`.
pub struct Caller(pub Scope);

impl FromRequestParts<App> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &App) -> Result<Self, AppError> {
        // Already authenticated by a middleware of this request (see `idempotency.rs`).
        if let Some(scope) = parts.extensions.get::<Scope>() {
            return Ok(Caller(scope.clone()));
        }
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let Some(token) = header.and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer "))) else {
            return Err(AppError::from(orgata_engine::EngineError::Unauthenticated(
                "send `Authorization: Bearer <access token or API key>`".into(),
            )));
        };
        let scope = state.engine.authenticate_bearer(token.trim()).await?;
        Ok(Caller(match client_address(parts) {
            Some(addr) => scope.with_source(addr),
            None => scope,
        }))
    }
}

/// A JSON body: one that is not JSON is a 400 problem, JSON of the wrong shape a 422 naming the
/// offending field, a body that is not `application/json` 415, one over the limit 413.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        // A body declared too large is refused before it is read.
        let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
        if let Some(len) = declared.filter(|len| *len > MAX_BODY_BYTES) {
            let detail = format!("the body is {len} bytes, over the limit of {}", MAX_BODY_BYTES);
            return Err(AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", detail));
        }
        if !is_json(req.headers()) {
            let detail = "send the body as JSON, with `Content-Type: application/json`";
            return Err(AppError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", detail));
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            let kind = if status == StatusCode::PAYLOAD_TOO_LARGE { "too-large" } else { "bad-request" };
            let status = if kind == "bad-request" { StatusCode::BAD_REQUEST } else { status };
            AppError::new(status, kind, rejection.body_text())
        })?;
        parse_json(&bytes).map(Json)
    }
}

/// Whether the request says its body is JSON (`application/json` or `application/*+json`).
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(mime) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON body: a syntax error is a 400; valid JSON of the wrong shape, or text holding the
/// NUL character (which no database column keeps), a 422 whose field is the path to the offending
/// value (`steps/0/kind`; `body` for the document itself).
fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| not_json(&e))?;
    if let Some(path) = nul_text(&value, &mut Vec::new()) {
        return Err(AppError::invalid_field(&field_of(&path), "text must not contain the NUL character (U+0000)"));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path: Vec<String> = e
            .path()
            .iter()
            .filter_map(|segment| match segment {
                serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
                serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        AppError::invalid_field(&field_of(&path), e.into_inner().to_string())
    })
}

/// A problem's field for a path into the body: `steps/0/kind`, or `body` for the document itself.
fn field_of(path: &[String]) -> String {
    if path.is_empty() { "body".to_string() } else { path.join("/") }
}

/// The path to the first string or key in `value` holding a NUL character.
fn nul_text(value: &serde_json::Value, path: &mut Vec<String>) -> Option<Vec<String>> {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('\0') => Some(path.clone()),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| {
            path.push(i.to_string());
            let found = nul_text(v, path);
            path.pop();
            found
        }),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            path.push(k.clone());
            let found = if k.contains('\0') { Some(path.clone()) } else { nul_text(v, path) };
            path.pop();
            found
        }),
        _ => None,
    }
}

fn not_json(e: &serde_json::Error) -> AppError {
    AppError::bad_request(format!("the body is not valid JSON: {e}"))
}

/// Query parameters; malformed ones are a 400 problem.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(rejection) => Err(AppError::bad_request(rejection.body_text())),
        }
    }
}

/// The revision an `If-Match: "<revision>"` header names (required where a write could lose an
/// edit); `If-Match: *` (any current version, RFC 9110) gives `None`.
pub struct IfMatch(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        match if_match(parts)? {
            Some(revision) => Ok(IfMatch(revision)),
            None => Err(AppError::new(
                StatusCode::PRECONDITION_REQUIRED,
                "precondition-required",
                "send `If-Match` with the ETag you read, so that no edit is lost",
            )),
        }
    }
}

/// `If-Match` where it is optional: the revision, when one is named.
pub struct OptionalIfMatch(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for OptionalIfMatch {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        Ok(OptionalIfMatch(if_match(parts)?.flatten()))
    }
}

/// The header, if sent: `Some(None)` for `*`, `Some(Some(n))` for the ETag `"n"`.
fn if_match(parts: &Parts) -> Result<Option<Option<i64>>, AppError> {
    let Some(value) = parts.headers.get(header::IF_MATCH) else { return Ok(None) };
    let text = value.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(Some(None));
    }
    // An entity tag is quoted (RFC 9110 §8.8.3), optionally weak: `"3"` or `W/"3"`.
    let opaque = text.strip_prefix("W/").unwrap_or(text);
    let revision = opaque
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .filter(|t| (1..=18).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<i64>().ok());
    revision
        .map(|r| Some(Some(r)))
        .ok_or_else(|| AppError::invalid_field("If-Match", format!("`{text}` is not an ETag of ours, like `\"3\"`")))
}

/// `If-Match` where it is required, as the OpenAPI document declares it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfMatchHeader {
    /// The ETag read, like `"3"`, or `*` for whatever version is current.
    #[param(rename = "If-Match", pattern = r#"^(\*|(W/)?"[0-9]{1,18}")$"#)]
    pub if_match: String,
}

/// `If-Match` where it is optional, as the OpenAPI document declares it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct OptionalIfMatchHeader {
    /// The ETag read, like `"3"`, or `*` for whatever version is current.
    #[param(rename = "If-Match", value_type = String, required = false, pattern = r#"^(\*|(W/)?"[0-9]{1,18}")$"#)]
    pub if_match: Option<String>,
}

/// `Idempotency-Key` on a creating request, as the OpenAPI document declares it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKeyHeader {
    /// Makes a retry with the same key return the first response (kept 24 hours).
    #[param(rename = "Idempotency-Key", value_type = String, required = false, pattern = "^[!-~]{1,255}$")]
    pub idempotency_key: Option<String>,
}

/// The ETag of a revision.
pub fn etag(revision: i64) -> String {
    format!("\"{revision}\"")
}
