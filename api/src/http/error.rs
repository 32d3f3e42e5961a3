//! Errors over HTTP: every failure is an RFC 9457 problem document (`application/problem+json`)
//! with a stable `type`, a human `detail` and, for validation errors, the offending fields. The
//! failure itself — its kind, status and words — comes from the one mapping in `app/error.rs`.

use crate::app::AppError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The prefix of every problem type URI.
pub const PROBLEM_BASE: &str = "https://orgata.dev/problems/";

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

impl IntoResponse for AppError {
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
pub type ApiResult<T> = Result<T, AppError>;
