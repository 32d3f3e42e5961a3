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
    /// A record the operation relies on was removed (or one it removes was referenced) by a
    /// request that committed first: the database's foreign keys refused the write.
    #[error("a record this request relies on was changed by another request at the same time; read it again and retry")]
    ChangedMeanwhile,
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

/// One validation problem: where (a JSON pointer or field name) and what — in words, and, for a
/// broken JSON Schema rule, as data (the rule's keyword and its limit), from which an interface
/// can build its own sentence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldProblem {
    /// The offending field, as a JSON pointer into the input (`""` for the whole document).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
    /// The JSON Schema keyword the value broke (`required`, `minimum`, `maxLength`, `pattern`,
    /// `type`, `enum`, …); none for a problem no schema rule describes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
    /// The rule's limit or argument: the bound of `minimum`, `maximum`, `exclusiveMinimum`,
    /// `exclusiveMaximum`, `minLength` and `maxLength`; the missing property of `required`; the
    /// choices of `enum`; the expected value of `const`; the pattern; the expected type (or
    /// types, as a list); the format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<serde_json::Value>,
}

impl FieldProblem {
    /// A problem described in words only.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldProblem { field: field.into(), message: message.into(), keyword: None, limit: None }
    }

    /// The problem a JSON Schema validator reported, at `prefix` + its instance path.
    pub fn of_schema(prefix: &str, error: &jsonschema::ValidationError<'_>) -> Self {
        use jsonschema::error::{TypeKind, ValidationErrorKind as Kind};
        use serde_json::Value;
        let kind = error.kind();
        let limit = match kind {
            Kind::Minimum { limit }
            | Kind::Maximum { limit }
            | Kind::ExclusiveMinimum { limit }
            | Kind::ExclusiveMaximum { limit } => Some(limit.clone()),
            Kind::MinLength { limit } | Kind::MaxLength { limit } => Some(Value::from(*limit)),
            Kind::Required { property } => Some(property.clone()),
            Kind::Enum { options } => Some(Value::clone(options)),
            Kind::Constant { expected_value } => Some(Value::clone(expected_value)),
            Kind::Pattern { pattern } => Some(Value::from(pattern.as_str())),
            Kind::Format { format } => Some(Value::from(format.as_str())),
            Kind::Type { kind: TypeKind::Single(t) } => Some(Value::from(t.to_string())),
            Kind::Type { kind: TypeKind::Multiple(set) } => {
                Some(Value::from(set.iter().map(|t| t.to_string()).collect::<Vec<_>>()))
            }
            _ => None,
        };
        FieldProblem {
            field: format!("{prefix}{}", error.instance_path()),
            message: error.to_string(),
            keyword: Some(kind.keyword().to_string()),
            limit,
        }
    }
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
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => EngineError::ChangedMeanwhile,
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
        EngineError::Validation(vec![FieldProblem::new(field, message)])
    }
}

/// The engine's result type.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::FieldProblem;
    use serde_json::{Value, json};

    /// The problems of `value` against `schema`, as (field, keyword, limit).
    fn problems(schema: Value, value: Value) -> Vec<(String, Option<String>, Option<Value>)> {
        let validator = jsonschema::validator_for(&schema).unwrap();
        let mut found: Vec<_> = validator
            .iter_errors(&value)
            .map(|e| FieldProblem::of_schema("/output", &e))
            .map(|p| (p.field, p.keyword, p.limit))
            .collect();
        found.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        found
    }

    #[test]
    fn a_broken_schema_rule_is_data_as_well_as_words() {
        let schema = json!({ "type": "object", "required": ["impact"], "properties": {
            "users": { "type": "integer", "minimum": 0, "exclusiveMaximum": 100 },
            "code": { "type": "string", "pattern": "^CHG-[0-9]{5}$", "minLength": 6, "maxLength": 9 },
            "plan": { "enum": ["a", "b"] },
            "signed": { "const": true },
            "note": { "type": ["string", "null"] },
        }});
        let value = json!({ "users": 100, "code": "CHG-1", "plan": "c", "signed": false, "note": 5 });
        let s = |t: &str| Some(t.to_string());
        assert_eq!(
            problems(schema.clone(), value),
            vec![
                (s("/output"), s("required"), Some(json!("impact"))),
                (s("/output/code"), s("minLength"), Some(json!(6))),
                (s("/output/code"), s("pattern"), Some(json!("^CHG-[0-9]{5}$"))),
                (s("/output/note"), s("type"), Some(json!(["null", "string"]))),
                (s("/output/plan"), s("enum"), Some(json!(["a", "b"]))),
                (s("/output/signed"), s("const"), Some(json!(true))),
                (s("/output/users"), s("exclusiveMaximum"), Some(json!(100))),
            ]
            .into_iter()
            .map(|(f, k, l)| (f.unwrap(), k, l))
            .collect::<Vec<_>>()
        );
        let below = problems(schema, json!({ "impact": 1, "users": -1.5 }));
        assert_eq!(below[0].1.as_deref(), Some("minimum"));
        assert_eq!(below[0].2, Some(json!(0)));
        assert_eq!(below[1], ("/output/users".into(), Some("type".into()), Some(json!("integer"))));
        assert_eq!(FieldProblem::new("name", "must not be empty").keyword, None);
    }
}
