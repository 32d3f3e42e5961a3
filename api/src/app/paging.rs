//! Lists in pages: opaque cursors (the last id of a page), the `limit` every list takes, and the
//! page every interface answers with.

use super::{AppError, AppResult};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

/// A page of a list, with the cursor of the next page (none on the last).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page of at most `limit` items, `id` giving each item's cursor.
    pub fn of(items: Vec<T>, limit: i64, id: impl Fn(&T) -> String) -> Self {
        let next_cursor = match items.last() {
            Some(last) if items.len() as i64 >= limit => Some(encode_cursor(&id(last))),
            _ => None,
        };
        Page { items, next_cursor }
    }
}

/// An opaque cursor: the last id of a page.
pub fn encode_cursor(last_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(last_id)
}

/// The id an opaque cursor stands for; a cursor we did not give out is invalid input naming
/// `cursor`.
pub fn decode_cursor(cursor: &str) -> AppResult<String> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|id| !id.is_empty() && !id.chars().any(char::is_control))
        .ok_or_else(foreign_cursor)
}

/// The failure of a cursor we did not give out.
pub fn foreign_cursor() -> AppError {
    AppError::invalid_field("cursor", "not a cursor this API returned; pass a page's `next_cursor`")
}

/// A list's `limit`: 1 to 1000, 100 when absent.
pub fn page_limit(limit: Option<i64>) -> AppResult<i64> {
    match limit {
        None => Ok(100),
        Some(n) if (1..=orgata_engine::service::MAX_PAGE).contains(&n) => Ok(n),
        Some(n) => Err(AppError::bad_request(format!(
            "`limit` must be between 1 and {}, not {n}",
            orgata_engine::service::MAX_PAGE
        ))),
    }
}
