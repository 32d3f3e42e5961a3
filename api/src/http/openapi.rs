//! The OpenAPI 3.1 document, generated from the handlers' annotations and the records' types
//! (`#[utoipa::path]`, `ToSchema`) as `mod.rs` collects the routes, served at `/openapi.json`.

use super::error::{FieldProblemDoc, Problem};
use crate::app::App;
use axum::Router;
use axum::http::header;
use axum::routing::get;
use std::sync::Arc;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

/// What the document says beyond its paths.
#[derive(OpenApi)]
#[openapi(
    info(title = "Orgata API", version = "1", description = "Teams run their processes on Orgata. Errors are RFC 9457 problem documents."),
    // `Condition` and `CompareOp` are reached only through the recursive `Condition`, whose
    // schema does not collect them; the problem document is every operation's default response.
    components(schemas(orgata_engine::definition::Condition, orgata_engine::definition::CompareOp, Problem, FieldProblemDoc)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

/// `Authorization: Bearer <access token or API key>`.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// Gives every `/v1` operation its default response: a problem document (RFC 9457).
pub fn complete(doc: &mut utoipa::openapi::OpenApi) {
    let problem = ResponseBuilder::new()
        .description("A problem (RFC 9457)")
        .content(
            "application/problem+json",
            ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
        )
        .build();
    let items = doc.paths.paths.iter_mut().filter(|(path, _)| path.starts_with("/v1/")).map(|(_, item)| item);
    for item in items {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            operation.responses.responses.entry("default".into()).or_insert_with(|| RefOr::T(problem.clone()));
        }
    }
}

/// `GET /openapi.json`: `document`, serialised once.
pub fn routes(document: utoipa::openapi::OpenApi) -> Router<App> {
    let json: Arc<str> = serde_json::to_string(&document).unwrap_or_default().into();
    let serve = move || {
        let json = json.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], json.to_string()) }
    };
    Router::new().route("/openapi.json", get(serve))
}
