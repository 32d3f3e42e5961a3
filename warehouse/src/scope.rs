//! The team scope of analysts' SQL on DataFusion, applied at the scan.
//!
//! A view `SELECT * FROM raw WHERE team_id IN (…)` does not keep other teams' rows away from the
//! caller's expressions: the optimizer may evaluate the caller's predicate below the scope filter
//! or in the same filter, before it (design.md, invariant 4). So each table the caller can name
//! reads a [`ScopedTable`]: a provider that takes no filter from the query, and whose scan is a
//! [`ScopedScanExec`], a leaf of the caller's plan. The leaf hides the plan that reads the scope's
//! rows (its own optimized plan of the trusted scope query), so no optimizer rule of the caller's
//! plan can push a filter, a projection or a dynamic join or top-k filter into it, and `EXPLAIN`
//! shows neither that plan nor statistics of rows outside the scope. Every row the caller's plan
//! sees has already passed the scope: PostgreSQL's `security_barrier`, by construction.

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{Result, Statistics};
use datafusion::datasource::TableType;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// A table whose rows are those of a trusted plan (a table filtered to the caller's scope), read
/// behind a barrier that nothing from the caller's query crosses.
#[derive(Debug)]
pub(crate) struct ScopedTable {
    name: String,
    schema: SchemaRef,
    /// The scope's rows: a plan built from our own SQL, never from the caller's.
    rows: LogicalPlan,
    /// Whether the plan's statistics describe only the scope's rows (a table partitioned by team,
    /// whose other teams' files are pruned by partition), so the caller's planner may use them.
    statistics_in_scope: bool,
}

impl ScopedTable {
    pub(crate) fn new(name: impl Into<String>, rows: LogicalPlan, statistics_in_scope: bool) -> Self {
        let schema = Arc::new(rows.schema().as_arrow().clone());
        ScopedTable { name: name.into(), schema, rows, statistics_in_scope }
    }
}

#[async_trait]
impl TableProvider for ScopedTable {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    /// No filter of the caller's is taken: `supports_filters_pushdown` keeps its default
    /// (unsupported), so every predicate stays above the scan.
    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        // Column indices and a row count are not expressions: they may go inside.
        let mut rows = LogicalPlanBuilder::from(self.rows.clone());
        if let Some(columns) = projection {
            rows = rows.select(columns.iter().copied())?;
        }
        if let Some(limit) = limit {
            rows = rows.limit(0, Some(limit))?;
        }
        let plan = state.create_physical_plan(&rows.build()?).await?;
        Ok(Arc::new(ScopedScanExec::new(self.name.clone(), plan, self.statistics_in_scope)))
    }
}

/// The leaf that reads a scope's rows: it runs a hidden, already optimized plan.
#[derive(Debug)]
pub(crate) struct ScopedScanExec {
    table: String,
    rows: Arc<dyn ExecutionPlan>,
    statistics_in_scope: bool,
}

impl ScopedScanExec {
    fn new(table: String, rows: Arc<dyn ExecutionPlan>, statistics_in_scope: bool) -> Self {
        ScopedScanExec { table, rows, statistics_in_scope }
    }
}

impl DisplayAs for ScopedScanExec {
    fn fmt_as(&self, _format: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "ScopedScanExec: table={}", self.table)
    }
}

impl ExecutionPlan for ScopedScanExec {
    fn name(&self) -> &str {
        "ScopedScanExec"
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.rows.properties()
    }

    /// None: the plan inside is out of the reach of the caller's optimizer rules and `EXPLAIN`.
    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn with_new_children(self: Arc<Self>, _children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    /// A plan run again (a recursive query's step) resets the hidden plan's state too.
    fn reset_state(self: Arc<Self>) -> Result<Arc<dyn ExecutionPlan>> {
        let rows = Arc::clone(&self.rows).reset_state()?;
        Ok(Arc::new(ScopedScanExec::new(self.table.clone(), rows, self.statistics_in_scope)))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        self.rows.execute(partition, context)
    }

    fn partition_statistics(&self, partition: Option<usize>) -> Result<Statistics> {
        if self.statistics_in_scope {
            self.rows.partition_statistics(partition)
        } else {
            Ok(Statistics::new_unknown(&self.schema()))
        }
    }
}
