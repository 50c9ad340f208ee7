//! Taking over subscriptions another system has billed (issue 12, part 1): the billed cycles are
//! recorded as `imported` and never charged; billing starts at the next cycle, in the
//! agreement's existing series.

use crate::support::*;
use serde_json::{Value, json};

#[tokio::test]
async fn an_imported_subscription_is_charged_from_its_next_cycle_once_in_its_series() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let legacy = h.legacy_first_payment(&account).await;
    let (first_id, scheme_ref) = (
        legacy.fields.payment_id.unwrap(),
        legacy.fields.scheme_reference,
    );

    // Billed monthly since June 2025 by the old system, through December 2026 (cycle 19).
    let created = api
        .post(
            "/v1/subscriptions",
            json!({"account_id": account, "amount": 2500, "currency": "USD",
                "schedule": {"anchor": "2025-06-10T09:00", "time_zone": "UTC", "interval": "month"},
                "billed_through_cycle": 19, "merchant_reference": "legacy-42",
                "series": {"payment_id": first_id, "scheme_reference": scheme_ref}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let sub = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["next_due_at"], "2027-01-10T09:00:00Z");

    let imported = api
        .get(&format!(
            "/v1/charges?subscription_id={sub}&status=imported&limit=200"
        ))
        .await;
    assert_eq!(imported.status, 200, "{}", imported.body);
    assert_eq!(imported.body["data"].as_array().unwrap().len(), 19);

    // A run before the next cycle falls due charges nothing.
    assert_eq!(h.run().await.approved, 0);
    h.clock.set(ts("2027-01-10T10:00:00Z"));
    assert_eq!(h.run().await.approved, 1);
    h.clock.set(ts("2027-01-20T00:00:00Z"));
    assert_eq!(h.run().await.approved, 0, "the cycle is charged once");

    let sales: Vec<Value> = h
        .ledger()
        .await
        .into_iter()
        .filter(|e| e["orderId"] != "legacy-first-1")
        .collect();
    assert_eq!(sales.len(), 1, "only cycle 20: {sales:#?}");
    assert_eq!(sales[0]["sequence"], "subsequent");
    assert_eq!(sales[0]["processingModel"], "recurring");
    assert_eq!(sales[0]["firstPaymentId"], first_id.as_str());
    let charged = api
        .get(&format!(
            "/v1/charges?subscription_id={sub}&status=approved"
        ))
        .await;
    let charged = charged.body["data"].as_array().unwrap().clone();
    assert_eq!(charged.len(), 1);
    assert_eq!(charged[0]["cycle"], 20);
}

#[tokio::test]
async fn paid_through_starts_billing_at_the_first_cycle_due_at_or_after_it() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let created = api
        .post(
            "/v1/subscriptions",
            json!({"account_id": account, "amount": 900, "currency": "USD",
                "schedule": {"anchor": "2026-03-15T12:00", "time_zone": "UTC", "interval": "month"},
                "paid_through": "2027-01-15T12:00:00Z"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["next_due_at"], "2027-01-15T12:00:00Z");
    h.clock.set(ts("2027-01-15T13:00:00Z"));
    let run = h.run().await;
    assert_eq!((run.due, run.approved), (1, 1), "{run:?}");
}

#[tokio::test]
async fn an_import_that_cannot_be_right_is_refused_naming_the_field() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let post = |extra: Value| {
        let mut body = json!({"account_id": account, "amount": 900, "currency": "USD",
            "schedule": {"anchor": "2026-03-15T12:00", "time_zone": "UTC", "interval": "month",
                "total_cycles": 12}});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    for (extra, field) in [
        // Cycles 3 to 10 have fallen due since: stale.
        (json!({"billed_through_cycle": 2}), "billed_through_cycle"),
        (json!({"billed_through_cycle": 12}), "billed_through_cycle"),
        (json!({"billed_through_cycle": 13}), "billed_through_cycle"),
        (json!({"billed_through_cycle": 0}), "billed_through_cycle"),
        (
            json!({"billed_through_cycle": 10, "paid_through": "2027-01-15T12:00:00Z"}),
            "paid_through",
        ),
        (
            json!({"paid_through": "2020-01-01T00:00:00Z"}),
            "paid_through",
        ),
    ] {
        let a = api.post("/v1/subscriptions", post(extra.clone())).await;
        assert_problem(&a, 422, field);
    }
    let listed = api.get("/v1/subscriptions").await;
    assert_eq!(listed.body["data"], json!([]), "nothing stored");
}

/// Sends an import file to `POST /v1/imports` with `query`.
async fn import_file(api: &Api, query: &str, file: String) -> Answer {
    let r = api
        .http
        .post(format!("{}/v1/imports?{query}", api.base))
        .bearer_auth(api.token.as_deref().unwrap())
        .body(file)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.json().await.unwrap();
    Answer {
        status,
        body,
        headers,
    }
}

#[tokio::test]
async fn a_csv_dry_run_names_each_bad_rows_line_and_field_and_writes_nothing() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let file = format!(
        "merchant_reference,account_id,amount,currency,anchor,time_zone,interval,billed_through_cycle\n\
         book-1,{account},1500,USD,2026-06-05T08:00,UTC,month,7\n\
         book-2,{account},1500,USD,2026-06-05T08:00,Mars/Olympus,month,7\n\
         book-3,{account},12.50,USD,2026-06-05T08:00,UTC,month,7\n\
         ,{account},1500,USD,2026-06-05T08:00,UTC,month,7\n"
    );
    let a = import_file(&api, "format=csv&dry_run=true", file.clone()).await;
    assert_eq!(a.status, 422, "{}", a.body);
    let rows = a.body["rows"].as_array().unwrap();
    let summary: Vec<(u64, &str, Option<&str>)> = rows
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["result"].as_str().unwrap(),
                r["errors"][0]["field"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (2, "accepted", None),
            (3, "rejected", Some("schedule.time_zone")),
            (4, "rejected", Some("amount")),
            (5, "rejected", Some("merchant_reference")),
        ]
    );
    // A rejected row's report names its reference as written, where it has one.
    let references: Vec<&Value> = rows.iter().map(|r| &r["merchant_reference"]).collect();
    assert_eq!(
        references,
        [
            &json!("book-1"),
            &json!("book-2"),
            &json!("book-3"),
            &Value::Null
        ]
    );
    assert_eq!(rows[0]["next_cycle"], 8);
    assert_eq!(rows[0]["next_due_at"], "2027-01-05T08:00:00Z");
    assert_eq!(rows[0]["imported_cycles"], 7);
    assert_eq!(
        a.body["next_30_days"],
        json!([{"date": "2027-01-05", "currency": "USD", "charges": 1, "amount_minor": 1500}])
    );
    // A real run of the same file imports nothing either: all or nothing.
    let a = import_file(&api, "format=csv", file).await;
    assert_eq!((a.status, &a.body["imported"]), (422, &json!(false)));
    assert_eq!(api.get("/v1/subscriptions").await.body["data"], json!([]));
}

