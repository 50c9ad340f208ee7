use crate::common::*;

fn with_message_id(mut body: serde_json::Value, id: u64) -> serde_json::Value {
    body["message_id"] = id.into();
    body
}

#[tokio::test]
async fn same_date_and_message_id_replays_without_charging_again() {
    let sim = Sim::start().await;
    let account = sim.active_account(GOOD_CARD).await;
    let body = with_message_id(charge_body(&account, &new_reference(), 2500), 41);
    let date = now_date();
    let first = sim.post_at("/payment", &body, &date).await;
    let second = sim.post_at("/payment", &body, &date).await;
    assert_eq!(first.status, 201);
    assert_eq!(second.status, 201);
    assert_eq!(first.bytes, second.bytes, "a replay is byte-identical");
    let charges: Vec<_> = sim
        .ledger()
        .await
        .into_iter()
        .filter(|e| e["initializing"] == false)
        .collect();
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0]["id"], first.json()["id"]);
    assert_eq!(charges[0]["message_id"], "41");
    assert_eq!(sim.results().await[1..], ["approved", "replayed"]);
    let requests = sim.sim_get("/requests").await;
    assert_eq!(requests[1]["date"], date.as_str());
    assert_eq!(requests[1]["message_id"], "41");
}

#[tokio::test]
async fn same_message_id_under_another_date_is_a_new_payment() {
    let sim = Sim::start().await;
    let account = sim.active_account(GOOD_CARD).await;
    let body = with_message_id(charge_body(&account, &new_reference(), 2500), 7);
    let first = sim.post_at("/payment", &body, &date_at(-10)).await.json();
    let second = sim.post_at("/payment", &body, &date_at(-9)).await.json();
    assert_ne!(first["id"], second["id"]);
    let charges = sim
        .ledger()
        .await
        .into_iter()
        .filter(|e| e["initializing"] == false)
        .count();
    assert_eq!(charges, 2);
}

#[tokio::test]
async fn concurrent_resends_wait_and_replay() {
    let sim = Sim::start().await;
    let account = sim.active_account(GOOD_CARD).await;
    let body = with_message_id(charge_body(&account, &new_reference(), 3000), 9);
    let date = now_date();
    let answers =
        futures::future::join_all((0..6).map(|_| sim.post_at("/payment", &body, &date))).await;
    assert!(
        answers
            .iter()
            .all(|a| a.status == 201 && a.bytes == answers[0].bytes)
    );
    let charges = sim
        .ledger()
        .await
        .into_iter()
        .filter(|e| e["initializing"] == false)
        .count();
    assert_eq!(charges, 1);
    let replayed = sim
        .results()
        .await
        .iter()
        .filter(|r| *r == "replayed")
        .count();
    assert_eq!(replayed, 5);
}
