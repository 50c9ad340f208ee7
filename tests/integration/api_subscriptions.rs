//! /v1/subscriptions, charges and previews over real HTTP, billing driven by the manual clock.

use crate::support::*;
use serde_json::json;

#[tokio::test]
async fn subscriptions_are_created_filtered_paged_and_moved_through_their_lifecycle() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let other = api.account(CARD_OK).await;

    let created = api
        .post("/v1/subscriptions", json!({"account_id": account, "amount": 1500, "currency": "EUR",
            "schedule": {"anchor": "2027-01-31T09:00:00", "time_zone": "Europe/Paris", "interval": "month"},
            "merchant_reference": "plan-gold-7", "metadata": {"crm_id": 7}}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["status"], "active");
    assert_eq!(created.body["next_cycle"], 1);
    assert_eq!(created.body["next_due_at"], "2027-01-31T08:00:00Z");
    assert_eq!(created.body["metadata"], json!({"crm_id": 7}));
    assert_eq!(created.body["schedule"]["anchor"], "2027-01-31T09:00:00");

    for i in 0..3 {
        api.monthly(&other, 1000 + i * 100, "2027-02-01T00:00:00")
            .await;
    }
    let by_ref = api
        .get("/v1/subscriptions?merchant_reference=plan-gold-7")
        .await;
    assert_eq!(by_ref.body["data"].as_array().unwrap().len(), 1);
    let by_account = api
        .get(&format!("/v1/subscriptions?account_id={other}&limit=2"))
        .await;
    assert_eq!(by_account.body["data"].as_array().unwrap().len(), 2);
    let cursor = by_account.body["next_cursor"].as_str().unwrap().to_owned();
    let rest = api
        .get(&format!(
            "/v1/subscriptions?account_id={other}&limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(rest.body["data"].as_array().unwrap().len(), 1);

    // Amount from the next cycle on.
    let changed = api
        .patch(&format!("/v1/subscriptions/{id}"), json!({"amount": 1800}))
        .await;
    assert_eq!(
        (changed.status, changed.body["amount"].as_i64()),
        (200, Some(1800))
    );

    let paused = api
        .post(&format!("/v1/subscriptions/{id}/pause"), json!({}))
        .await;
    assert_eq!(paused.body["status"], "paused");
    assert_eq!(
        api.get("/v1/subscriptions?status=paused").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_problem(
        &api.post(&format!("/v1/subscriptions/{id}/pause"), json!({}))
            .await,
        409,
        "",
    );
    h.clock.set(ts("2027-03-15T00:00:00Z"));
    assert_eq!(
        h.run().await.due,
        6,
        "the paused plan is not billed; the three others twice each"
    );
    let resumed = api
        .post(&format!("/v1/subscriptions/{id}/resume"), json!({}))
        .await;
    assert_eq!(resumed.body["status"], "active", "{}", resumed.body);
    assert_eq!(
        resumed.body["next_due_at"], "2027-03-31T07:00:00Z",
        "no charge for the paused months"
    );

    let at_end = api
        .post(
            &format!("/v1/subscriptions/{id}/cancel"),
            json!({"at_period_end": true}),
        )
        .await;
    assert_eq!(
        (
            at_end.body["status"].as_str(),
            at_end.body["cancel_at_period_end"].as_bool()
        ),
        (Some("active"), Some(true))
    );
    h.clock.set(ts("2027-04-01T00:00:00Z"));
    h.run().await;
    let ended = api.get(&format!("/v1/subscriptions/{id}")).await;
    assert_eq!(ended.body["status"], "cancelled");
    assert_eq!(
        api.get(&format!("/v1/subscriptions/{id}/charges"))
            .await
            .body["data"],
        json!([])
    );
    let resume_cancelled = api
        .post(&format!("/v1/subscriptions/{id}/resume"), json!({}))
        .await;
    assert_problem(&resume_cancelled, 409, "");
    assert!(
        resume_cancelled.body["detail"]
            .as_str()
            .unwrap()
            .contains("cancelled")
    );
    assert_problem(
        &api.patch(&format!("/v1/subscriptions/{id}"), json!({"amount": 5}))
            .await,
        409,
        "",
    );

    // Cancel now, with an empty body.
    let now_id = rest.body["data"][0]["id"].as_str().unwrap();
    let r = api
        .http
        .post(format!("{}/v1/subscriptions/{now_id}/cancel", api.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn impossible_subscriptions_are_refused_with_the_field_named() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let base = json!({"account_id": account, "amount": 1000, "currency": "USD",
        "schedule": {"anchor": "2027-01-31T09:00:00", "time_zone": "UTC", "interval": "month"}});
    let with = |path: &[&str], v: serde_json::Value| {
        let mut b = base.clone();
        let mut at = &mut b;
        for p in &path[..path.len() - 1] {
            at = &mut at[*p];
        }
        at[path[path.len() - 1]] = v;
        b
    };
    let cases = [
        (with(&["amount"], json!(0)), "amount"),
        (with(&["amount"], json!(-5)), "amount"),
        (with(&["amount"], json!(12.5)), "amount"),
        (with(&["currency"], json!("usd")), "currency"),
        (with(&["currency"], json!("XYZ")), "currency"),
        (
            with(
                &["account_id"],
                json!("0b8e4a1c-2f8e-4c1e-9d55-6a8f0c0e7d11"),
            ),
            "account_id",
        ),
        (
            with(&["schedule", "time_zone"], json!("Mars/Olympus")),
            "schedule.time_zone",
        ),
        (
            with(&["schedule", "interval"], json!("fortnight")),
            "schedule.interval",
        ),
        (
            with(&["schedule", "interval_count"], json!(0)),
            "schedule.interval_count",
        ),
        (
            with(&["schedule", "total_cycles"], json!(0)),
            "schedule.total_cycles",
        ),
        (
            with(&["schedule", "anchor"], json!("2027-02-30T09:00:00")),
            "schedule.anchor",
        ),
        (
            with(&["schedule", "anchor"], json!("tomorrow")),
            "schedule.anchor",
        ),
        (
            with(&["schedule", "anchor"], json!("2025-06-01T00:00:00")),
            "schedule.anchor",
        ),
        (with(&["schedule", "every"], json!(2)), "schedule.every"),
        (
            with(&["merchant_reference"], json!("")),
            "merchant_reference",
        ),
        (with(&["metadata"], json!([1, 2])), "metadata"),
    ];
    for (body, field) in cases {
        let a = api.post("/v1/subscriptions", body.clone()).await;
        assert_problem(&a, 422, field);
    }
    assert_eq!(
        api.get("/v1/subscriptions").await.body["data"],
        json!([]),
        "no partial write"
    );
    assert_problem(
        &api.get("/v1/subscriptions?status=sleeping").await,
        422,
        "status",
    );
    assert_problem(
        &api.get("/v1/subscriptions/0b8e4a1c-2f8e-4c1e-9d55-6a8f0c0e7d11")
            .await,
        404,
        "",
    );
    let id = api.monthly(&account, 1000, "2027-01-01T00:00:00").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_problem(
        &api.patch(&format!("/v1/subscriptions/{id}"), json!({"amount": 0}))
            .await,
        422,
        "amount",
    );
    assert_problem(
        &api.post(
            &format!("/v1/subscriptions/{id}/cancel"),
            json!({"when": "now"}),
        )
        .await,
        422,
        "when",
    );
}

#[tokio::test]
async fn charges_are_listed_filtered_and_shown_with_every_request_sent() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let ok = api.monthly(&account, 1000, "2027-01-01T00:00:00").await;
    let flaky = api.monthly(&account, 1099, "2027-01-02T00:00:00").await; // dropped after approval
    let declined = api.monthly(&account, 1054, "2027-01-03T00:00:00").await; // expired card
    h.clock.set(ts("2027-02-15T00:00:00Z"));
    h.run().await;

    let ok_id = ok["id"].as_str().unwrap();
    let ok_charges = api.get(&format!("/v1/subscriptions/{ok_id}/charges")).await;
    let cycles: Vec<_> = ok_charges.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cycle"].clone())
        .collect();
    assert_eq!(cycles, [json!(1), json!(2)]);

    // Six cycles fell due; the declined plan's second waits behind its failed first (past due).
    let all = api.get("/v1/charges?limit=200").await;
    assert_eq!(all.body["data"].as_array().unwrap().len(), 6);
    let waiting = api.get("/v1/charges?status=due").await;
    assert_eq!(waiting.body["data"][0]["subscription_id"], declined["id"]);
    let failed = api.get("/v1/charges?status=failed").await;
    assert_eq!(failed.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(failed.body["data"][0]["subscription_id"], declined["id"]);
    let january = api
        .get("/v1/charges?due_from=2027-01-01T00:00:00Z&due_to=2027-02-01T00:00:00Z")
        .await;
    assert_eq!(january.body["data"].as_array().unwrap().len(), 3);
    let page = api.get("/v1/charges?limit=2").await;
    let next = page.body["next_cursor"].as_str().unwrap();
    let page2 = api.get(&format!("/v1/charges?limit=2&cursor={next}")).await;
    assert_ne!(page.body["data"][0]["id"], page2.body["data"][0]["id"]);

    let flaky_id = flaky["id"].as_str().unwrap();
    let flaky_charge = &api
        .get(&format!("/v1/subscriptions/{flaky_id}/charges"))
        .await
        .body["data"][0];
    let detail = api
        .get(&format!(
            "/v1/charges/{}",
            flaky_charge["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(detail.status, 200);
    assert_eq!(detail.body["charge"]["status"], "approved");
    let attempts = detail.body["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["outcome"], "unknown");
    assert_eq!(attempts[1]["outcome"], "approved");
    assert_eq!(
        attempts[0]["idempotency_key"],
        attempts[1]["idempotency_key"]
    );
    assert_eq!(attempts[1]["order_id"], detail.body["charge"]["order_id"]);
    assert_eq!(attempts[1]["processor_response_code"], "00");

    assert_problem(&api.get("/v1/charges?status=lost").await, 422, "status");
    assert_problem(
        &api.get("/v1/charges?due_from=2027-03-01T00:00:00Z&due_to=2027-01-01T00:00:00Z")
            .await,
        422,
        "due_from",
    );
    assert_problem(
        &api.get("/v1/charges?due_from=yesterday").await,
        422,
        "due_from",
    );
    assert_problem(
        &api.get("/v1/charges/0b8e4a1c-2f8e-4c1e-9d55-6a8f0c0e7d11")
            .await,
        404,
        "",
    );
}

#[tokio::test]
async fn previews_explain_month_ends_and_daylight_saving() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let proposed = api
        .post("/v1/schedule/preview", json!({"count": 3,
            "schedule": {"anchor": "2027-01-31T09:00:00", "time_zone": "Europe/Paris", "interval": "month", "total_cycles": 3}}))
        .await;
    assert_eq!(proposed.status, 200, "{}", proposed.body);
    let cycles = proposed.body["cycles"].as_array().unwrap();
    assert_eq!(cycles[1]["local_due"], "2027-02-28T09:00:00");
    assert_eq!(cycles[1]["due_at"], "2027-02-28T08:00:00Z");
    assert!(
        cycles[1]["notes"][0]
            .as_str()
            .unwrap()
            .contains("day 31 does not exist"),
        "{}",
        cycles[1]
    );
    assert_eq!(cycles[0]["sequence"], "first");
    assert_eq!(cycles[1]["sequence"], "subsequent");
    assert_eq!(cycles[2]["is_last"], true);
    assert_eq!(cycles[2]["processing_model"], "installment");

    let gap = api
        .post("/v1/schedule/preview", json!({"count": 2,
            "schedule": {"anchor": "2027-03-27T02:30:00", "time_zone": "Europe/Paris", "interval": "day"}}))
        .await;
    assert_eq!(gap.body["cycles"][1]["local_due"], "2027-03-28T03:30:00");
    assert!(
        gap.body["cycles"][1]["notes"][0]
            .as_str()
            .unwrap()
            .contains("daylight-saving gap")
    );

    let account = api.account(CARD_OK).await;
    let sub = api.monthly(&account, 1000, "2027-01-31T09:00:00").await;
    let preview = api
        .get(&format!(
            "/v1/subscriptions/{}/preview?count=2",
            sub["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(preview.body["cycles"].as_array().unwrap().len(), 2);
    assert_problem(
        &api.get(&format!(
            "/v1/subscriptions/{}/preview?count=0",
            sub["id"].as_str().unwrap()
        ))
        .await,
        422,
        "count",
    );
    assert_problem(
        &api.post("/v1/schedule/preview", json!({"schedule": {"anchor": "2027-01-31T09:00:00", "time_zone": "Nowhere", "interval": "month"}})).await,
        422,
        "schedule.time_zone",
    );
}
