//! Orgata's operational engine: organisations, teams and users; playbooks as immutable,
//! content-addressed versions on branches; process instances, tasks and their execution; comments
//! identity and access (tokens, API keys, TOTP, roles and permissions); the hash-chained audit
//! trail; and the change log (outbox) that every committed change writes to, in the
//! same transaction, for the warehouse. Stored in PostgreSQL or SQLite through one [`store::Store`]
//! trait.

pub mod access;
pub mod audit;
pub mod clock;
pub mod definition;
pub mod demo;
pub mod error;
pub mod execution;
pub mod identity;
pub mod ids;
pub mod lifecycle;
pub mod model;
pub mod service;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use access::{OrgRole, Permission, Permissions, Scope, TeamGrant, builtin_role};
pub use clock::{Clock, SimClock, SystemClock};
pub use definition::{Definition, DefinitionError};
pub use error::{EngineError, FieldProblem, Result};
pub use identity::{ApiKey, SigningKeys, Throttle};
pub use ids::*;
pub use lifecycle::{Lifecycle, TaskEvent};
pub use model::*;
pub use service::{
    ApiKeySecret, AuditVerification, CompleteTask, Decision, Engine, InstanceDetail, Login, LoginOutcome, NewUser,
    PlaybookDetail, Registered, Registration, RoleInfo, Session, StartInstance, TaskOutcome, TeamEvent, ThrottlePolicy,
    TotpEnrolment,
};
pub use store::{
    AuditFilter, Backend, ChangeListener, InstanceFilter, PoolStats, ReadAhead, Store, TaskFilter, connect,
};
