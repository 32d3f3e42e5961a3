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
mod predictions;
mod processes;
mod sql;
mod teams;

use crate::app::App;
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every REST route, on the application's state, with the OpenAPI document of them all at
/// `/openapi.json`. A handler is added in one place: its module's `routes()`, from its
/// `#[utoipa::path]` (method, path, parameters, bodies and responses).
pub fn routes(app: App) -> Router {
    let (router, mut document) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(identity::routes())
        .merge(teams::routes())
        .merge(sql::routes())
        .merge(analytics::routes())
        .merge(predictions::routes())
        .merge(imports::routes())
        .merge(processes::routes())
        .merge(events::routes())
        .merge(ops::routes())
        .routes(routes!(metrics::render))
        .split_for_parts();
    openapi::complete(&mut document);
    router.merge(docs::routes()).merge(openapi::routes(document)).with_state(app)
}
