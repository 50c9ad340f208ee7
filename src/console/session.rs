//! Sign-in with the admin token (or the console's own), and the session that follows: a random
//! id in an `HttpOnly; SameSite=Strict` cookie limited to the console's path, `Secure` behind
//! TLS, of which Postgres keeps only the SHA-256 (so any replica serves it and a restart keeps
//! it). It ends at `console.session_lifetime` (by the injected clock) or at sign-out. Neither
//! the token nor the session id is ever logged.

use axum::Form;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::Console;
use super::render;
use crate::api::auth::token_matches;
use crate::store::to_db;

const COOKIE: &str = "billingd_console";

/// A signed-in operator: what every console page extracts first.
pub struct Session {
    pub csrf: String,
}

/// A request without a valid session is sent to sign in; nothing else about it is answered.
pub struct SignInFirst(String);

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        Redirect::to(&self.0).into_response()
    }
}

impl FromRequestParts<Console> for Session {
    type Rejection = SignInFirst;

    async fn from_request_parts(parts: &mut Parts, c: &Console) -> Result<Self, Self::Rejection> {
        let refuse = || SignInFirst(c.url("/sign-in"));
        let Some(id) = cookie(&parts.headers) else {
            return Err(refuse());
        };
        let now = to_db(c.api.clock.now());
        let csrf: Option<String> = sqlx::query_scalar(
            "SELECT csrf_token FROM console_sessions WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(hash(&id))
        .bind(now)
        .fetch_optional(c.api.store.pool())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "console: could not read a session");
            refuse()
        })?;
        csrf.map(|csrf| Session { csrf }).ok_or_else(refuse)
    }
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn hash(id: &str) -> Vec<u8> {
    Sha256::digest(id.as_bytes()).to_vec()
}

/// 244 random bits from the OS (two v4 UUIDs), as 64 hex digits.
pub fn random_hex() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

pub async fn sign_in_form(State(c): State<Console>) -> Response {
    render::sign_in(&c, None, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct SignIn {
    token: String,
}

pub async fn sign_in(
    State(c): State<Console>,
    headers: HeaderMap,
    Form(f): Form<SignIn>,
) -> Response {
    if !token_matches(f.token.trim(), &c.tokens.current()) {
        tracing::warn!(
            event = "console.sign_in_refused",
            "console sign-in with a wrong token"
        );
        return render::sign_in(
            &c,
            Some("That token is not accepted."),
            StatusCode::UNAUTHORIZED,
        );
    }
    let id = random_hex();
    let now = c.api.clock.now();
    let lifetime = c.api.settings.console.session_lifetime;
    let expires = now.checked_add(lifetime.signed()).unwrap_or(now);
    let stored = store_session(&c, &id, now, expires).await;
    if let Err(e) = stored {
        tracing::error!(error = %e, "console: could not store a session");
        return render::failure(
            &c,
            None,
            StatusCode::SERVICE_UNAVAILABLE,
            "The database did not answer; try again.",
        );
    }
    tracing::info!(event = "console.signed_in", "console session started");
    let secure = c.api.settings.console.secure_cookie || forwarded_https(&headers);
    let cookie = format!(
        "{COOKIE}={id}; Path={}; Max-Age={}; HttpOnly; SameSite=Strict{}",
        c.url(""),
        lifetime.get().as_secs(),
        if secure { "; Secure" } else { "" }
    );
    let mut response = Redirect::to(&c.url("")).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

async fn store_session(
    c: &Console,
    id: &str,
    now: jiff::Timestamp,
    expires: jiff::Timestamp,
) -> Result<(), sqlx::Error> {
    // Expired sessions are useless; each sign-in clears them.
    sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
        .bind(to_db(now))
        .execute(c.api.store.pool())
        .await?;
    sqlx::query(
        "INSERT INTO console_sessions (id_hash, csrf_token, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(hash(id))
    .bind(random_hex())
    .bind(to_db(now))
    .bind(to_db(expires))
    .execute(c.api.store.pool())
    .await?;
    Ok(())
}

/// A TLS proxy in front says the browser spoke https: the cookie must then never go out over
/// plain http.
fn forwarded_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

#[derive(Deserialize)]
pub struct SignOut {
    csrf: String,
}

/// Deletes the session (CSRF-checked, so no other site can sign an operator out).
pub async fn sign_out(
    State(c): State<Console>,
    session: Session,
    headers: HeaderMap,
    Form(f): Form<SignOut>,
) -> Response {
    if let Some(refused) = super::csrf::refusal(&c, &session, &f.csrf) {
        return refused;
    }
    if let Some(id) = cookie(&headers) {
        let deleted = sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1")
            .bind(hash(&id))
            .execute(c.api.store.pool())
            .await;
        if let Err(e) = deleted {
            tracing::error!(error = %e, "console: could not delete a session");
            return render::failure(
                &c,
                Some(&session),
                StatusCode::SERVICE_UNAVAILABLE,
                "The database did not answer; you are still signed in.",
            );
        }
    }
    tracing::info!(event = "console.signed_out", "console session ended");
    let clear = format!(
        "{COOKIE}=; Path={}; Max-Age=0; HttpOnly; SameSite=Strict",
        c.url("")
    );
    let mut response = Redirect::to(&c.url("/sign-in")).into_response();
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}
