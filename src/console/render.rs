//! The frame every page shares (title, navigation, the sign-out form with its CSRF token, the
//! inline CSS and script) and turning a template into a response.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::Console;
use super::signed_in::Session;

const CSS: &str = include_str!("../../templates/console/console.css");
const SCRIPT: &str = include_str!("../../templates/console/console.js");

pub struct Layout {
    pub title: String,
    /// The console's path, for links.
    pub base: String,
    /// Set when signed in: the navigation and sign-out form are shown.
    pub csrf: Option<String>,
    pub css: &'static str,
    pub script: &'static str,
}

impl Layout {
    pub fn new(c: &Console, session: Option<&Session>, title: impl Into<String>) -> Layout {
        Layout {
            title: title.into(),
            base: c.url(""),
            csrf: session.map(|s| s.csrf.clone()),
            css: CSS,
            script: SCRIPT,
        }
    }
}

pub fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "console: a template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "console/message.html")]
struct Message<'a> {
    layout: Layout,
    message: &'a str,
}

/// A page saying what went wrong, with the given status.
pub fn failure(
    c: &Console,
    session: Option<&Session>,
    status: StatusCode,
    message: &str,
) -> Response {
    let title = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Refused",
        _ => "Something went wrong",
    };
    page(
        status,
        &Message {
            layout: Layout::new(c, session, title),
            message,
        },
    )
}

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignIn<'a> {
    layout: Layout,
    error: Option<&'a str>,
    csrf: &'a str,
}

/// The sign-in page, its form carrying `csrf` (the value of the sign-in cookie set with it).
pub fn sign_in(c: &Console, error: Option<&str>, status: StatusCode, csrf: &str) -> Response {
    page(
        status,
        &SignIn {
            layout: Layout::new(c, None, "Sign in"),
            error,
            csrf,
        },
    )
}

/// A store error as a page: a missing row is a 404, anything else a 503 saying nothing more.
pub fn store_failure(c: &Console, session: &Session, e: crate::store::StoreError) -> Response {
    match e {
        crate::store::StoreError::NotFound { what, id } => failure(
            c,
            Some(session),
            StatusCode::NOT_FOUND,
            &format!("No {what} {id}."),
        ),
        other => {
            tracing::error!(error = %other, "console: a query failed");
            failure(
                c,
                Some(session),
                StatusCode::SERVICE_UNAVAILABLE,
                "The database did not answer; try again.",
            )
        }
    }
}

/// The page of one record named by the id in its path: `missing` (404) for an id that is no
/// UUID, the store's failure as a page (see `store_failure`), else the page `load` makes.
pub async fn record_page<T: Template>(
    c: &Console,
    session: &Session,
    id: &str,
    missing: &str,
    load: impl AsyncFnOnce(uuid::Uuid) -> Result<T, crate::store::StoreError>,
) -> Response {
    let Ok(id) = uuid::Uuid::parse_str(id) else {
        return failure(c, Some(session), StatusCode::NOT_FOUND, missing);
    };
    match load(id).await {
        Ok(loaded) => page(StatusCode::OK, &loaded),
        Err(e) => store_failure(c, session, e),
    }
}
