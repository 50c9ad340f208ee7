use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn charge_on_active_account_is_approved_synchronously() {
    let sim = Sim::start().await;
    let account = sim.active_account(GOOD_CARD).await;
    let reference = new_reference();
    let resp = sim
        .post("/payment", &charge_body(&account, &reference, 2500))
        .await;
    assert_eq!(resp.status, 201, "{}", resp.text());
    let p = resp.json();
    assert_eq!(p["state"], "READY_FOR_CAPTURE");
    assert_eq!(p["amount"], "2500");
    assert_eq!(p["authorized_amount"], "2500");
    assert_eq!(p["data"]["RECURRING"]["initialize"], "0");
    assert!(p["_links"]["paywin"].is_null());
    let attempts = p["payment_attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["result"], "1");
    assert_eq!(attempts[0]["method"], "RECURRING");
    let a = last_attempt(&p);
    assert_eq!(a["desc"], "RECURRING_AUTH");
    assert_eq!(a["respcode"], "00");
    let authcode = a["authcode"].as_str().unwrap();
    assert!(authcode.len() == 6 && authcode.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(a["masked_cardno"], "123456**9000");
    assert_eq!(a["bin"], "123456");

    let ledger = sim.ledger().await;
    let entry = ledger
        .iter()
        .find(|e| e["id"] == p["id"])
        .expect("ledger entry");
    assert_eq!(entry["initializing"], false);
    assert_eq!(entry["reference"], reference.as_str());
    assert_eq!(entry["payment_account"], account.as_str());
    assert_eq!(sim.results().await.last().unwrap(), "approved");
}

#[tokio::test]
async fn charge_on_uninitialized_or_unknown_account_is_400() {
    let sim = Sim::start().await;
    let account = sim.create_account().await;
    for id in [account.as_str(), "99999999999"] {
        let resp = sim.charge(id, 1000).await;
        assert_eq!(resp.status, 400);
        assert!(
            resp.json()["detail"]
                .as_str()
                .unwrap()
                .contains("payment_account")
        );
    }
}

#[tokio::test]
async fn failure_card_and_soft_decline() {
    let sim = Sim::start().await;
    let account = sim.active_account(GOOD_CARD).await;
    // …51 on a good card: insufficient funds.
    let nsf = sim.charge(&account, 1051).await.json();
    assert_eq!(nsf["state"], "FAILED");
    assert_eq!(last_attempt(&nsf)["respcode"], "51");

    // The card behind the account goes bad (as after an issuer block).
    let swapped = sim
        .sim_post(
            &format!("/accounts/{account}/card"),
            json!({"card": BAD_CARD}),
        )
        .await;
    assert_eq!(swapped.status, 200, "{}", swapped.text());
    let declined = sim.charge(&account, 1000).await;
    assert_eq!(declined.status, 201);
    let p = declined.json();
    assert_eq!(p["state"], "FAILED");
    assert_eq!(p["authorized_amount"], "0");
    assert_eq!(p["payment_attempts"][0]["result"], "0");
    assert_eq!(last_attempt(&p)["desc"], "RECURRING_AUTH");
    assert_eq!(last_attempt(&p)["respcode"], "05");
    assert_eq!(last_attempt(&p)["authcode"], "");
    let ledger = sim.ledger().await;
    assert_eq!(ledger.len(), 1, "only the initializing payment: {ledger:?}");
    let results = sim.results().await;
    assert_eq!(&results[results.len() - 2..], ["declined", "declined"]);
}

#[tokio::test]
async fn fraud_card_suspends_then_reinitialization_recovers() {
    let sim = Sim::start().await;
    let account = sim.active_account(FRAUD_CARD).await;

    let terminated = sim.charge(&account, 1000).await;
    assert_eq!(terminated.status, 201);
    let p = terminated.json();
    assert_eq!(p["state"], "FAILED");
    assert_eq!(p["payment_attempts"][0]["result"], "0");
    assert_eq!(last_attempt(&p)["desc"], "ACCOUNT_TERMINATED");
    assert_eq!(last_attempt(&p)["respcode"], "43");
    assert_eq!(last_attempt(&p)["masked_cardno"], "112345******0002");
    let acc = sim.get(&format!("/payment_account/{account}")).await.json();
    assert_eq!(acc["state"], "SUSPENDED");
    let again = sim.charge(&account, 1000).await.json();
    assert_eq!(last_attempt(&again)["desc"], "ACCOUNT_TERMINATED");

    // A new initializing payment on the same account id re-enables it.
    let init = sim.initialize(&account, "http://127.0.0.1:9/cb").await;
    assert_eq!(init["state"], "CREATED");
    assert_eq!(
        sim.paywin(init["id"].as_str().unwrap(), GOOD_CARD)
            .await
            .status,
        200
    );
    let acc = sim.get(&format!("/payment_account/{account}")).await.json();
    assert_eq!(acc["state"], "ACTIVE");
    assert_eq!(acc["masked_cardno"], "123456**9000");
    let ok = sim.charge(&account, 1000).await.json();
    assert_eq!(ok["state"], "READY_FOR_CAPTURE");

    let results = sim.results().await;
    assert_eq!(
        results[results.len() - 4..],
        ["terminated", "terminated", "created", "approved"]
    );
}

#[tokio::test]
async fn php_library_top_level_fields_are_accepted() {
    let sim = Sim::start().await;
    let account = sim.create_account().await;
    let init = json!({
        "amount": 1000, "currency": "SEK", "method": "RECURRING", "reference": new_reference(),
        "return_url": "https://shop.example/r", "callback_url": "http://127.0.0.1:9/cb",
        "initialize": 1, "payment_account": account,
    });
    let created = sim.post("/payment", &init).await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(created.json()["data"]["RECURRING"]["initialize"], "1");
    sim.complete_quietly(created.json()["id"].as_str().unwrap(), GOOD_CARD)
        .await;
    let charge = json!({"amount": 700, "currency": "SEK", "method": "RECURRING",
                        "reference": new_reference(), "payment_account": account.parse::<u64>().unwrap()});
    let resp = sim.post("/payment", &charge).await;
    assert_eq!(resp.status, 201, "{}", resp.text());
    assert_eq!(resp.json()["state"], "READY_FOR_CAPTURE");
    assert_eq!(resp.json()["amount"], "700");
}
