use serde_json::json;

use crate::common::*;

fn luhn_ok(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[tokio::test]
async fn creates_luhn_valid_296753_token_with_masked_card() {
    let sim = Sim::start().await;
    let mut body = card_body(VISA, Some("123"));
    body["secureTokenId"] = json!("cust-42");
    let resp = sim.tokenize_raw(&body).await;
    assert_eq!(resp.status, 201);
    let t = resp.json();
    let token = t["token"].as_str().unwrap();
    assert_eq!(token.len(), 12);
    assert!(token.starts_with("296753"));
    assert!(luhn_ok(token), "{token}");
    assert_eq!(t["secureTokenId"], "cust-42");
    assert_eq!(t["processingTerminalId"], TERMINAL);
    assert_eq!(t["mitAgreement"], "recurring");
    assert_eq!(t["status"], "cvvValidated");
    assert_eq!(t["source"]["type"], "card");
    assert_eq!(t["source"]["cardNumber"], "453985******7062");
    assert_eq!(t["source"]["expiryDate"], "1230");
    assert_eq!(t["source"]["cardholderName"], "Sally Test");
    assert_eq!(t["source"]["cardType"], "Visa");
    assert!(!String::from_utf8_lossy(&resp.bytes).contains(VISA));
}

#[tokio::test]
async fn generates_id_and_reports_not_validated_without_cvv() {
    let sim = Sim::start().await;
    let resp = sim.tokenize_raw(&card_body("5100270000000007", None)).await;
    assert_eq!(resp.status, 201);
    let t = resp.json();
    assert_eq!(t["status"], "notValidated");
    assert!(!t["secureTokenId"].as_str().unwrap().is_empty());
    assert_eq!(t["source"]["cardType"], "MasterCard");
    // Tokens are unique.
    let other = sim.tokenize("5100270000000007").await;
    assert_ne!(t["token"].as_str().unwrap(), other);
}

#[tokio::test]
async fn bad_card_number_and_expiry_are_400_naming_the_field() {
    let sim = Sim::start().await;
    let mut body = card_body("4539858876047063", None);
    body["source"]["cardDetails"]["keyedData"]["expiryDate"] = json!("1330");
    let resp = sim.tokenize_raw(&body).await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.content_type, "application/problem+json");
    let problem = resp.json();
    assert_eq!(
        problem["type"],
        "https://docs.payroc.com/api/errors#bad-request"
    );
    assert_eq!(
        resp.error_params(),
        [
            "source.cardDetails.keyedData.cardNumber",
            "source.cardDetails.keyedData.expiryDate"
        ]
    );

    let short = sim.tokenize_raw(&card_body("42424242424", None)).await;
    assert_eq!(short.status, 400);
    assert_eq!(
        short.error_params(),
        ["source.cardDetails.keyedData.cardNumber"]
    );
}

#[tokio::test]
async fn secure_token_requires_idempotency_key_and_replays() {
    let sim = Sim::start().await;
    let path = format!("/processing-terminals/{TERMINAL}/secure-tokens");
    let bytes = serde_json::to_vec(&card_body(VISA, None)).unwrap();
    let missing = read(
        sim.api_post(&path, None, bytes.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.error_params(), ["Idempotency-Key"]);

    let key = new_key();
    let first = read(
        sim.api_post(&path, Some(&key), bytes.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    let again = read(sim.api_post(&path, Some(&key), bytes).send().await.unwrap()).await;
    assert_eq!(first.status, 201);
    assert_eq!(first.bytes, again.bytes);
}

#[tokio::test]
async fn a_token_whose_answer_was_lost_is_found_by_its_id_and_replayed_under_its_key() {
    let sim = Sim::start().await;
    let armed = sim
        .sim_post(
            "/faults",
            json!({"token_fail_next": 1, "token_drop_next": 1}),
        )
        .await;
    assert_eq!(armed.status, 200);
    let path = format!("/processing-terminals/{TERMINAL}/secure-tokens");
    let mut body = card_body(VISA, Some("123"));
    body["secureTokenId"] = json!("reg-7");
    let bytes = serde_json::to_vec(&body).unwrap();
    let key = new_key();
    let lookup = format!("/processing-terminals/{TERMINAL}/secure-tokens/reg-7");

    // token_fail_next: an HTML 500, no token made.
    let failed = read(
        sim.api_post(&path, Some(&key), bytes.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(failed.status, 500);
    assert_eq!(sim.api_get(&lookup).await.status, 404);

    // token_drop_next: made, the answer lost after the headers.
    let resp = sim
        .api_post(&path, Some(&key), bytes.clone())
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(resp.status().as_u16(), 201);
    assert!(resp.bytes().await.is_err(), "the body read must fail");
    let found = sim.api_get(&lookup).await;
    assert_eq!(found.status, 200);
    let token = found.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(found.json()["source"]["cardNumber"], "453985******7062");

    // The same key and bytes replay the token; another terminal does not see it.
    let replay = read(sim.api_post(&path, Some(&key), bytes).send().await.unwrap()).await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.json()["token"], token.as_str());
    let elsewhere = sim
        .api_get("/processing-terminals/9999999/secure-tokens/reg-7")
        .await;
    assert_eq!(elsewhere.status, 404);
}
