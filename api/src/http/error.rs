//! Errors over HTTP: every failure is an RFC 9457 problem document (`application/problem+json`)
//! with a stable `type`, a human `detail` and, for validation errors, the offending fields. This is
//! the one place engine errors meet status codes.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use orgata_engine::{EngineError, FieldProblem};
use serde::Serialize;

/// The prefix of every problem type URI.
pub const PROBLEM_BASE: &str = "https://orgata.dev/problems/";

/// A problem to report to the client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// The last segment of the problem type, like `not-found`.
    pub kind: &'static str,
    pub detail: String,
    pub errors: Vec<FieldProblem>,
    pub retry_after: Option<i64>,
}

/// An RFC 9457 problem document, as every error response carries it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A stable, machine-readable URI: `https://orgata.dev/problems/<kind>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong, for people.
    pub detail: String,
    /// For validation errors: each offending field (a JSON pointer) and what is wrong with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblemDoc>,
}

/// One offending field of a validation error.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FieldProblemDoc {
    pub field: String,
    pub message: String,
}

impl ApiError {
    /// A problem with a status, a type and a detail.
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        Self { status, kind, detail: detail.into(), errors: Vec::new(), retry_after: None }
    }

    /// A malformed request (unparsable body, query or header).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    /// Input that parses but is wrong, naming the offending field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        let problem = FieldProblem { field: field.to_string(), message: message.into() };
        Self {
            errors: vec![problem],
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", "the input is invalid")
        }
    }

    /// A path this server does not serve.
    pub fn no_route(path: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", format!("no resource at {path}"))
    }

    /// A stale `If-Match`: the resource changed since the client read it.
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED, "precondition-failed", detail)
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        use EngineError::*;
        let detail = e.to_string();
        match e {
            NotFound { .. } => Self::new(StatusCode::NOT_FOUND, "not-found", detail),
            Conflict { .. } => Self::new(StatusCode::CONFLICT, "conflict", detail),
            InvalidTransition { .. } => Self::new(StatusCode::CONFLICT, "invalid-transition", detail),
            AlreadyExists { .. } => Self::new(StatusCode::CONFLICT, "already-exists", detail),
            Validation(problems) => Self {
                errors: problems,
                ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", "the input is invalid")
            },
            Definition(d) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-definition", d.to_string()),
            Forbidden(_) => Self::new(StatusCode::FORBIDDEN, "forbidden", detail),
            Unauthenticated(_) => Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail),
            Throttled { retry_after_secs, .. } => Self {
                retry_after: Some(retry_after_secs),
                ..Self::new(StatusCode::TOO_MANY_REQUESTS, "throttled", detail)
            },
            TooLarge { .. } => Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", detail),
            Storage(_) | Migration(_) | Corrupt(_) | Config(_) => {
                tracing::error!(error = %detail, "internal error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "an internal error occurred; it was logged")
            }
        }
    }
}

impl From<orgata_warehouse::WarehouseError> for ApiError {
    fn from(e: orgata_warehouse::WarehouseError) -> Self {
        use orgata_warehouse::WarehouseError::*;
        let detail = e.to_string();
        match e {
            NotReadOnly(_) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "not-read-only", detail),
            Query(_) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-query", detail),
            TooComplex(_) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "query-too-complex", detail),
            Failed(_) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "query-failed", detail),
            Timeout(_) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "query-timeout", detail),
            Location { .. } | Delta { .. } | Concurrent { .. } | Rows { .. } | Store(_) => {
                tracing::error!(error = %detail, "warehouse error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "an internal error occurred; it was logged")
            }
        }
    }
}

impl From<orgata_reports::ReportError> for ApiError {
    fn from(e: orgata_reports::ReportError) -> Self {
        use orgata_reports::ReportError::*;
        match e {
            InvalidFilter(_) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-filter", e.to_string()),
            TooLarge(_) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "too-large", e.to_string()),
            Warehouse(e) => Self::from(e),
            Shape(_) => {
                tracing::error!(error = %e, "report error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "an internal error occurred; it was logged")
            }
        }
    }
}

impl From<orgata_ingest::IngestError> for ApiError {
    fn from(e: orgata_ingest::IngestError) -> Self {
        use orgata_ingest::IngestError::*;
        match e {
            Import { .. } => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-log", e.to_string()),
            Warehouse(e) => Self::from(*e),
            Engine(e) => Self::from(e),
            LeaseHeld => Self::new(StatusCode::CONFLICT, "busy", e.to_string()),
            Avro(_) | Store(_) | Malformed(_) => {
                tracing::error!(error = %e, "ingest error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "an internal error occurred; it was logged")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error").to_string();
        let errors = self.errors.into_iter().map(|p| FieldProblemDoc { field: p.field, message: p.message }).collect();
        let body = Problem {
            kind: format!("{PROBLEM_BASE}{}", self.kind),
            title,
            status: self.status.as_u16(),
            detail: self.detail,
            errors,
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (self.status, json).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}

/// A handler's result.
pub type ApiResult<T> = Result<T, ApiError>;
