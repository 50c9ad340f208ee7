//! Issue 10, mistake 3: a card registered without `holder` or `cvv` went to Payroc as
//! `"cardholderName": null, "cvv": null`, which a typed API refuses (the simulator does too).

use crate::support::*;
use serde_json::json;

#[tokio::test]
async fn a_payroc_card_without_holder_or_cvv_is_registered_and_charged() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let created = api
        .post(
            "/v1/accounts",
            json!({"gateway": "payroc", "processing_terminal_id": "3204001",
                "card": {"number": CARD_OK, "expiry": "1230"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["card_masked"], "453985******7062");
    let account = created.body["id"].as_str().unwrap();

    let sub = api.monthly(account, 1000, "2027-01-01T00:00:00").await;
    h.clock.set(ts("2027-01-01T00:00:00Z"));
    assert_eq!(h.run().await.approved, 1);
    let id = sub["id"].as_str().unwrap();
    let charges = api.get(&format!("/v1/subscriptions/{id}/charges")).await;
    assert_eq!(
        charges.body["data"][0]["status"], "approved",
        "{}",
        charges.body
    );
    assert_eq!(h.ledger().await.len(), 1);
}
