//! Query errors that carry no row values (design.md, invariant 4, as defence in depth).
//!
//! An engine's message for a failed cast, parse or regular expression quotes the value it failed
//! on. What a query's text and the tables' schemas alone decide — a syntax error, an unknown
//! column, a type mismatch found while planning, a refused statement — is shown as the engine says
//! it. Anything raised while planning goes on to run, or while rows flow, is reported by its kind
//! only: which kind of value failed, never the value.

use crate::WarehouseError;
use arrow::error::ArrowError;
use datafusion::error::DataFusionError;

/// Where in a query's life an error arose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// From the SQL text to a logical plan: no row has been read.
    Planning,
    /// Optimizing, physical planning and running: constants are folded and rows are read.
    Running,
}

/// The kinds a failure on a value is reported as.
const CAST: &str = "a value could not be converted to the type asked for (CAST or an implicit conversion)";
const DIVISION: &str = "division by zero";
const OVERFLOW: &str = "a value is out of range for its type (overflow)";
const PARSE: &str = "a text could not be read as a number, date or time";
const REGEX: &str = "a regular expression is invalid";
const ARGUMENT: &str = "a function was given a value it cannot process";
const READING: &str = "reading the data failed";

/// A DataFusion error as the caller may see it.
pub(crate) fn datafusion(error: DataFusionError, phase: Phase) -> WarehouseError {
    let root = error.find_root();
    match root {
        DataFusionError::ResourcesExhausted(message) => {
            WarehouseError::Failed(format!("the query needs more memory than its limit allows: {message}"))
        }
        DataFusionError::NotImplemented(_) => WarehouseError::Query(root.to_string()),
        DataFusionError::SQL(..) | DataFusionError::Plan(_) | DataFusionError::SchemaError(..)
            if phase == Phase::Planning =>
        {
            WarehouseError::Query(root.to_string())
        }
        DataFusionError::ArrowError(arrow, _) => failed(arrow_kind(arrow)),
        DataFusionError::ExecutionJoin(_) | DataFusionError::Internal(_) => {
            failed("an internal error stopped it (the message is not shown; it may quote a value)")
        }
        other => failed(message_kind(&other.to_string())),
    }
}

/// A DuckDB error as the caller may see it. DuckDB names each error's kind before a colon.
pub(crate) fn duckdb(message: &str, phase: Phase) -> WarehouseError {
    let kind = message.split_once(" Error:").map_or("", |(kind, _)| kind.trim());
    match kind {
        "Parser" | "Syntax" | "Binder" | "Catalog" | "Not implemented" | "Permission" if phase == Phase::Planning => {
            WarehouseError::Query(message.to_string())
        }
        "Conversion" => failed(CAST),
        "Out of Range" => failed(OVERFLOW),
        "Out of Memory" => failed_owned("the query needs more memory than its limit allows".into()),
        _ => failed(message_kind(message)),
    }
}

fn failed(kind: &str) -> WarehouseError {
    failed_owned(kind.to_string())
}

fn failed_owned(kind: String) -> WarehouseError {
    WarehouseError::Failed(format!("{kind}; the value is not shown"))
}

fn arrow_kind(error: &ArrowError) -> &'static str {
    match error {
        ArrowError::CastError(_) => CAST,
        ArrowError::DivideByZero => DIVISION,
        ArrowError::ArithmeticOverflow(_)
        | ArrowError::DictionaryKeyOverflowError
        | ArrowError::OffsetOverflowError(_) => OVERFLOW,
        ArrowError::ParseError(_) => PARSE,
        ArrowError::ComputeError(message) | ArrowError::InvalidArgumentError(message) => message_kind(message),
        _ => READING,
    }
}

/// The kind of failure a message describes, from words engines use for it; never the message.
fn message_kind(message: &str) -> &'static str {
    let message = message.to_ascii_lowercase();
    if message.contains("regex") || message.contains("regular expression") {
        REGEX
    } else if message.contains("divide by zero") || message.contains("division by zero") {
        DIVISION
    } else if message.contains("overflow") || message.contains("out of range") {
        OVERFLOW
    } else if message.contains("cast") || message.contains("convert") {
        CAST
    } else if message.contains("pars") || message.contains("timestamp") || message.contains("date") {
        PARSE
    } else {
        ARGUMENT
    }
}
