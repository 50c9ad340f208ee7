//! `GET /payments` as a reconciliation reads it: dates, cursor pages, links, strict inputs.

use serde_json::{Value, json};

use crate::common::*;

const VISA: &str = "4111111111111111";

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["paymentId"].as_str().unwrap().to_owned())
        .collect()
}

/// The path and query of a link's href, for `api_get` (which adds the API root).
fn link(page: &Value, rel: &str) -> Option<String> {
    let links = page["links"].as_array()?;
    let href = links.iter().find(|l| l["rel"] == rel)?["href"].as_str()?;
    Some(href.split_once("/payroc/v1").unwrap().1.to_owned())
}

#[tokio::test]
async fn payments_are_listed_by_processing_date_in_cursor_pages() {
    let sim = Sim::start().await;
    let token = sim.tokenize(VISA).await;
    let set = |now: &str| sim.sim_post("/clock", json!({ "now": now }));
    assert_eq!(set("2027-03-01T10:00:00Z").await.status, 200);
    let early = sim
        .sale(&new_key(), &sale_body(&token, &new_order_id(), 1000))
        .await;
    assert_eq!(early.status, 201);
    assert!(
        early.json()["order"]["dateTime"]
            .as_str()
            .unwrap()
            .starts_with("2027-03-01T10:00")
    );
    set("2027-03-02T10:00:00Z").await;
    let mut in_window = Vec::new();
    for _ in 0..5 {
        let sale = sim
            .sale(&new_key(), &sale_body(&token, &new_order_id(), 1000))
            .await;
        in_window.push(sale.json()["paymentId"].as_str().unwrap().to_owned());
    }
    set("2027-03-03T10:00:00Z").await;
    sim.sale(&new_key(), &sale_body(&token, &new_order_id(), 1000))
        .await;

    let mut seen = Vec::new();
    let mut path = Some(
        "/payments?dateFrom=2027-03-02T00:00:00Z&dateTo=2027-03-02T23:59:59.999Z&limit=2"
            .to_owned(),
    );
    let mut pages = 0;
    while let Some(p) = path.take() {
        let page = sim.api_get(&p).await;
        assert_eq!(page.status, 200, "{p}");
        let page = page.json();
        assert!(page["count"].as_u64().unwrap() <= 2);
        seen.extend(ids(&page));
        path = link(&page, "next");
        assert_eq!(page["hasMore"], json!(path.is_some()));
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(
        seen, in_window,
        "every payment of the day once, none from other days"
    );

    // previous goes back.
    let first = sim
        .api_get("/payments?dateFrom=2027-03-02T00:00:00Z&dateTo=2027-03-03T00:00:00Z&limit=2")
        .await
        .json();
    let second = sim.api_get(&link(&first, "next").unwrap()).await.json();
    let back = sim
        .api_get(&link(&second, "previous").unwrap())
        .await
        .json();
    assert_eq!(ids(&back), ids(&first));
}

#[tokio::test]
async fn a_list_query_it_cannot_read_is_a_400() {
    let sim = Sim::start().await;
    let token = sim.tokenize(VISA).await;
    let sale = sim
        .sale(&new_key(), &sale_body(&token, &new_order_id(), 1000))
        .await;
    let id = sale.json()["paymentId"].as_str().unwrap().to_owned();
    for bad in [
        "/payments?dateFrom=yesterday".to_owned(),
        "/payments?dateTo=2027-01-01".to_owned(),
        format!("/payments?after={id}&before={id}"),
        "/payments?after=NOSUCHPAY1".to_owned(),
        "/payments?limit=0".to_owned(),
    ] {
        let got = sim.api_get(&bad).await;
        assert_eq!(got.status, 400, "{bad}");
        assert_eq!(got.content_type, "application/problem+json");
    }
    assert_eq!(
        sim.sim_post("/clock", json!({"now": "soon"})).await.status,
        400
    );
}
