//! Sign-in with the admin token (or the console's own), and the session that follows: a random
//! id in an `HttpOnly; SameSite=Strict` cookie limited to the console's path, `Secure` behind
//! TLS, of which Postgres keeps only the SHA-256 (so any replica serves it and a restart keeps
//! it). It ends at `console.session_lifetime` (by the injected clock) or at sign-out. Neither
//! the token nor the session id is ever logged.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::Console;
use super::render;
use super::signed_in::{COOKIE, Session, cookie, hash, random_hex};
use crate::api::auth::token_matches;
use crate::store::to_db;

/// The sign-in form's own CSRF protection, before any session exists: a random value in a
/// `SameSite=Strict` cookie scoped to the sign-in path and in the form; a sign-in is accepted
/// only when both agree (a page of another site cannot read the cookie to fill the form).
const SIGN_IN_COOKIE: &str = "billingd_console_sign_in";

pub async fn sign_in_form(State(c): State<Console>, headers: HeaderMap) -> Response {
    sign_in_page(&c, &headers, None, StatusCode::OK)
}

/// The sign-in page with a fresh form token, and its cookie.
fn sign_in_page(
    c: &Console,
    headers: &HeaderMap,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let token = random_hex();
    let mut response = render::sign_in(c, error, status, &token);
    let secure = c.api.settings.console.secure_cookie || forwarded_https(headers);
    let cookie = format!(
        "{SIGN_IN_COOKIE}={token}; Path={}; Max-Age=1800; HttpOnly; SameSite=Strict{}",
        c.url("/sign-in"),
        if secure { "; Secure" } else { "" }
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize)]
pub struct SignIn {
    token: String,
    #[serde(default)]
    csrf: String,
}

pub async fn sign_in(
    State(c): State<Console>,
    headers: HeaderMap,
    Form(f): Form<SignIn>,
) -> Response {
    let expected = super::signed_in::cookie_named(&headers, SIGN_IN_COOKIE);
    let form_ok = expected.is_some_and(|e| {
        bool::from(subtle::ConstantTimeEq::ct_eq(
            e.as_bytes(),
            f.csrf.as_bytes(),
        ))
    });
    if !form_ok {
        let why = "The sign-in form had expired or came from elsewhere; sign in again.";
        return sign_in_page(&c, &headers, Some(why), StatusCode::FORBIDDEN);
    }
    if !token_matches(f.token.trim(), &c.tokens.current()) {
        tracing::warn!(
            event = "console.sign_in_refused",
            "console sign-in with a wrong token"
        );
        let why = "That token is not accepted.";
        return sign_in_page(&c, &headers, Some(why), StatusCode::UNAUTHORIZED);
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
