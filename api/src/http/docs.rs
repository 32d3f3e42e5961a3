//! The interactive API documentation at `/docs`: Swagger UI (embedded in the binary, so the page
//! works offline) on the server's own `/openapi.json`.

use crate::app::App;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Changes with Orgata's version and the embedded Swagger UI's (`api/assets/swagger-ui/README.md`).
const ETAG: &str = concat!("\"orgata-", env!("CARGO_PKG_VERSION"), "-swagger-ui-5.35.0\"");

const INDEX: &str = include_str!("../../assets/docs/index.html");
const INIT: &str = include_str!("../../assets/docs/init.js");
const BUNDLE: &str = include_str!("../../assets/swagger-ui/swagger-ui-bundle.js");
const CSS: &str = include_str!("../../assets/swagger-ui/swagger-ui.css");

/// Only this server's own assets; Swagger UI styles some elements inline and draws icons as data URIs.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";

pub fn routes() -> Router<App> {
    Router::new().route("/docs", get(index)).route("/docs/{file}", get(asset))
}

async fn index() -> Response {
    with_headers(INDEX, "text/html; charset=utf-8", "no-cache")
}

async fn asset(Path(file): Path<String>) -> Response {
    let (body, content_type) = match file.as_str() {
        "init.js" => (INIT, "text/javascript; charset=utf-8"),
        "swagger-ui-bundle.js" => (BUNDLE, "text/javascript; charset=utf-8"),
        "swagger-ui.css" => (CSS, "text/css; charset=utf-8"),
        _ => return crate::app::AppError::no_route(&format!("/docs/{file}")).into_response(),
    };
    with_headers(body, content_type, "public, max-age=3600")
}

fn with_headers(body: &'static str, content_type: &'static str, cache: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::ETAG, HeaderValue::from_static(ETAG));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}
