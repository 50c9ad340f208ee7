//! The gateway simulator, in-process: Payroc secure tokens made through its real API (it only
//! accepts tokens it issued), each with an approved `first` payment so the accounts billingd
//! charges are in their steady state (every charge a `subsequent` one referring to it).

use anyhow::{Context, bail};
use gateway_sim::{RunningSim, SimConfig};
use serde_json::{Value, json};

pub const API_KEY: &str = "sim-payroc-key";
pub const TERMINAL: &str = "3204001";
/// Approved by the simulator (no trigger in the card or in an amount ending …00).
const CARD: &str = "4539858876047062";

pub struct Sim {
    pub running: RunningSim,
    http: reqwest::Client,
}

/// A Payroc account as billingd stores it.
#[derive(Debug, Clone)]
pub struct Token {
    pub token: String,
    pub secure_token_id: String,
    pub first_payment_id: String,
    pub scheme_reference: String,
}

impl Sim {
    pub async fn start() -> anyhow::Result<Sim> {
        let running = gateway_sim::spawn(SimConfig::default(), "127.0.0.1:0".parse()?).await?;
        Ok(Sim {
            running,
            http: reqwest::Client::new(),
        })
    }

    /// When each orderId's first sale request reached the simulator (ms since the epoch).
    pub async fn arrivals(&self) -> anyhow::Result<Vec<(String, f64)>> {
        let log: Vec<Value> = self
            .http
            .get(format!("{}/_sim/requests", self.running.base_url()))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let mut first = std::collections::HashMap::<String, f64>::new();
        for entry in log {
            let (Some(order), Some(at)) =
                (entry["orderId"].as_str(), entry["receivedAtMs"].as_f64())
            else {
                continue;
            };
            let seen = first.entry(order.to_owned()).or_insert(at);
            *seen = seen.min(at);
        }
        Ok(first.into_iter().collect())
    }

    /// Of the sales for `orders`, how many the simulator approved, and how many orderIds it
    /// approved more than once. A replayed answer (the same key again) is not a second approval.
    pub async fn approvals(&self, orders: &[String]) -> anyhow::Result<(i64, i64)> {
        let orders: std::collections::HashSet<&str> = orders.iter().map(String::as_str).collect();
        let log: Vec<Value> = self
            .http
            .get(format!("{}/_sim/requests", self.running.base_url()))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let mut per_order = std::collections::HashMap::<String, i64>::new();
        for entry in log {
            if let Some(order) = entry["orderId"].as_str()
                && entry["result"] == "approved"
                && orders.contains(order)
            {
                *per_order.entry(order.to_owned()).or_default() += 1;
            }
        }
        let total = per_order.values().sum();
        let doubles = per_order.values().filter(|&&n| n > 1).count() as i64;
        Ok((total, doubles))
    }

    /// Every sale answered `ms` milliseconds late (the simulator's `slow` fault at rate 1,
    /// `POST /_sim/faults`); 0 answers at once again.
    pub async fn answer_after(&self, ms: u64) -> anyhow::Result<()> {
        let body = if ms == 0 {
            json!({})
        } else {
            json!({"slow_rate": 1.0, "slow_ms": ms})
        };
        let r = self
            .http
            .post(format!("{}/_sim/faults", self.running.base_url()))
            .json(&body)
            .send()
            .await?;
        if !r.status().is_success() {
            bail!(
                "arming the simulator's latency: {} {}",
                r.status(),
                r.text().await.unwrap_or_default()
            );
        }
        Ok(())
    }

    async fn bearer(&self) -> anyhow::Result<String> {
        let r: Value = self
            .http
            .post(format!("{}/authorize", self.running.payroc_identity_url()))
            .header("x-api-key", API_KEY)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(r["access_token"]
            .as_str()
            .context("no access_token")?
            .to_owned())
    }

    /// `n` secure tokens, each with an approved first payment, made 16 at a time.
    pub async fn tokens(&self, n: usize) -> anyhow::Result<Vec<Token>> {
        let bearer = self.bearer().await?;
        let mut out = Vec::with_capacity(n);
        let mut i = 0;
        while i < n {
            let chunk = (i..(i + 16).min(n)).map(|k| self.token(&bearer, k));
            for t in futures::future::join_all(chunk).await {
                out.push(t?);
            }
            i += 16;
        }
        Ok(out)
    }

    async fn token(&self, bearer: &str, k: usize) -> anyhow::Result<Token> {
        let api = self.running.payroc_api_url();
        let created: Value = self
            .http
            .post(format!(
                "{api}/processing-terminals/{TERMINAL}/secure-tokens"
            ))
            .bearer_auth(bearer)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&json!({
                "secureTokenId": format!("BENCH_{k}"),
                "mitAgreement": "recurring",
                "source": {"type": "card", "cardDetails": {"entryMethod": "keyed",
                    "keyedData": {"dataFormat": "plainText", "cardNumber": CARD,
                                  "expiryDate": "1230", "cvv": "123"}}}
            }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let token = created["token"].as_str().context("no token")?.to_owned();
        let paid: Value = self
            .http
            .post(format!("{api}/payments"))
            .bearer_auth(bearer)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&json!({
                "channel": "web",
                "processingTerminalId": TERMINAL,
                "order": {"orderId": format!("bench-first-{k}"), "amount": 1500, "currency": "USD",
                          "standingInstructions": {"sequence": "first", "processingModel": "recurring"}},
                "paymentMethod": {"type": "secureToken", "token": token}
            }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let result = &paid["transactionResult"];
        if result["responseCode"] != "A" {
            bail!("the first payment on a bench token was not approved: {paid}");
        }
        Ok(Token {
            token,
            secure_token_id: created["secureTokenId"]
                .as_str()
                .context("no secureTokenId")?
                .to_owned(),
            first_payment_id: paid["paymentId"]
                .as_str()
                .context("no paymentId")?
                .to_owned(),
            scheme_reference: result["cardSchemeReferenceId"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        })
    }
}
