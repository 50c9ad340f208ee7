//! Extractors whose rejections are problem documents naming the offending field, instead of
//! axum's plain-text defaults.

use axum::body::{Body, Bytes};
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::ApiState;
use super::problem::ApiError;

/// `api.max_body_bytes`: the largest request body read.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

impl FromRef<ApiState> for BodyLimit {
    fn from_ref(state: &ApiState) -> Self {
        BodyLimit(state.settings.api.max_body_bytes)
    }
}

/// Reads a whole body of at most `limit` bytes. A larger one is a 413 naming the limit (not a
/// 400: the request may be fine, only too big for this configuration), whichever of the
/// extractors or the idempotency middleware reads it first.
pub async fn read_body(body: Body, limit: BodyLimit) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit.0).await.map_err(|e| {
        if is_over_limit(&e) {
            ApiError::too_large(limit.0)
        } else {
            ApiError::bad_request(format!("the request body could not be read: {e}"))
        }
    })
}

fn is_over_limit(e: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// A JSON body. Unknown fields are rejected by the target types (`deny_unknown_fields`).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T>
where
    BodyLimit: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("application/json")
            });
        if !is_json {
            return Err(ApiError::bad_request(
                "send the body as JSON with Content-Type: application/json",
            )
            .with_kind("unsupported-media-type"));
        }
        let bytes = read_body(req.into_body(), BodyLimit::from_ref(state)).await?;
        parse(&bytes).map(ApiJson)
    }
}

/// A JSON body that may be left out entirely (then the type's default), e.g. for cancel.
pub struct ApiJsonOrEmpty<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for ApiJsonOrEmpty<T>
where
    BodyLimit: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let has_type = req.headers().contains_key(header::CONTENT_TYPE);
        let (parts, body) = req.into_parts();
        let bytes = read_body(body, BodyLimit::from_ref(state)).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(ApiJsonOrEmpty(T::default()));
        }
        let req = Request::from_parts(parts, Body::from(bytes));
        if !has_type {
            return Err(ApiError::bad_request(
                "send the body as JSON with Content-Type: application/json",
            )
            .with_kind("unsupported-media-type"));
        }
        ApiJson::<T>::from_request(req, state)
            .await
            .map(|j| ApiJsonOrEmpty(j.0))
    }
}

/// Parses JSON, naming the path of the first field that does not fit.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::bad_request(format!("malformed JSON: {inner}")).with_kind("malformed-json")
        } else if path == "." {
            ApiError::invalid("body", inner.to_string())
        } else {
            ApiError::invalid(path, inner.to_string())
        }
    })?;
    // PostgreSQL text and jsonb cannot hold U+0000 (written `\u0000` in JSON): refuse it here,
    // naming where it is, rather than fail in the database.
    if bytes.windows(6).any(|w| w == br"\u0000")
        && let Ok(json) = serde_json::from_slice::<serde_json::Value>(bytes)
        && let Some(path) = nul_path(&json)
    {
        return Err(ApiError::invalid(path, NUL_MESSAGE));
    }
    Ok(value)
}

const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

/// Path (as `serde_path_to_error` writes it: `a.b[0].c`) of the first string or object key
/// holding U+0000.
fn nul_path(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => s.contains('\0').then(String::new),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_path(item).map(|rest| join(format!("[{i}]"), &rest))),
        serde_json::Value::Object(map) => map.iter().find_map(|(key, item)| {
            if key.contains('\0') {
                return Some(key.replace('\0', "\\u0000"));
            }
            nul_path(item).map(|rest| join(key.clone(), &rest))
        }),
        _ => None,
    }
}

fn join(head: String, rest: &str) -> String {
    match rest.chars().next() {
        None => head,
        Some('[') => format!("{head}{rest}"),
        Some(_) => format!("{head}.{rest}"),
    }
}

/// Query parameters.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        // As in bodies: U+0000 (`%00`) cannot reach PostgreSQL; name the parameter.
        if query.contains("%00")
            && let Ok(pairs) = serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            && let Some((name, _)) = pairs.iter().find(|(_, v)| v.contains('\0'))
        {
            return Err(ApiError::invalid(name.clone(), NUL_MESSAGE));
        }
        // Through serde_path_to_error, so a bad value names its parameter.
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let field = match e.path().to_string() {
                    path if path == "." => "query".to_owned(),
                    path => path,
                };
                ApiError::invalid(field, e.into_inner().to_string())
            })
    }
}

/// Path parameters (ids are UUIDs: anything else is a 404 of a resource that cannot exist).
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e| ApiError::not_found(format!("no such resource: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_refused_naming_its_path() {
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct Body {
            a: Option<serde_json::Value>,
        }
        for (body, field) in [
            (r#"{"a": "x\u0000"}"#, "a"),
            (r#"{"a": {"b": [1, "\u0000"]}}"#, "a.b[1]"),
            (r#"{"a": {"k\u0000": 1}}"#, r"a.k\u0000"),
        ] {
            let err = parse::<Body>(body.as_bytes()).err().expect(body);
            assert_eq!(err.status(), axum::http::StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(err.problem().errors[0].field, field, "{body}");
        }
        // An escaped backslash before `u0000` is no NUL.
        assert!(parse::<Body>(br#"{"a": "\\u0000"}"#).is_ok());
    }

    /// Metadata goes into jsonb, which writes numbers out in full: reading back the largest
    /// double must not fail (serde_json's `float_roundtrip`), or the row could never be read.
    #[test]
    fn large_numbers_read_back_as_postgres_writes_them() {
        let written = format!("17976931348623157{}", "0".repeat(292));
        let value: serde_json::Value = serde_json::from_str(&written).unwrap();
        assert_eq!(value.as_f64(), Some(f64::MAX));
    }
}
