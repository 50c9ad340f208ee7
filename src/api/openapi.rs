//! The OpenAPI document: its frame here, its paths and schemas from the handlers.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, get};
use std::sync::Arc;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::ApiState;
use super::problem::{FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "billingd admin API",
        version = "1",
        description = "Manage payment accounts, subscriptions and charges of a billingd daemon. \
            Amounts are integer minor units; timestamps RFC 3339; errors RFC 7807 problem documents."
    ),
    modifiers(&BearerAuth),
    security(("admin_token" = [])),
    components(schemas(Problem, FieldError))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

pub fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub fn serve(doc: Arc<Vec<u8>>) -> MethodRouter<ApiState> {
    get(move || {
        let doc = doc.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], (*doc).clone()).into_response() }
    })
}
