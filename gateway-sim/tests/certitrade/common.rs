//! Test client for the CertiTrade simulator. Requests are signed here with
//! the hmac crate, independently of the simulator's verifier, so a bug in
//! one cannot hide a bug in the other.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use gateway_sim::{RunningSim, SimConfig};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

pub const API_KEY: &str = "sim-certitrade-key";
pub const MERCHANT: &str = "1234";
pub const GOOD_CARD: &str = "123456789000";
pub const GOOD_3DS_CARD: &str = "4444333322220000";
pub const BAD_CARD: &str = "123456789001";
pub const FRAUD_CARD: &str = "1123450000000002";

pub struct Resp {
    pub status: u16,
    pub content_type: String,
    pub bytes: Bytes,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
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

/// `Date` header value for now, shifted by `offset_secs`.
pub fn date_at(offset_secs: i64) -> String {
    // The simulator's clock is the wall clock unless a test sets it; these tests do not.
    #[allow(clippy::disallowed_methods)]
    let now = SystemTime::now();
    let shift = Duration::from_secs(offset_secs.unsigned_abs());
    let at = if offset_secs < 0 {
        now - shift
    } else {
        now + shift
    };
    httpdate::fmt_http_date(at)
}

pub fn now_date() -> String {
    date_at(0)
}

/// Lowercase hex HMAC-SHA256 over the concatenated parts.
pub fn hmac_hex(key: &str, parts: &[&[u8]]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

pub struct Sim {
    pub sim: RunningSim,
    pub http: reqwest::Client,
}

impl Sim {
    pub async fn start() -> Sim {
        Sim::start_with(SimConfig::default()).await
    }

    pub async fn start_with(config: SimConfig) -> Sim {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let sim = gateway_sim::spawn(config, addr).await.expect("spawn sim");
        Sim {
            sim,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.certitrade_api_url())
    }

    /// A request signed the way CertiTrade's clients sign:
    /// `METHOD + full URL + Date + body`, keyed with `key`.
    pub fn signed(
        &self,
        method: Method,
        path: &str,
        body: &[u8],
        date: &str,
        key: &str,
    ) -> reqwest::RequestBuilder {
        let url = self.url(path);
        let digest = hmac_hex(
            key,
            &[
                method.as_str().as_bytes(),
                url.as_bytes(),
                date.as_bytes(),
                body,
            ],
        );
        let mut req = self
            .http
            .request(method, &url)
            .header("Date", date)
            .header("Authorization", format!("CertiTrade m{MERCHANT}:{digest}"));
        if !body.is_empty() {
            req = req
                .header("Content-Type", "application/json; charset=utf-8")
                .body(body.to_vec());
        }
        req
    }

    pub async fn post_at(&self, path: &str, body: &Value, date: &str) -> Resp {
        let bytes = serde_json::to_vec(body).unwrap();
        read(
            self.signed(Method::POST, path, &bytes, date, API_KEY)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.post_at(path, body, &now_date()).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        read(
            self.signed(Method::GET, path, b"", &now_date(), API_KEY)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn create_account(&self) -> String {
        let resp = self
            .post("/payment_account", &json!({"type": "RECURRING"}))
            .await;
        assert_eq!(resp.status, 201, "{}", resp.text());
        resp.json()["id"].as_str().unwrap().to_owned()
    }

    /// Creates an initializing payment; returns its JSON.
    pub async fn initialize(&self, account: &str, callback_url: &str) -> Value {
        let resp = self
            .post(
                "/payment",
                &init_body(account, &new_reference(), callback_url),
            )
            .await;
        assert_eq!(resp.status, 201, "{}", resp.text());
        resp.json()
    }

    /// Completes a payment window through `/_sim` (no callback).
    pub async fn complete_quietly(&self, payment_id: &str, card: &str) -> Value {
        let body = json!({"card": card, "send_callback": false});
        let resp = self.sim_post(&format!("/paywin/{payment_id}"), body).await;
        assert_eq!(resp.status, 200, "{}", resp.text());
        resp.json()
    }

    /// A payment_account made ACTIVE with `card`.
    pub async fn active_account(&self, card: &str) -> String {
        let account = self.create_account().await;
        let init = self.initialize(&account, "http://127.0.0.1:9/unused").await;
        let done = self
            .complete_quietly(init["id"].as_str().unwrap(), card)
            .await;
        assert_eq!(done["state"], "READY_FOR_CAPTURE");
        account
    }

    pub async fn charge(&self, account: &str, amount: u64) -> Resp {
        self.post("/payment", &charge_body(account, &new_reference(), amount))
            .await
    }

    pub async fn paywin(&self, payment_id: &str, card: &str) -> Resp {
        let url = format!(
            "{}/certitrade/paywin/{payment_id}?card={card}",
            self.sim.base_url()
        );
        read(self.http.get(url).send().await.unwrap()).await
    }

    pub async fn sim_get(&self, path: &str) -> Vec<Value> {
        let url = format!("{}/_sim/certitrade{path}", self.sim.base_url());
        let resp = read(self.http.get(url).send().await.unwrap()).await;
        resp.json().as_array().unwrap().clone()
    }

    pub async fn sim_post(&self, path: &str, body: Value) -> Resp {
        let url = format!("{}/_sim/certitrade{path}", self.sim.base_url());
        let req = self
            .http
            .post(url)
            .header("content-type", "application/json");
        read(
            req.body(serde_json::to_vec(&body).unwrap())
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn ledger(&self) -> Vec<Value> {
        self.sim_get("/ledger").await
    }

    /// `result` of every logged `POST /payment` (including the initializing
    /// one `active_account` makes, which is always first and "created").
    pub async fn results(&self) -> Vec<String> {
        let requests = self.sim_get("/requests").await;
        requests
            .iter()
            .map(|r| r["result"].as_str().unwrap().to_owned())
            .collect()
    }
}

pub fn new_reference() -> String {
    format!("ref-{}", &uuid::Uuid::new_v4().simple().to_string()[..16])
}

/// The documented initializing payment (docs/gateways.md, CertiTrade: the recurring flow, step 2).
pub fn init_body(account: &str, reference: &str, callback_url: &str) -> Value {
    json!({
        "amount": "1000",
        "currency": "SEK",
        "return_url": "https://shop.example/return?x=<1>",
        "callback_url": callback_url,
        "method": "RECURRING",
        "reference": reference,
        "language": "sv",
        "data": {"RECURRING": {"initialize": "1", "payment_account": account}}
    })
}

/// The documented subsequent charge (docs/gateways.md, CertiTrade: the recurring flow, step 3).
pub fn charge_body(account: &str, reference: &str, amount: u64) -> Value {
    json!({
        "amount": amount.to_string(),
        "currency": "SEK",
        "method": "RECURRING",
        "reference": reference,
        "data": {"RECURRING": {"payment_account": account}}
    })
}

/// The last attempt's `data.RECURRING`.
pub fn last_attempt(payment: &Value) -> &Value {
    let attempts = payment["payment_attempts"].as_array().unwrap();
    &attempts.last().expect("an attempt")["data"]["RECURRING"]
}
