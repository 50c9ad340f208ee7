//! /v1/forecast: the book's expected charges per UTC day and currency, over real HTTP.

use serde_json::{Value, json};

use crate::support::*;

fn rows(forecast: &Value) -> Vec<(String, String, u64, i64)> {
    forecast["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap().to_owned(),
                d["currency"].as_str().unwrap().to_owned(),
                d["charges"].as_u64().unwrap(),
                d["amount_minor"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn row(date: &str, charges: u64, amount: i64) -> (String, String, u64, i64) {
    (date.to_owned(), "USD".to_owned(), charges, amount)
}

#[tokio::test]
async fn the_forecast_follows_the_schedules_and_leaves_out_what_will_not_be_charged() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let other = api.account(CARD_OK).await;
    api.monthly(&account, 1000, "2027-01-10T09:00").await;
    api.monthly(&account, 2500, "2027-01-10T18:00").await;
    let paused = api.monthly(&other, 700, "2027-01-20T09:00").await;

    let f = api.get("/v1/forecast?days=45").await;
    assert_eq!(f.status, 200, "{}", f.body);
    assert_eq!(
        rows(&f.body),
        [
            row("2027-01-10", 2, 3500),
            row("2027-01-20", 1, 700),
            row("2027-02-10", 2, 3500),
        ]
    );
    assert_eq!(
        f.body["totals"],
        json!([{"currency": "USD", "charges": 5, "amount_minor": 7700}])
    );

    // A paused subscription charges nothing until it is resumed.
    let id = paused["id"].as_str().unwrap();
    let p = api
        .post(&format!("/v1/subscriptions/{id}/pause"), json!({}))
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    let f = api.get("/v1/forecast?days=45").await;
    assert_eq!(
        rows(&f.body),
        [row("2027-01-10", 2, 3500), row("2027-02-10", 2, 3500)]
    );

    // Once January is charged, the forecast starts at February.
    h.clock.set(ts("2027-01-11T00:00:00Z"));
    h.run().await;
    let f = api.get("/v1/forecast?days=31").await;
    assert_eq!(rows(&f.body), [row("2027-02-10", 2, 3500)]);
    assert_eq!(f.body["from"], "2027-01-11T00:00:00Z");
    assert_eq!(f.body["until"], "2027-02-11T00:00:00Z");
    // 30 days by default: February's charges fall after its end.
    let f = api.get("/v1/forecast").await;
    assert_eq!(f.body["until"], "2027-02-10T00:00:00Z");
    assert_eq!(rows(&f.body), []);
}

#[tokio::test]
async fn a_forecast_outside_one_to_366_days_is_refused_naming_days() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    for bad in ["0", "367", "-3", "many"] {
        let a = api.get(&format!("/v1/forecast?days={bad}")).await;
        assert_problem(&a, 422, "days");
    }
}
