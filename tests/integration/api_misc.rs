//! Auth, idempotent writes, the OpenAPI document, health and readiness.

use crate::support::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn every_v1_route_needs_the_admin_token_and_probes_do_not() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let anonymous = api.without_token();
    for path in [
        "/v1/accounts",
        "/v1/subscriptions",
        "/v1/charges",
        "/v1/openapi.json",
    ] {
        assert_problem(&anonymous.get(path).await, 401, "");
    }
    let wrong = Api {
        token: Some("test-admin-tokeN".into()),
        ..api.without_token()
    };
    assert_problem(&wrong.post("/v1/accounts", json!({})).await, 401, "");
    let r = api
        .http
        .get(format!("{}/v1/accounts", api.base))
        .header("authorization", format!("Basic {ADMIN_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(anonymous.get("/healthz").await.status, 200);
    assert_eq!(anonymous.get("/metrics").await.status, 200);
    assert_problem(&api.get("/v1/nothing-here").await, 404, "");
}

#[tokio::test]
async fn a_retried_post_with_the_same_key_returns_the_stored_answer_and_creates_nothing_twice() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let body = json!({"account_id": account, "amount": 2500, "currency": "USD",
        "schedule": {"anchor": "2027-01-01T00:00:00", "time_zone": "UTC", "interval": "month"}});
    let first = api
        .send(
            Method::POST,
            "/v1/subscriptions",
            Some(body.clone()),
            Some("order-77"),
        )
        .await;
    let again = api
        .send(
            Method::POST,
            "/v1/subscriptions",
            Some(body.clone()),
            Some("order-77"),
        )
        .await;
    assert_eq!(first.status, 201);
    assert_eq!(again.status, 201);
    assert_eq!(first.body, again.body, "the stored response");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(first.headers["idempotent-replayed"], "false");
    let listed = api
        .get(&format!("/v1/subscriptions?account_id={account}"))
        .await;
    assert_eq!(
        listed.body["data"].as_array().unwrap().len(),
        1,
        "one subscription"
    );

    let mut other = body.clone();
    other["amount"] = json!(2600);
    let conflict = api
        .send(
            Method::POST,
            "/v1/subscriptions",
            Some(other),
            Some("order-77"),
        )
        .await;
    assert_problem(&conflict, 409, "");
    assert!(
        conflict.body["type"]
            .as_str()
            .unwrap()
            .ends_with("idempotency-key-in-use")
    );
    let same_key_other_route = api
        .send(
            Method::POST,
            "/v1/schedule/preview",
            Some(json!({})),
            Some("order-77"),
        )
        .await;
    assert_eq!(same_key_other_route.status, 409);

    // A 4xx is an answer too: replayed as such.
    let bad = json!({"account_id": account, "amount": 0, "currency": "USD",
        "schedule": {"anchor": "2027-01-01T00:00:00", "time_zone": "UTC", "interval": "month"}});
    let once = api
        .send(
            Method::POST,
            "/v1/subscriptions",
            Some(bad.clone()),
            Some("bad-1"),
        )
        .await;
    let twice = api
        .send(Method::POST, "/v1/subscriptions", Some(bad), Some("bad-1"))
        .await;
    assert_problem(&once, 422, "amount");
    assert_problem(&twice, 422, "amount");
    assert_eq!(twice.headers["idempotent-replayed"], "true");

    let long_key = "k".repeat(300);
    assert_problem(
        &api.send(
            Method::POST,
            "/v1/subscriptions",
            Some(body),
            Some(&long_key),
        )
        .await,
        422,
        "Idempotency-Key",
    );
}

