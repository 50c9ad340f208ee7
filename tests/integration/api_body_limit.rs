//! Issue 10, part 7: a request body over `api.max_body_bytes` is a 413 naming the limit, on
//! every path that reads a body (JSON bodies, optional bodies, the idempotency middleware);
//! a body of exactly the limit is served as usual.

use crate::support::*;
use gateway_sim::SimConfig;
use reqwest::Method;
use serde_json::{Value, json};

const LIMIT: usize = 4096;

/// A subscription whose metadata pads its JSON to exactly `size` bytes.
fn subscription_of_size(account: &str, size: usize) -> Value {
    let body = |pad: usize| {
        json!({"account_id": account, "amount": 1000, "currency": "USD",
            "schedule": {"anchor": "2027-01-01T00:00:00", "time_zone": "UTC", "interval": "month"},
            "metadata": {"note": "x".repeat(pad)}})
    };
    let bare = body(0).to_string().len();
    let sized = body(size - bare);
    assert_eq!(sized.to_string().len(), size);
    sized
}

fn assert_too_large(a: &Answer) {
    assert_problem(a, 413, "");
    let detail = a.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("api.max_body_bytes") && detail.contains(&LIMIT.to_string()),
        "{detail}"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_naming_it_and_one_at_the_limit_is_served() {
    let mut h = Harness::with(SimConfig::default(), |s| s.api.max_body_bytes = LIMIT).await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;

    let at_limit = subscription_of_size(&account, LIMIT);
    let created = api.post("/v1/subscriptions", at_limit).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();

    let over = subscription_of_size(&account, LIMIT + 1);
    assert_too_large(&api.post("/v1/subscriptions", over.clone()).await);
    // With an Idempotency-Key the middleware reads the body first: the same 413, and the
    // key is not used up by a request that was never processed.
    let keyed = |body| api.send(Method::POST, "/v1/subscriptions", Some(body), Some("k-413"));
    assert_too_large(&keyed(over).await);
    let small = subscription_of_size(&account, 1000);
    assert_eq!(keyed(small).await.status, 201);

    let big = json!({"metadata": {"note": "x".repeat(3 * LIMIT)}});
    assert_too_large(
        &api.patch(&format!("/v1/subscriptions/{id}"), big.clone())
            .await,
    );
    assert_too_large(
        &api.post(&format!("/v1/subscriptions/{id}/cancel"), big)
            .await,
    );
    let cancelled = api
        .post(&format!("/v1/subscriptions/{id}/cancel"), json!({}))
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
}

#[tokio::test]
async fn the_openapi_document_names_the_413_on_operations_that_take_a_body() {
    let mut h = Harness::with(SimConfig::default(), |s| s.api.max_body_bytes = LIMIT).await;
    let api = h.serve_api();
    let doc = api.get("/v1/openapi.json").await.body;
    let response =
        |method: &str, path: &str| doc["paths"][path][method]["responses"]["413"].clone();
    for (method, path) in [
        ("post", "/v1/accounts"),
        ("post", "/v1/subscriptions"),
        ("patch", "/v1/subscriptions/{id}"),
        ("post", "/v1/subscriptions/{id}/cancel"),
        ("post", "/v1/schedule/preview"),
    ] {
        let too_large = response(method, path);
        let description = too_large["description"].as_str().unwrap_or_default();
        assert!(
            description.contains("api.max_body_bytes (4096 bytes)"),
            "{method} {path}: {too_large}"
        );
        assert_eq!(
            too_large["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem"
        );
    }
    assert!(response("get", "/v1/accounts").is_null());
    assert!(response("post", "/v1/subscriptions/{id}/pause").is_null());
}