#[tokio::test]
async fn a_jsonl_import_creates_each_reference_once_however_often_it_runs() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let row = |reference: &str, cycle: u32| {
        json!({"merchant_reference": reference, "account_id": account, "amount": 990,
            "currency": "USD", "billed_through_cycle": cycle,
            "schedule": {"anchor": "2026-09-20T10:00", "time_zone": "UTC", "interval": "month"}})
        .to_string()
    };
    let file = format!("{}\n\n{}\n", row("jl-1", 4), row("jl-2", 3));
    let first = import_file(&api, "", file.clone()).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["imported"], true);
    let results: Vec<&str> = first.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["created", "created"]);
    assert_eq!(
        first.body["rows"][1]["line"], 3,
        "blank lines keep the numbering"
    );

    let again = import_file(&api, "", file).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(
        (
            again.body["existing"].as_u64(),
            again.body["accepted"].as_u64()
        ),
        (Some(2), Some(0))
    );
    assert_eq!(
        again.body["rows"][0]["subscription_id"],
        first.body["rows"][0]["subscription_id"]
    );
    let subs = api.get("/v1/subscriptions").await;
    assert_eq!(subs.body["data"].as_array().unwrap().len(), 2);

    // jl-2 is billed through cycle 3 (2026-11-20): its cycle 4 (Dec 20) fell due before the
    // import and is charged now, once; jl-1's next cycle is January 20.
    let run = h.run().await;
    assert_eq!((run.due, run.approved), (1, 1), "{run:?}");
    assert_eq!(h.ledger().await.len(), 1);
}

#[tokio::test]
async fn a_rejected_jsonl_row_reports_its_reference() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let file = format!(
        "{}\n{}\n",
        json!({"merchant_reference": "bad-amount", "account_id": account, "amount": "ten",
            "currency": "USD", "schedule": {"anchor": "2027-02-01T00:00", "time_zone": "UTC",
            "interval": "month"}}),
        json!({"merchant_reference": "bad-zone", "account_id": account, "amount": 100,
            "currency": "USD", "schedule": {"anchor": "2027-02-01T00:00", "time_zone": "Nowhere",
            "interval": "month"}}),
    );
    let a = import_file(&api, "dry_run=true", file).await;
    assert_eq!(a.status, 422, "{}", a.body);
    let rows = a.body["rows"].as_array().unwrap();
    let seen: Vec<(&Value, &Value)> = rows
        .iter()
        .map(|r| (&r["merchant_reference"], &r["result"]))
        .collect();
    assert_eq!(
        seen,
        [
            (&json!("bad-amount"), &json!("rejected")),
            (&json!("bad-zone"), &json!("rejected"))
        ]
    );
}
