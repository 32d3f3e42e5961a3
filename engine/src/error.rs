//! The engine's errors: typed, so every interface maps them the same way.

use crate::definition::DefinitionError;

/// Everything an engine call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No such record in the caller's scope. A record of another tenant looks exactly like this.
    #[error("{entity} `{id}` not found")]
    NotFound { entity: &'static str, id: String },
    /// Someone changed the record since the caller read it (stale revision or lost race).
    #[error("{entity} `{id}` was changed concurrently (expected revision {expected}, found {found})")]
    Conflict { entity: &'static str, id: String, expected: i64, found: i64 },
    /// The operation is not allowed in the record's current state.
    #[error("cannot {action} {entity} `{id}`: it is {state}")]
    InvalidTransition { entity: &'static str, id: String, action: &'static str, state: String },
    /// The input failed validation; each problem names its field.
    #[error("invalid input: {}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
    Validation(Vec<FieldProblem>),
    /// A playbook definition was rejected.
    #[error(transparent)]
    Definition(#[from] DefinitionError),
    /// A record with the same unique name exists.
    #[error("{entity} `{name}` already exists")]
    AlreadyExists { entity: &'static str, name: String },
    /// The caller may not do this.
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// The caller's credentials are missing, wrong, expired or revoked.
    #[error("not authenticated: {0}")]
    Unauthenticated(String),
    /// Too many failed sign-ins: wait `retry_after_secs` (the account or address is locked until
    /// `locked_until` when that is set).
    #[error("too many failed sign-ins; try again in {retry_after_secs} s")]
    Throttled { retry_after_secs: i64, locked_until: Option<chrono::DateTime<chrono::Utc>> },
    /// A payload is larger than the engine accepts.
    #[error("{what} is {size} bytes, over the limit of {limit}")]
    TooLarge { what: &'static str, size: usize, limit: usize },
    /// The database failed.
    #[error("storage error: {0}")]
    Storage(sqlx::Error),
    /// A migration failed.
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// Stored data could not be read back (a bug or a corrupted row).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The configuration names something unusable.
    #[error("configuration error: {0}")]
    Config(String),
}

/// One validation problem: where (a JSON pointer or field name) and what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldProblem {
    /// The offending field, as a JSON pointer into the input (`""` for the whole document).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl std::fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() { f.write_str(&self.message) } else { write!(f, "{}: {}", self.field, self.message) }
    }
}

impl From<sqlx::Error> for EngineError {
    fn from(e: sqlx::Error) -> Self {
        // PostgreSQL stores no NUL character in text (SQLSTATE 22021): bad input, not a failure.
        match &e {
            sqlx::Error::Database(db) if db.code().as_deref() == Some("22021") => {
                EngineError::invalid("", "text must not contain the NUL character (U+0000)")
            }
            _ => EngineError::Storage(e),
        }
    }
}

impl EngineError {
    /// A not-found error for `entity` `id`.
    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        EngineError::NotFound { entity, id: id.to_string() }
    }

    /// A single-field validation error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        EngineError::Validation(vec![FieldProblem { field: field.into(), message: message.into() }])
    }
}

/// The engine's result type.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
