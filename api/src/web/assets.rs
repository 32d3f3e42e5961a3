//! The UI's stylesheets, script and icon, compiled into the binary (the pages make no request
//! to any other site), and the security headers every UI response carries.

use super::WebState;
use crate::app::AppError;
use axum::Router;
use axum::extract::{Path, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Changes with every release, so browsers fetch the new assets.
const ETAG: &str = concat!("\"orgata-web-", env!("CARGO_PKG_VERSION"), "\"");

/// Only this server's own scripts, styles and images; inline SVG charts need no more.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The assets, by file name.
const ASSETS: &[(&str, &str, &str)] = &[
    ("orgata.css", "text/css; charset=utf-8", include_str!("../../assets/web/orgata.css")),
    ("charts.css", "text/css; charset=utf-8", include_str!("../../assets/web/charts.css")),
    ("orgata.js", "text/javascript; charset=utf-8", include_str!("../../assets/web/orgata.js")),
    ("icon.svg", "image/svg+xml", include_str!("../../assets/web/icon.svg")),
];

pub fn routes() -> Router<WebState> {
    Router::new().route("/assets/web/{file}", get(asset))
}

async fn asset(Path(file): Path<String>) -> Response {
    let Some((_, content_type, body)) = ASSETS.iter().find(|(name, _, _)| *name == file) else {
        return AppError::no_route(&format!("/assets/web/{file}")).into_response();
    };
    let mut response = (StatusCode::OK, *body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    headers.insert(header::ETAG, HeaderValue::from_static(ETAG));
    response
}

/// Middleware: the content security policy and related headers on every UI response.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
