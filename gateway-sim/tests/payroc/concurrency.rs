use std::collections::HashSet;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_sales_each_land_once() {
    let sim = Sim::start().await;
    let token = sim.tokenize(VISA).await;
    let orders: Vec<String> = (0..200).map(|_| new_order_id()).collect();
    let answers = futures::future::join_all(
        orders
            .iter()
            .map(|o| sim.sale_owned(new_key(), sale_body(&token, o, 1000))),
    )
    .await;
    assert!(answers.iter().all(|a| a.status == 201));
    let ids: HashSet<String> = answers
        .iter()
        .map(|a| a.json()["paymentId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 200);

    let ledger = sim.sim_get("/ledger").await;
    let ledger = ledger.as_array().unwrap();
    assert_eq!(ledger.len(), 200);
    let ledger_orders: HashSet<&str> = ledger
        .iter()
        .map(|e| e["orderId"].as_str().unwrap())
        .collect();
    let sent: HashSet<&str> = orders.iter().map(String::as_str).collect();
    assert_eq!(ledger_orders, sent);
}
