//! The OpenAPI document: its frame here, its paths and schemas from the handlers.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, get};
use std::sync::Arc;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, Ref};
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

/// Adds the 413 to every operation that takes a body: the limit is configuration
/// (`api.max_body_bytes`), so the served document names the one in force.
pub fn document_body_limit(doc: &mut utoipa::openapi::OpenApi, limit: usize) {
    let too_large = utoipa::openapi::ResponseBuilder::new()
        .description(format!(
            "the request body is larger than api.max_body_bytes ({limit} bytes)"
        ))
        .content(
            "application/problem+json",
            Content::new(Some(Ref::from_schema_name("Problem"))),
        )
        .build();
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
            &mut item.query,
        ];
        let listed = operations.into_iter().flatten();
        for operation in listed.chain(item.additional_operations.values_mut()) {
            if operation.request_body.is_some() {
                operation
                    .responses
                    .responses
                    .insert("413".into(), too_large.clone().into());
            }
        }
    }
}

pub fn serve(doc: Arc<Vec<u8>>) -> MethodRouter<ApiState> {
    get(move || {
        let doc = doc.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], (*doc).clone()).into_response() }
    })
}
