//! The application layer: the interface-neutral operations REST (`http`), the web UI (`web`),
//! MCP (`mcp`) and the CLI (`cli`) all call. Those four are siblings that depend on this module and
//! never on each other.
//!
//! - `error.rs`: [`AppError`], the one place an engine, warehouse, report or import error becomes
//!   a kind and words for people.
//! - `work.rs`: starting processes, listing and completing tasks, committing playbook versions,
//!   signing in — each counted once in the business metrics, whichever interface asked.
//! - `analytics.rs`: SQL, reports and imports over the warehouse, which only this layer holds: a
//!   [`orgata_warehouse::TeamScope`] is built in exactly one function, from a scope and a
//!   permission.
//! - `predictions.rs`: a team's prediction models (training, the registry) and the forecasts of
//!   its running processes.
//! - `events.rs`: following a team's changes as server-sent events.
//! - `metrics.rs`: the process's counters and their Prometheus exposition.
//! - `paging.rs`: opaque cursors, page limits and pages.
//! - `request.rs`: what every HTTP interface reads off a request (the client's address).

pub mod analytics;
mod error;
pub mod events;
pub mod metrics;
pub mod paging;
pub mod predictions;
pub mod request;
pub mod work;

pub use error::{AppError, AppResult};
pub use paging::Page;

use crate::config::Config;
use metrics::Metrics;
use orgata_engine::{Engine, Scope, Store, SystemClock, TeamId};
use orgata_warehouse::Warehouse;
use std::sync::Arc;

/// The application: the engine, the warehouse (reachable only through this layer's checked
/// operations) and the process's metrics.
#[derive(Clone)]
pub struct App {
    /// The engine; each of its operations checks the caller's scope itself.
    pub engine: Arc<Engine>,
    warehouse: Warehouse,
    /// The counters `/metrics` exposes.
    pub metrics: Arc<Metrics>,
}

impl App {
    /// The application over `engine` and `warehouse`, with fresh metrics.
    pub fn new(engine: Engine, warehouse: Warehouse) -> Self {
        App { engine: Arc::new(engine), warehouse, metrics: Arc::default() }
    }

    /// Connects to the configured database and warehouse (the database migrated, the signing
    /// keys loaded); the store is returned too, for the caller to close at the end.
    pub async fn connect(config: &Config) -> anyhow::Result<(App, Arc<dyn Store>)> {
        let store = orgata_engine::connect(&config.database_url).await?;
        let keys = crate::keys::signing_keys(config)?;
        let engine = Engine::new(store.clone(), Arc::new(SystemClock)).with_signing_keys(keys);
        Ok((App::new(engine, config.warehouse()?), store))
    }

    /// Starts the warehouse streamer on this application's warehouse (see `crate::streaming`): it
    /// runs until `stop` turns true.
    pub fn spawn_streamer(
        &self,
        store: Arc<dyn Store>,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(crate::streaming::run(store, self.warehouse.clone(), self.metrics.clone(), stop))
    }

    /// Starts the model trainer on this application's warehouse (see `crate::training`): it
    /// keeps each team's prediction model fresh until `stop` turns true.
    pub fn spawn_trainer(&self, stop: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(crate::training::run(self.warehouse.clone(), stop))
    }
}

/// Checks that `scope` sees `team` (from the scope, without a database round trip): a team it does
/// not see is not found.
pub fn visible(scope: &Scope, team: &TeamId) -> AppResult<()> {
    match scope.grant(team) {
        Some(_) => Ok(()),
        None => Err(orgata_engine::EngineError::not_found("team", team).into()),
    }
}
