//! Request extractors: the authenticated caller, JSON bodies and queries with problem+json
//! rejections, `If-Match` revisions, and opaque pagination cursors.

use super::AppState;
use super::error::ApiError;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use orgata_engine::Scope;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;

/// The authenticated caller: `Authorization: Bearer <access token or API key>`.
pub struct Caller(pub Scope);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Already authenticated by a middleware of this request (see `idempotency.rs`).
        if let Some(scope) = parts.extensions.get::<Scope>() {
            return Ok(Caller(scope.clone()));
        }
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let Some(token) = header.and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer "))) else {
            return Err(ApiError::from(orgata_engine::EngineError::Unauthenticated(
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

/// Checks that the caller sees `team` (from their scope, without a database round trip): a team
/// they do not see is not found.
pub fn visible(scope: &Scope, team: &orgata_engine::TeamId) -> Result<(), ApiError> {
    match scope.grant(team) {
        Some(_) => Ok(()),
        None => Err(orgata_engine::EngineError::not_found("team", team).into()),
    }
}

/// The client's address, as the connection shows it.
pub fn client_address(parts: &Parts) -> Option<String> {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(a)| a.ip().to_string())
}

/// The client's address, as an extractor.
pub struct ClientAddress(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(client_address(parts)))
    }
}

/// A JSON body; a malformed one is a 400 problem naming what is wrong.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        // A body declared too large is refused before it is read.
        let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
        if let Some(len) = declared.filter(|len| *len > super::MAX_BODY_BYTES) {
            let detail = format!("the body is {len} bytes, over the limit of {}", super::MAX_BODY_BYTES);
            return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", detail));
        }
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(rejection) => {
                let status = rejection.status();
                let kind = match status {
                    StatusCode::PAYLOAD_TOO_LARGE => "too-large",
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
                    _ => "bad-request",
                };
                let status = if kind == "bad-request" { StatusCode::BAD_REQUEST } else { status };
                Err(ApiError::new(status, kind, rejection.body_text()))
            }
        }
    }
}

/// Query parameters; malformed ones are a 400 problem.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(rejection) => Err(ApiError::bad_request(rejection.body_text())),
        }
    }
}

/// The revision an `If-Match: "<revision>"` header names (required where a write could lose an
/// edit); `If-Match: *` (any current version, RFC 9110) gives `None`.
pub struct IfMatch(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        match if_match(parts)? {
            Some(revision) => Ok(IfMatch(revision)),
            None => Err(ApiError::new(
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
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(OptionalIfMatch(if_match(parts)?.flatten()))
    }
}

/// The header, if sent: `Some(None)` for `*`, `Some(Some(n))` for the ETag `"n"`.
fn if_match(parts: &Parts) -> Result<Option<Option<i64>>, ApiError> {
    let Some(value) = parts.headers.get(header::IF_MATCH) else { return Ok(None) };
    let text = value.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(Some(None));
    }
    let revision = text.trim_start_matches("W/").trim_matches('"').parse::<i64>();
    revision
        .map(|r| Some(Some(r)))
        .map_err(|_| ApiError::bad_request(format!("`If-Match: {text}` is not an ETag of ours")))
}

/// The ETag of a revision.
pub fn etag(revision: i64) -> String {
    format!("\"{revision}\"")
}

/// An opaque cursor: the last id of a page.
pub fn encode_cursor(last_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(last_id)
}

/// The id an opaque cursor stands for.
pub fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ApiError::bad_request("`cursor` is not one this API returned"))
}
