//! REST: the `/v1` API, `/metrics`, `/openapi.json`, the health endpoints and the API docs,
//! each handler reading its request, calling the application layer (`crate::app`) and answering
//! with JSON or a problem document. The server around it is `crate::server`.

pub mod analytics;
mod docs;
pub mod error;
mod events;
pub mod extract;
pub mod idempotency;
mod identity;
mod imports;
pub mod metrics;
pub mod openapi;
mod ops;
mod processes;
mod sql;
mod teams;

use crate::app::App;
use axum::Router;

/// Every REST route, on the application's state.
pub fn routes(app: App) -> Router {
    Router::new()
        .merge(identity::routes())
        .merge(teams::routes())
        .merge(sql::routes())
        .merge(analytics::routes())
        .merge(imports::routes())
        .merge(processes::routes())
        .merge(events::routes())
        .merge(ops::routes())
        .merge(docs::routes())
        .route("/metrics", axum::routing::get(metrics::render))
        .route("/openapi.json", axum::routing::get(openapi::document))
        .with_state(app)
}
