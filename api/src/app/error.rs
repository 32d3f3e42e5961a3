//! Failures of the application's operations, for every interface: what kind of failure it is (a
//! stable name and the HTTP status REST and the web UI give it), what happened in words for
//! people, and, for invalid input, the offending fields. This is the one place an engine,
//! warehouse, report or import error becomes words; REST turns the result into its problem
//! documents (`http/error.rs`), the web UI into its error page, MCP into a tool error.

use axum::http::StatusCode;
use orgata_engine::{EngineError, FieldProblem};
use std::fmt;

/// A failure to report to whoever asked.
#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    /// A stable, machine-readable name, like `not-found` (REST's problem type ends with it).
    pub kind: &'static str,
    /// What went wrong, for people.
    pub detail: String,
    /// For invalid input: each offending field and what is wrong with it.
    pub errors: Vec<FieldProblem>,
    /// For throttling: when to try again, in seconds.
    pub retry_after: Option<i64>,
}

/// An operation's result.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// A failure with a status, a kind and a detail.
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        Self { status, kind, detail: detail.into(), errors: Vec::new(), retry_after: None }
    }

    /// A malformed request (unparsable body, query or header).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    /// Input that parses but is wrong, naming the offending field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self {
            errors: vec![FieldProblem::new(field, message)],
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", "the input is invalid")
        }
    }

    /// Something that is not there (or that the caller may not see).
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    /// A path this server does not serve.
    pub fn no_route(path: &str) -> Self {
        Self::not_found(format!("no resource at {path}"))
    }

    /// A stale `If-Match`: the resource changed since the client read it.
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED, "precondition-failed", detail)
    }

    /// A failure on our side: logged with its cause, reported without it.
    fn internal(what: &str, cause: &dyn fmt::Display) -> Self {
        tracing::error!(error = %cause, "{what}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "an internal error occurred; it was logged")
    }

    /// Each offending field and what is wrong with it: `/output/ok: required`.
    fn field_words(&self) -> impl Iterator<Item = String> + '_ {
        self.errors.iter().map(|p| format!("{}: {}", p.field, p.message))
    }

    /// The failure in lines for people: the detail, each offending field, when to retry.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![self.detail.clone()];
        lines.extend(self.field_words());
        if let Some(secs) = self.retry_after {
            lines.push(format!("Try again in {}.", orgata_reports::text::duration(secs.max(1) as f64)));
        }
        lines
    }
}

/// One line: `the input is invalid (/output/ok: required)`, with `; retry after 30 s` when
/// throttled.
impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)?;
        if !self.errors.is_empty() {
            write!(f, " ({})", self.field_words().collect::<Vec<_>>().join("; "))?;
        }
        if let Some(secs) = self.retry_after {
            write!(f, "; retry after {secs} s")?;
        }
        Ok(())
    }
}

impl From<EngineError> for AppError {
    fn from(e: EngineError) -> Self {
        use EngineError::*;
        let detail = e.to_string();
        match e {
            NotFound { .. } => Self::not_found(detail),
            Conflict { .. } | ChangedMeanwhile => Self::new(StatusCode::CONFLICT, "conflict", detail),
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
            Storage(_) | Migration(_) | Corrupt(_) | Config(_) => Self::internal("internal error", &detail),
        }
    }
}

impl From<orgata_warehouse::WarehouseError> for AppError {
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
                Self::internal("warehouse error", &detail)
            }
        }
    }
}

impl From<orgata_reports::ReportError> for AppError {
    fn from(e: orgata_reports::ReportError) -> Self {
        use orgata_reports::ReportError::*;
        match e {
            InvalidFilter(_) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-filter", e.to_string()),
            TooLarge(_) | Memory(_) | TooManyPairs { .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "too-large", e.to_string())
            }
            Warehouse(e) => Self::from(e),
            NotEnoughHistory(_) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "not-enough-history", e.to_string()),
            ModelUnreadable(_) => Self::new(StatusCode::SERVICE_UNAVAILABLE, "model-unreadable", e.to_string()),
            Shape(_) | Model(_) => Self::internal("report error", &e),
        }
    }
}

impl From<orgata_ingest::IngestError> for AppError {
    fn from(e: orgata_ingest::IngestError) -> Self {
        use orgata_ingest::IngestError::*;
        match e {
            Import { .. } => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-log", e.to_string()),
            Warehouse(e) => Self::from(*e),
            Engine(e) => Self::from(e),
            LeaseHeld => Self::new(StatusCode::CONFLICT, "busy", e.to_string()),
            Avro(_) | Store(_) | Malformed(_) => Self::internal("ingest error", &e),
        }
    }
}
