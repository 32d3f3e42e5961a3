//! What one query may ask of the process: a statement size and an expression depth checked
//! before planning, and threads of its own to plan and run on.
//!
//! Parsers, planners and optimizers walk a query's expressions recursively, so an expression
//! nested thousands of levels deep (`1=1 OR 1=1 OR …` is one) would overflow a thread's stack,
//! which aborts the whole process. The size bound caps how deep the parsed statement can be at
//! all; the depth bound refuses anything deeper than real SQL needs before anything recursive
//! but the check itself (which stops at the bound) sees it. Queries then plan and run on the
//! query threads, whose stacks are far larger than either bound needs, and a query that panics
//! fails alone.

use crate::WarehouseError;
use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast::{Expr, Query, Visit, Visitor};
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use tokio::runtime::Runtime;
use tokio::task::{JoinError, JoinHandle};

/// The longest SQL text a query may have, in bytes.
pub const MAX_SQL_BYTES: usize = 100_000;

/// How deeply expressions and subqueries may nest (DuckDB's own default bound).
pub const MAX_EXPRESSION_DEPTH: usize = 1_000;

/// The stack of each query thread: address space, touched only as deep as a query goes.
const QUERY_THREAD_STACK_BYTES: usize = 256 << 20;

/// Refuses SQL longer than [`MAX_SQL_BYTES`].
pub(crate) fn check_size(sql: &str) -> Result<(), WarehouseError> {
    if sql.len() > MAX_SQL_BYTES {
        return Err(WarehouseError::TooComplex(format!(
            "the query is {} bytes long; at most {MAX_SQL_BYTES} are accepted",
            sql.len()
        )));
    }
    Ok(())
}

/// Refuses a statement whose expressions and subqueries nest deeper than
/// [`MAX_EXPRESSION_DEPTH`]. The walk stops at the bound, so it recurses no deeper than that.
pub(crate) fn check_depth(statement: &Statement) -> Result<(), WarehouseError> {
    let mut depth = Depth { current: 0 };
    let outcome = match statement {
        Statement::Statement(statement) => statement.visit(&mut depth),
        Statement::Explain(explain) => return check_depth(&explain.statement),
        // Refused as not read-only after planning; nothing in them is evaluated.
        Statement::CreateExternalTable(_) | Statement::CopyTo(_) | Statement::Reset(_) => ControlFlow::Continue(()),
    };
    match outcome {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(()) => Err(WarehouseError::TooComplex(format!(
            "the query nests expressions or subqueries more than {MAX_EXPRESSION_DEPTH} levels deep"
        ))),
    }
}

struct Depth {
    current: usize,
}

impl Depth {
    fn enter(&mut self) -> ControlFlow<()> {
        self.current += 1;
        if self.current > MAX_EXPRESSION_DEPTH { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    }
}

impl Visitor for Depth {
    type Break = ();

    fn pre_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
        self.enter()
    }

    fn post_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
        self.current -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
        self.enter()
    }

    fn post_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
        self.current -= 1;
        ControlFlow::Continue(())
    }
}

/// The query threads: a runtime apart from the one serving requests, with large stacks.
fn runtime() -> Result<&'static Runtime, WarehouseError> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .max_blocking_threads(4 * threads)
                .thread_name("orgata-query")
                .thread_stack_size(QUERY_THREAD_STACK_BYTES)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| WarehouseError::Query(format!("the query threads could not start: {e}")))
}

/// Runs the future `work` makes on the query threads; if the caller stops waiting, it is
/// cancelled. The future is made and boxed there: a query's future is large, and moving it
/// through a request thread's small stack could overflow it.
pub(crate) async fn on_query_threads<T: Send + 'static, W>(
    work: impl FnOnce() -> W + Send + 'static,
) -> Result<T, WarehouseError>
where
    W: Future<Output = Result<T, WarehouseError>> + Send + 'static,
{
    finished(AbortOnDrop(runtime()?.spawn(async move { Box::pin(work()).await })).await)
}

/// Runs blocking `work` (DuckDB) on the query threads.
pub(crate) async fn blocking_on_query_threads<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, WarehouseError> + Send + 'static,
) -> Result<T, WarehouseError> {
    finished(AbortOnDrop(runtime()?.spawn_blocking(work)).await)
}

fn finished<T>(outcome: Result<Result<T, WarehouseError>, JoinError>) -> Result<T, WarehouseError> {
    match outcome {
        Ok(outcome) => outcome,
        Err(e) if e.is_panic() => Err(WarehouseError::Query("the query failed: an internal error stopped it".into())),
        Err(_) => Err(WarehouseError::Query("the query was cancelled".into())),
    }
}

/// A task that is aborted when nobody waits for it any more (a blocking one runs to its end).
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}
