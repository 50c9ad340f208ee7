//! Catch-up per subscription (issue 12, part 5): a subscription's own `catch_up` and cap on the
//! missed cycles charged after downtime override the daemon's; the older cycles are skipped.

use serde_json::{Value, json};

use crate::support::*;

async fn create(api: &Api, account: &str, amount: i64, own: Value) -> Value {
    let mut body = json!({"account_id": account, "amount": amount, "currency": "USD",
        "schedule": {"anchor": "2027-01-01T00:00", "time_zone": "UTC", "interval": "month"}});
    for (k, v) in own.as_object().unwrap() {
        body[k] = v.clone();
    }
    let s = api.post("/v1/subscriptions", body).await;
    assert_eq!(s.status, 201, "{}", s.body);
    s.body
}

/// (cycle, status) of each of the subscription's charges, oldest first.
async fn cycles(api: &Api, sub: &Value) -> Vec<(i64, String)> {
    let id = sub["id"].as_str().unwrap();
    let list = api
        .get(&format!("/v1/subscriptions/{id}/charges?limit=50"))
        .await;
    let mut out: Vec<(i64, String)> = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let status = c["status"].as_str().unwrap().to_owned();
            (c["cycle"].as_i64().unwrap(), status)
        })
        .collect();
    out.sort();
    out
}

fn approved(list: &[(i64, String)]) -> Vec<i64> {
    list.iter()
        .filter(|(_, s)| s == "approved")
        .map(|(c, _)| *c)
        .collect()
}

#[tokio::test]
async fn a_cap_of_two_charges_the_newest_two_of_six_missed_cycles() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let capped = create(&api, &account, 2000, json!({"catch_up_max_cycles": 2})).await;
    assert_eq!(capped["catch_up_max_cycles"], 2);
    assert_eq!(capped["catch_up"], Value::Null, "the mode is the daemon's");
    let plain = create(&api, &account, 3000, json!({})).await;

    // The daemon was down for six cycles (January to June).
    h.clock.set(ts("2027-06-15T00:00:00Z"));
    let summary = h.run().await;
    assert_eq!((summary.due, summary.skipped), (8, 4), "{summary:?}");

    let list = cycles(&api, &capped).await;
    assert_eq!(list.len(), 6, "{list:?}");
    assert_eq!(approved(&list), [5, 6]);
    assert!(list[..4].iter().all(|(_, s)| s == "skipped"), "{list:?}");
    // Without an override it follows the daemon's `all`: every cycle charged.
    assert_eq!(approved(&cycles(&api, &plain).await), [1, 2, 3, 4, 5, 6]);
    assert_eq!(h.requests().await.len(), 8);
    assert_eq!(h.run().await.due, 0, "nothing is charged twice");
}

#[tokio::test]
async fn catch_up_is_changed_by_patch_and_follows_the_daemon_again_on_null() {
    let mut h = Harness::with(gateway_sim::SimConfig::default(), |s| {
        s.billing.catch_up_max_cycles = Some(3);
    })
    .await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let latest = create(&api, &account, 2000, json!({})).await;
    let id = latest["id"].as_str().unwrap();
    let patched = api
        .patch(
            &format!("/v1/subscriptions/{id}"),
            json!({"catch_up": "latest"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["catch_up"], "latest");
    let daemon = create(&api, &account, 3000, json!({"catch_up": "latest"})).await;
    let did = daemon["id"].as_str().unwrap();
    let cleared = api
        .patch(
            &format!("/v1/subscriptions/{did}"),
            json!({"catch_up": null}),
        )
        .await;
    assert_eq!(cleared.body["catch_up"], Value::Null, "{}", cleared.body);

    h.clock.set(ts("2027-06-15T00:00:00Z"));
    h.run().await;
    assert_eq!(approved(&cycles(&api, &latest).await), [6]);
    // The daemon's cap of three.
    assert_eq!(approved(&cycles(&api, &daemon).await), [4, 5, 6]);
}

#[tokio::test]
async fn a_bad_catch_up_is_refused_naming_the_field() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let base = json!({"account_id": account, "amount": 100, "currency": "USD",
        "schedule": {"anchor": "2027-01-01T00:00", "time_zone": "UTC", "interval": "month"}});
    for (k, v, field) in [
        ("catch_up_max_cycles", json!(0), "catch_up_max_cycles"),
        ("catch_up", json!("some"), "catch_up"),
    ] {
        let mut body = base.clone();
        body[k] = v;
        assert_problem(&api.post("/v1/subscriptions", body).await, 422, field);
    }
    let mut both = base.clone();
    both["catch_up"] = json!("latest");
    both["catch_up_max_cycles"] = json!(2);
    assert_problem(
        &api.post("/v1/subscriptions", both).await,
        422,
        "catch_up_max_cycles",
    );
    let list = api.get("/v1/subscriptions").await;
    assert!(
        list.body["data"].as_array().unwrap().is_empty(),
        "nothing stored"
    );
}

#[tokio::test]
async fn an_imported_csv_row_carries_its_own_catch_up() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let file = format!(
        "merchant_reference,account_id,amount,currency,anchor,time_zone,interval,catch_up_max_cycles\n\
         book-cap,{account},1500,USD,2027-02-01T00:00,UTC,month,2\n"
    );
    let r = api
        .http
        .post(format!("{}/v1/imports?format=csv", api.base))
        .bearer_auth(ADMIN_TOKEN)
        .body(file)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let list = api
        .get("/v1/subscriptions?merchant_reference=book-cap")
        .await;
    assert_eq!(
        list.body["data"][0]["catch_up_max_cycles"], 2,
        "{}",
        list.body
    );
}
