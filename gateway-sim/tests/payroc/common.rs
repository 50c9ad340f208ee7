//! Test client for the simulator: plain reqwest + serde_json (the dev-dep has
//! no `json` feature, on purpose, to keep the build lean).

use std::net::SocketAddr;

use bytes::Bytes;
use gateway_sim::{RunningSim, SimConfig};
use serde_json::{Value, json};

pub const VISA: &str = "4539858876047062";
pub const API_KEY: &str = "sim-payroc-key";
pub const TERMINAL: &str = "3204001";

pub struct Resp {
    pub status: u16,
    pub content_type: String,
    pub bytes: Bytes,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.bytes)
            )
        })
    }

    /// Parameters named in a problem's `errors[]`.
    pub fn error_params(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["parameter"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub struct Sim {
    pub sim: RunningSim,
    pub http: reqwest::Client,
    pub bearer: String,
}

pub fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub fn new_order_id() -> String {
    format!("ord-{}", &uuid::Uuid::new_v4().simple().to_string()[..16])
}

/// A `sequence: first` recurring sale on `token`.
pub fn sale_body(token: &str, order_id: &str, amount: u64) -> Value {
    json!({
        "channel": "web",
        "processingTerminalId": TERMINAL,
        "order": {
            "orderId": order_id,
            "amount": amount,
            "currency": "USD",
            "description": "Monthly plan",
            "standingInstructions": {"sequence": "first", "processingModel": "recurring"}
        },
        "paymentMethod": {"type": "secureToken", "token": token}
    })
}

pub fn card_body(number: &str, cvv: Option<&str>) -> Value {
    let mut keyed = json!({"dataFormat": "plainText", "cardNumber": number, "expiryDate": "1230"});
    if let Some(cvv) = cvv {
        keyed["cvv"] = json!(cvv);
    }
    json!({
        "mitAgreement": "recurring",
        "source": {"type": "card", "cardDetails": {
            "entryMethod": "keyed", "keyedData": keyed, "cardholderName": "Sally Test"}}
    })
}

pub async fn read(resp: reqwest::Response) -> Resp {
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = resp.bytes().await.expect("reading body");
    Resp {
        status,
        content_type,
        bytes,
    }
}

impl Sim {
    pub async fn start() -> Sim {
        Sim::start_with(SimConfig::default()).await
    }

    pub async fn start_with(config: SimConfig) -> Sim {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let sim = gateway_sim::spawn(config, addr).await.expect("spawn sim");
        let http = reqwest::Client::new();
        let mut me = Sim {
            sim,
            http,
            bearer: String::new(),
        };
        let auth = me.authorize(Some(API_KEY)).await;
        assert_eq!(auth.status, 200);
        me.bearer = auth.json()["access_token"].as_str().unwrap().to_owned();
        me
    }

    pub async fn authorize(&self, api_key: Option<&str>) -> Resp {
        let mut req = self
            .http
            .post(format!("{}/authorize", self.sim.payroc_identity_url()));
        if let Some(key) = api_key {
            req = req.header("x-api-key", key);
        }
        read(req.send().await.unwrap()).await
    }

    /// Authenticated API POST with raw body bytes.
    pub fn api_post(
        &self,
        path: &str,
        key: Option<&str>,
        body: Vec<u8>,
    ) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .post(format!("{}{path}", self.sim.payroc_api_url()))
            .bearer_auth(&self.bearer)
            .header("content-type", "application/json")
            .body(body);
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        req
    }

    pub async fn sale(&self, key: &str, body: &Value) -> Resp {
        let bytes = serde_json::to_vec(body).unwrap();
        read(
            self.api_post("/payments", Some(key), bytes)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn api_get(&self, path: &str) -> Resp {
        let url = format!("{}{path}", self.sim.payroc_api_url());
        read(
            self.http
                .get(url)
                .bearer_auth(&self.bearer)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn tokenize_raw(&self, body: &Value) -> Resp {
        let path = format!("/processing-terminals/{TERMINAL}/secure-tokens");
        let bytes = serde_json::to_vec(body).unwrap();
        read(
            self.api_post(&path, Some(&new_key()), bytes)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Creates a secure token for `number` and returns its `token`.
    pub async fn tokenize(&self, number: &str) -> String {
        let resp = self.tokenize_raw(&card_body(number, Some("123"))).await;
        assert_eq!(resp.status, 201, "{}", String::from_utf8_lossy(&resp.bytes));
        resp.json()["token"].as_str().unwrap().to_owned()
    }

    pub async fn sim_get(&self, path: &str) -> Value {
        let resp = self
            .http
            .get(format!("{}/_sim{path}", self.sim.base_url()))
            .send()
            .await
            .unwrap();
        read(resp).await.json()
    }

    pub async fn sim_post(&self, path: &str, body: Value) -> Resp {
        let resp = self
            .http
            .post(format!("{}/_sim{path}", self.sim.base_url()))
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&body).unwrap())
            .send()
            .await
            .unwrap();
        read(resp).await
    }

    pub async fn ledger(&self, order_id: &str) -> Vec<Value> {
        let v = self.sim_get(&format!("/ledger?orderId={order_id}")).await;
        v.as_array().unwrap().clone()
    }

    pub async fn requests(&self) -> Vec<Value> {
        self.sim_get("/requests").await.as_array().unwrap().clone()
    }
}

pub fn result(payment: &Value) -> &Value {
    &payment["transactionResult"]
}

impl Sim {
    /// Like `sale`, owning its inputs so many can be in flight at once.
    pub async fn sale_owned(&self, key: String, body: Value) -> Resp {
        self.sale(&key, &body).await
    }
}
