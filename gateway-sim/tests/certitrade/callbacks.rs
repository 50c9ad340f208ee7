use std::time::Duration;

use serde_json::json;

use crate::common::*;
use crate::receiver::Receiver;

/// Waits (up to 5 s) until `/_sim/certitrade/callbacks` lists `n` attempts.
async fn attempts(sim: &Sim, n: usize) -> Vec<serde_json::Value> {
    for _ in 0..100 {
        let log = sim.sim_get("/callbacks").await;
        if log.len() >= n {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "expected {n} callback attempts: {:?}",
        sim.sim_get("/callbacks").await
    );
}

#[tokio::test]
async fn non_2xx_answers_are_retried_twice() {
    let sim = Sim::start().await;
    let merchant = Receiver::start(&[500, 503, 500]).await;
    let account = sim.create_account().await;
    let init = sim.initialize(&account, &merchant.url).await;
    assert_eq!(
        sim.paywin(init["id"].as_str().unwrap(), GOOD_CARD)
            .await
            .status,
        200
    );

    let forms = merchant.wait_for(3).await;
    assert!(
        forms.iter().all(|f| f == &forms[0]),
        "retries resend the same form"
    );
    let log = attempts(&sim, 3).await;
    let statuses: Vec<_> = log.iter().map(|a| a["status"].clone()).collect();
    assert_eq!(statuses, [json!(500), json!(503), json!(500)]);
    let numbers: Vec<_> = log.iter().map(|a| a["attempt"].clone()).collect();
    assert_eq!(numbers, [json!(1), json!(2), json!(3)]);
    assert_eq!(log[0]["function"], "APPROVE");
    assert_eq!(log[0]["url"], merchant.url.as_str());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        merchant.forms().len(),
        3,
        "one attempt plus two retries, no more"
    );
}

#[tokio::test]
async fn success_stops_retrying_and_errors_are_logged() {
    let sim = Sim::start().await;
    let merchant = Receiver::start(&[500]).await;
    let account = sim.create_account().await;
    let init = sim.initialize(&account, &merchant.url).await;
    sim.paywin(init["id"].as_str().unwrap(), GOOD_CARD).await;
    let log = attempts(&sim, 2).await;
    assert_eq!(log[1]["status"], 200);

    // Nothing listens on port 9 (discard): connection errors are logged.
    let unreachable = sim.create_account().await;
    let init = sim.initialize(&unreachable, "http://127.0.0.1:9/cb").await;
    sim.paywin(init["id"].as_str().unwrap(), GOOD_CARD).await;
    let log = attempts(&sim, 5).await;
    assert!(
        log[2..]
            .iter()
            .all(|a| a["error"].is_string() && a["status"].is_null())
    );
}

#[tokio::test]
async fn sim_completion_can_skip_the_callback() {
    let sim = Sim::start().await;
    let merchant = Receiver::start(&[]).await;
    let account = sim.create_account().await;
    let init = sim.initialize(&account, &merchant.url).await;
    let id = init["id"].as_str().unwrap();
    let done = sim.complete_quietly(id, GOOD_CARD).await;
    assert_eq!(done["state"], "READY_FOR_CAPTURE");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(merchant.forms().is_empty());
    assert!(sim.sim_get("/callbacks").await.is_empty());

    let twice = sim.sim_post(&format!("/paywin/{id}"), json!({})).await;
    assert_eq!(twice.status, 409);
    assert_eq!(twice.content_type, "application/api-problem+json");
}
