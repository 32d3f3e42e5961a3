//! Orgata's operational engine: organisations, teams and users; playbooks as immutable,
//! content-addressed versions on branches; process instances, tasks and their execution; comments
//! and the audit trail; and the change log (outbox) that every committed change writes to, in the
//! same transaction, for the warehouse. Stored in PostgreSQL or SQLite through one [`store::Store`]
//! trait.

pub mod clock;
pub mod definition;
pub mod demo;
pub mod error;
pub mod execution;
pub mod ids;
pub mod model;
pub mod service;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use clock::{Clock, SimClock, SystemClock};
pub use definition::{Definition, DefinitionError};
pub use error::{EngineError, FieldProblem, Result};
pub use ids::*;
pub use model::*;
pub use service::{CompleteTask, Decision, Engine, InstanceDetail, PlaybookDetail, StartInstance, TaskOutcome};
pub use store::{AuditFilter, Backend, InstanceFilter, Scope, Store, TaskFilter, connect};
