use serde_json::json;

use crate::common::*;
use crate::receiver::Receiver;

#[tokio::test]
async fn initializing_payment_is_created_with_a_paywin_link() {
    let sim = Sim::start().await;
    let account = sim.create_account().await;
    let reference = new_reference();
    let resp = sim
        .post(
            "/payment",
            &init_body(&account, &reference, "https://shop.example/cb"),
        )
        .await;
    assert_eq!(resp.status, 201, "{}", resp.text());
    assert_eq!(resp.content_type, "application/hal+json");
    let p = resp.json();
    let id = p["id"].as_str().unwrap();
    assert_eq!(p["state"], "CREATED");
    assert_eq!(p["amount"], "1000");
    assert_eq!(p["authorized_amount"], "0");
    assert_eq!(p["currency"], "SEK");
    assert_eq!(p["method"], "RECURRING");
    assert_eq!(p["reference"], reference.as_str());
    assert_eq!(p["merchant"], MERCHANT);
    assert_eq!(p["payment_attempts"], json!([]));
    assert_eq!(
        p["data"]["RECURRING"],
        json!({"initialize": "1", "payment_account": account})
    );
    assert_eq!(p["callback_url"], "https://shop.example/cb");
    assert_eq!(
        p["_links"]["self"]["href"],
        sim.url(&format!("/payment/{id}"))
    );
    let paywin = format!("{}/certitrade/paywin/{id}", sim.sim.base_url());
    assert_eq!(p["_links"]["paywin"]["href"], paywin);
    assert_eq!(sim.results().await, ["created"]);
    assert!(sim.ledger().await.is_empty(), "nothing authorised yet");
}

#[tokio::test]
async fn initializing_needs_both_urls() {
    let sim = Sim::start().await;
    let account = sim.create_account().await;
    let mut body = init_body(&account, &new_reference(), "https://shop.example/cb");
    body.as_object_mut().unwrap().remove("return_url");
    let resp = sim.post("/payment", &body).await;
    assert_eq!(resp.status, 400);
    assert!(
        resp.json()["detail"]
            .as_str()
            .unwrap()
            .contains("return_url")
    );
    assert_eq!(sim.results().await, ["bad_request"]);
}

#[tokio::test]
async fn paywin_success_activates_account_and_calls_back() {
    let sim = Sim::start().await;
    let merchant = Receiver::start(&[]).await;
    let account = sim.create_account().await;
    let init = sim.initialize(&account, &merchant.url).await;
    let id = init["id"].as_str().unwrap();

    let page = sim.paywin(id, GOOD_3DS_CARD).await;
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"));
    assert!(page.text().contains("Payment approved"));
    assert!(
        page.text()
            .contains("href=\"https://shop.example/return?x=&lt;1&gt;\"")
    );

    let p = sim.get(&format!("/payment/{id}")).await.json();
    assert_eq!(p["state"], "READY_FOR_CAPTURE");
    assert_eq!(p["authorized_amount"], "1000");
    assert_eq!(p["payment_attempts"][0]["result"], "1");
    let attempt = last_attempt(&p);
    assert_eq!(attempt["desc"], "SSL_AUTH");
    assert_eq!(attempt["respcode"], "00");
    assert_eq!(attempt["authcode"].as_str().unwrap().len(), 6);
    assert_eq!(attempt["masked_cardno"], "444433******0000");
    assert_eq!(attempt["bin"], "444433");

    let acc = sim.get(&format!("/payment_account/{account}")).await.json();
    assert_eq!(acc["state"], "ACTIVE");
    assert_eq!(acc["masked_cardno"], "444433******0000");
    assert_eq!(acc["bin"], "444433");
    assert_eq!(acc["expiry_date"], "12/30");

    let forms = merchant.wait_for(1).await;
    let f = &forms[0];
    assert_eq!(f["paymentid"], id);
    assert_eq!(f["merchantid"], MERCHANT);
    assert_eq!(f["function"], "APPROVE");
    assert_eq!(f["description"], "0000");
    assert_eq!(f["timestamp"].len(), 14);
    assert!(f["timestamp"].bytes().all(|b| b.is_ascii_digit()));
    let signed = [
        &f["paymentid"],
        &f["merchantid"],
        &f["function"],
        &f["description"],
        &f["timestamp"],
    ];
    let parts: Vec<&[u8]> = signed.iter().map(|s| s.as_bytes()).collect();
    assert_eq!(f["sha256code"], hmac_hex(API_KEY, &parts));

    let ledger = sim.ledger().await;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0]["id"], id);
    assert_eq!(ledger[0]["initializing"], true);
    assert_eq!(ledger[0]["amount"], 1000);

    let again = sim.paywin(id, GOOD_CARD).await;
    assert_eq!(again.status, 409);
    assert!(again.content_type.starts_with("text/html"));
}

#[tokio::test]
async fn paywin_failure_card_declines_and_leaves_account() {
    let sim = Sim::start().await;
    let merchant = Receiver::start(&[]).await;
    let account = sim.create_account().await;
    let init = sim.initialize(&account, &merchant.url).await;
    let id = init["id"].as_str().unwrap();

    let page = sim.paywin(id, BAD_CARD).await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Payment declined"));
    let p = sim.get(&format!("/payment/{id}")).await.json();
    assert_eq!(p["state"], "FAILED");
    assert_eq!(p["payment_attempts"][0]["result"], "0");
    assert_eq!(last_attempt(&p)["respcode"], "05");
    let acc = sim.get(&format!("/payment_account/{account}")).await.json();
    assert_eq!(acc["state"], "UNINITIALIZED");
    assert!(acc["masked_cardno"].is_null());

    let forms = merchant.wait_for(1).await;
    assert_eq!(forms[0]["function"], "DECLINE");
    assert_eq!(forms[0]["description"], "2002");
    assert!(sim.ledger().await.is_empty());
}

#[tokio::test]
async fn paywin_errors_are_html() {
    let sim = Sim::start().await;
    assert_eq!(sim.paywin("12345678", GOOD_CARD).await.status, 404);
    let account = sim.active_account(GOOD_CARD).await;
    let charge = sim.charge(&account, 1000).await.json();
    // A subsequent charge has no payment window.
    assert_eq!(
        sim.paywin(charge["id"].as_str().unwrap(), GOOD_CARD)
            .await
            .status,
        404
    );
    assert!(charge["_links"]["paywin"].is_null());
    let init = sim.initialize(&account, "http://127.0.0.1:9/cb").await;
    let bad = sim.paywin(init["id"].as_str().unwrap(), "12ab").await;
    assert_eq!(bad.status, 400);
    assert!(bad.content_type.starts_with("text/html"));
}
