//! The operator's console: server-rendered pages (askama templates, checked at compile time)
//! served by the daemon under `console.path`, for the people who answer "why was this customer
//! not charged?" without curl. It sits beside the admin API and uses what the API uses; its
//! actions call the API's own handlers. Nothing below it imports it.
//!
//! Every page needs a session (`session`), every POST its CSRF token (`csrf`); CSS and the
//! little JavaScript there is are inline, so nothing is fetched from anywhere.

mod actions;
mod csrf;
mod forecast;
mod format;
mod pages;
mod render;
mod session;
mod signed_in;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::routing::{get, post};
use std::sync::Arc;

use crate::api::ApiState;
use crate::config::rotating::RotatingSecret;

/// What every console handler needs: the API's state and the console's own settings.
#[derive(Clone)]
pub struct Console {
    pub api: ApiState,
    /// The sign-in tokens: the console's own file when set, else the admin token(s).
    tokens: RotatingSecret,
    /// `console.path`, e.g. "/console".
    base: Arc<str>,
}

impl Console {
    /// A path under the console, `rest` starting with '/' (or empty for the overview).
    pub fn url(&self, rest: &str) -> String {
        format!("{}{rest}", self.base)
    }
}

/// `router` with the console mounted at `console.path`, when the console is enabled.
pub fn mount(router: Router, state: ApiState) -> Router {
    let settings = &state.settings.console;
    if !settings.enabled {
        return router;
    }
    let tokens = match &settings.token {
        Some(own) => RotatingSecret::new("console.token", own, settings.token_file.as_deref()),
        None => state.admin_tokens.clone(),
    };
    let console = Console {
        base: settings.path.as_str().into(),
        tokens,
        api: state,
    };
    router.merge(routes(console))
}

fn routes(console: Console) -> Router {
    let p = |rest: &str| console.url(rest);
    let limit = console.api.settings.api.max_body_bytes;
    Router::new()
        .route(&p(""), get(pages::overview::page))
        .route(
            &p("/sign-in"),
            get(session::sign_in_form).post(session::sign_in),
        )
        .route(&p("/sign-out"), post(session::sign_out))
        .route(&p("/search"), get(pages::search::page))
        .route(&p("/accounts/{id}"), get(pages::account::page))
        .route(&p("/subscriptions/{id}"), get(pages::subscription::page))
        .route(&p("/charges/{id}"), get(pages::charge::page))
        .route(&p("/webhooks"), get(pages::webhooks::page))
        .route(
            &p("/{kind}/{id}/{action}"),
            get(actions::confirm).post(actions::perform),
        )
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(console)
}

/// No caching of pages with customer data, no framing, no script or style from elsewhere.
async fn security_headers(mut response: axum::response::Response) -> axum::response::Response {
    let headers = response.headers_mut();
    let fixed = [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; \
             img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