#[tokio::test]
async fn the_openapi_document_matches_the_routes() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let doc = api.get("/v1/openapi.json").await;
    assert_eq!(doc.status, 200);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with('3'));
    let paths = doc.body["paths"].as_object().unwrap();
    let mut documented: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(p, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), p.clone()))
        })
        .collect();
    documented.sort();
    let expected = [
        ("GET", "/v1/accounts"),
        ("POST", "/v1/accounts"),
        ("GET", "/v1/accounts/{id}"),
        ("POST", "/v1/accounts/{id}/reinitialize"),
        ("POST", "/v1/accounts/{id}/suspend"),
        ("GET", "/v1/charges"),
        ("GET", "/v1/charges/{id}"),
        ("GET", "/v1/reconciliation/findings"),
        ("GET", "/v1/forecast"),
        ("POST", "/v1/imports"),
        ("POST", "/v1/charges/{id}/retry"),
        ("POST", "/v1/schedule/preview"),
        ("GET", "/v1/subscriptions"),
        ("POST", "/v1/subscriptions"),
        ("GET", "/v1/subscriptions/{id}"),
        ("PATCH", "/v1/subscriptions/{id}"),
        ("POST", "/v1/subscriptions/{id}/cancel"),
        ("GET", "/v1/subscriptions/{id}/charges"),
        ("POST", "/v1/subscriptions/{id}/pause"),
        ("GET", "/v1/subscriptions/{id}/preview"),
        ("POST", "/v1/subscriptions/{id}/resume"),
        ("GET", "/v1/webhook-events"),
        ("GET", "/v1/webhook-events/{id}"),
    ];
    let mut expected: Vec<(String, String)> = expected
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    expected.sort();
    assert_eq!(documented, expected);
    // Every documented operation is routed: none answers "no such route" or 405.
    let id = "0b8e4a1c-2f8e-4c1e-9d55-6a8f0c0e7d11";
    for (method, path) in &documented {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let body = (method != Method::GET).then(|| json!({}));
        let a = api
            .send(method.clone(), &path.replace("{id}", id), body, None)
            .await;
        assert!(
            a.status != 405 && a.body["detail"] != "no such route",
            "{method} {path}: {}",
            a.body
        );
    }
}

#[tokio::test]
async fn readiness_reports_each_check() {
    let mut h = Harness::start().await;
    let api = h.serve_api().without_token();
    let health = api.get("/healthz").await;
    assert_eq!(
        (health.status, health.body["status"].as_str()),
        (200, Some("ok"))
    );
    // The harness drives billing by hand: no heartbeat, so not ready.
    let ready = api.get("/readyz").await;
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert_eq!(ready.body["checks"]["database"], "ok");
    assert_eq!(ready.body["checks"]["migrations"], "current");
    assert_eq!(ready.body["checks"]["scheduler"], "stopped");
    h.app
        .scheduler_running
        .store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(api.get("/readyz").await.status, 200);
}

/// `api.callback_listen` and `api.metrics_listen`: the CertiTrade callback and the metrics each on
/// a listener of their own, serving nothing else; the admin API's listener no longer serves them.
#[tokio::test]
async fn the_callback_and_the_metrics_can_each_have_a_listener_of_their_own() {
    let mut h = Harness::with(Default::default(), |s| {
        s.api.callback_listen = Some("127.0.0.1:0".into());
        s.api.metrics_listen = Some("127.0.0.1:0".into());
    })
    .await;
    let api = h.serve_api();
    let callback = format!(
        "http://{}",
        h.app
            .audience_addr(billingd::api::Audience::Callback)
            .unwrap()
    );
    let metrics = format!(
        "http://{}",
        h.app
            .audience_addr(billingd::api::Audience::Metrics)
            .unwrap()
    );
    let get = |url: String| async move { reqwest::get(url).await.unwrap().status().as_u16() };
    let post = |url: String| async move {
        reqwest::Client::new()
            .post(url)
            .form(&[("paymentid", "1")])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(get(format!("{metrics}/metrics")).await, 200);
    assert_eq!(get(format!("{}/metrics", api.base)).await, 404);
    assert_eq!(get(format!("{metrics}/v1/accounts")).await, 404);
    assert_ne!(post(format!("{callback}/certitrade/callback")).await, 404);
    assert_eq!(post(format!("{}/certitrade/callback", api.base)).await, 404);
    assert_eq!(get(format!("{callback}/metrics")).await, 404);
    assert_eq!(get(format!("{callback}/v1/accounts")).await, 404);
    assert_eq!(api.get("/v1/accounts").await.status, 200);
    assert_eq!(get(format!("{}/healthz", api.base)).await, 200);
}
