//! `?limit=&cursor=` on every listing, and the `{data, next_cursor}` envelope.

use serde::Serialize;
use utoipa::ToSchema;

use super::problem::ApiError;
use crate::store::listing::{Cursor, Page};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// A page of results. Pass `next_cursor` back as `cursor` for the next page; it is absent on
/// the last page.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T: ToSchema> {
    pub data: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> List<T> {
    pub fn from_page<R>(page: Page<R>, view: impl Fn(R) -> T) -> Self {
        List {
            data: page.items.into_iter().map(view).collect(),
            next_cursor: page.next.map(|c| c.encode()),
        }
    }
}

/// Checks `limit` (1–200, default 50) and decodes `cursor`.
pub fn window(limit: Option<i64>, cursor: Option<&str>) -> Result<(i64, Option<Cursor>), ApiError> {
    window_of(limit, cursor, Cursor::decode)
}

/// `window` for a listing with a cursor of its own, which `decode` reads (`None`: not one).
pub fn window_of<C>(
    limit: Option<i64>,
    cursor: Option<&str>,
    decode: impl FnOnce(&str) -> Option<C>,
) -> Result<(i64, Option<C>), ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let cursor = match cursor {
        None | Some("") => None,
        Some(text) => Some(decode(text).ok_or_else(|| {
            ApiError::invalid(
                "cursor",
                "is not a cursor this API returned (use next_cursor as given)",
            )
        })?),
    };
    Ok((limit, cursor))
}
