//! Query errors that carry no row values (design.md, invariant 4, as defence in depth).
//!
//! An engine's message for a failed cast, parse or regular expression quotes the value it failed
//! on. What a query's text and the tables' schemas alone decide — a syntax error, an unknown
//! column, a type mismatch found while planning, a refused statement — is shown as the engine says
//! it. Anything raised while planning goes on to run, or while rows flow, is reported by its kind
//! and, where the query tells, its place (an expression of the query, or the column DuckDB names):
//! which kind of value failed and where, never the value.

use crate::WarehouseError;
use arrow::error::ArrowError;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{Expr, LogicalPlan, Operator};

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
const MEMORY: &str = "the query needs more memory than its limit allows";

/// A DataFusion error as the caller may see it.
pub(crate) fn datafusion(error: DataFusionError, phase: Phase) -> WarehouseError {
    classify(error, phase, None)
}

/// A DataFusion error of running `plan`, as the caller may see it: a failure on a value also
/// names the expressions of the caller's that can have failed that way (`CAST(users.email AS
/// Int32)`) — taken from the query, never from a row.
pub(crate) fn datafusion_running(error: DataFusionError, plan: &LogicalPlan) -> WarehouseError {
    classify(error, Phase::Running, Some(plan))
}

fn classify(error: DataFusionError, phase: Phase, plan: Option<&LogicalPlan>) -> WarehouseError {
    let root = error.find_root();
    let on_value = |kind: &'static str| failed(kind, plan.map(|p| suspects(p, kind)).unwrap_or_default());
    match root {
        // Which operators hold how much memory: nothing of a row.
        DataFusionError::ResourcesExhausted(message) => WarehouseError::Failed(format!("{MEMORY}: {message}")),
        DataFusionError::NotImplemented(_) => WarehouseError::Query(root.to_string()),
        DataFusionError::SQL(..) | DataFusionError::Plan(_) | DataFusionError::SchemaError(..)
            if phase == Phase::Planning =>
        {
            WarehouseError::Query(root.to_string())
        }
        DataFusionError::ArrowError(arrow, _) => on_value(arrow_kind(arrow)),
        DataFusionError::ExecutionJoin(_) | DataFusionError::Internal(_) => {
            on_value("an internal error stopped it (the message is not shown; it may quote a value)")
        }
        other => on_value(message_kind(&other.to_string())),
    }
}

/// A query's planning error as analysts read it: names without the catalog and schema DataFusion
/// gives them (`datafusion.public.tasks` is `tasks`), and for a table there is not, the one among
/// `tables` its name is closest to ("did you mean `tasks`?").
pub(crate) fn readable(error: WarehouseError, tables: &[String]) -> WarehouseError {
    let WarehouseError::Query(message) = error else { return error };
    let mut message = message.replace("datafusion.public.", "");
    let unknown = message.split_once("table '").and_then(|(_, rest)| rest.split_once("' not found")).map(|(t, _)| t);
    if let Some(name) = unknown {
        let lower = name.to_lowercase();
        let closest = tables.iter().map(|t| (edits(&lower, t), t)).min();
        match closest {
            Some((distance, table)) if distance <= 2.max(lower.chars().count() / 3) => {
                message.push_str(&format!("; did you mean `{table}`?"));
            }
            _ => message.push_str(&format!("; the tables are {}", tables.join(", "))),
        }
    }
    WarehouseError::Query(message)
}

/// The edit (Levenshtein) distance between two names.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// A DuckDB error as the caller may see it. DuckDB names each error's kind before a colon.
pub(crate) fn duckdb(message: &str, phase: Phase) -> WarehouseError {
    let kind = message.split_once(" Error:").map_or("", |(kind, _)| kind.trim());
    match kind {
        "Parser" | "Syntax" | "Binder" | "Catalog" | "Not implemented" | "Permission" if phase == Phase::Planning => {
            WarehouseError::Query(message.to_string())
        }
        // DuckDB names the column a cast failed on (an identifier, never a value).
        "Conversion" => {
            let column = message.split_once(" when casting from source column ").map(|(_, c)| c.lines().next());
            let column = column.flatten().map(|c| format!("column {}", c.trim()));
            failed(CAST, column.into_iter().collect())
        }
        "Out of Range" => failed(OVERFLOW, Vec::new()),
        "Out of Memory" => WarehouseError::Failed(MEMORY.into()),
        _ => failed(message_kind(message), Vec::new()),
    }
}

/// A failure on a value of `kind`, naming where in the query it can have happened.
fn failed(kind: &str, places: Vec<String>) -> WarehouseError {
    match places.as_slice() {
        [] => WarehouseError::Failed(format!("{kind}; the value is not shown")),
        places => WarehouseError::Failed(format!("{kind}, in {}; the value is not shown", places.join(" or "))),
    }
}

/// The expressions of `plan` (the caller's query, before views are expanded or conversions
/// added) that can fail with `kind`, at most three, as the query wrote them.
fn suspects(plan: &LogicalPlan, kind: &str) -> Vec<String> {
    let mut found = std::collections::BTreeSet::new();
    let mut look = |expr: &Expr| {
        let suspect = match expr {
            Expr::Cast(_) => kind == CAST,
            Expr::BinaryExpr(binary) => kind == DIVISION && matches!(binary.op, Operator::Divide | Operator::Modulo),
            Expr::ScalarFunction(function) => {
                let name = function.name();
                (kind == REGEX && name.starts_with("regexp_"))
                    || (kind == PARSE && (name.starts_with("to_") || name.contains("date") || name.contains("time")))
            }
            _ => false,
        };
        if suspect {
            found.insert(format!("`{expr}`"));
        }
        Ok::<_, DataFusionError>(TreeNodeRecursion::Continue)
    };
    let _ = plan.apply_with_subqueries(|node| {
        node.apply_expressions(|expr| expr.apply(&mut look))?;
        Ok(TreeNodeRecursion::Continue)
    });
    found.into_iter().take(3).collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planning_errors_name_tables_as_analysts_write_them() {
        let tables: Vec<String> = ["events", "instances", "tasks", "tasks_history"].map(String::from).to_vec();
        let said = |message: &str| match readable(WarehouseError::Query(message.into()), &tables) {
            WarehouseError::Query(m) => m,
            other => other.to_string(),
        };
        assert_eq!(
            said("Error during planning: table 'datafusion.public.taskz' not found"),
            "Error during planning: table 'taskz' not found; did you mean `tasks`?"
        );
        assert_eq!(
            said("Error during planning: table 'datafusion.public.orders' not found"),
            "Error during planning: table 'orders' not found; the tables are events, instances, tasks, tasks_history"
        );
        assert_eq!(said("Schema error: No field named statu."), "Schema error: No field named statu.");
        assert_eq!(edits("kitten", "sitting"), 3);
    }
}
