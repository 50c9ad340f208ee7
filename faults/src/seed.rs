//! What the campaign bills: payment accounts at both gateways and subscriptions of every
//! shape, each of a known *kind* that says what the gateway will do with its charges, so the
//! oracle knows how many approved sales every cycle must end with.
//!
//! Time cannot be moved for separate processes, so the seeds move the schedules instead:
//! each anchor lies so far in the past that `behind` cycles are already due (billingd catches
//! them up), and the next cycle falls due `ahead` seconds into the run.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::SignedDuration;
use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::api::{Api, ApiError};
use crate::calendar::Schedule;

pub const CARD_OK: &str = "4539858876047062";
/// The simulator soft-declines (51) the first two sales on its token.
pub const CARD_SOFT_TWICE: &str = "4000000000000051";
/// The simulator approves the first sale on its token; every later one is CLOSED ACCOUNT.
pub const CARD_CLOSES: &str = "4000000000000046";
pub const CT_CARD_OK: &str = "123456789000";
/// CertiTrade's fraud card: registers fine, its first charge terminates the account.
pub const CT_CARD_FRAUD: &str = "1123450000000002";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Approved.
    PayrocOk,
    /// Amounts …95 (processed for longer than the client waits, the key in flight: a resend
    /// meanwhile gets 409), …96 (first request a 500), …97 (answered after the client's
    /// timeout), …99 (approved, then the connection drops).
    PayrocTrigger,
    /// Soft-declined twice on its token, approved on the retry.
    PayrocSoftTwice,
    /// Amount …01: soft decline every time; the retries run out, the subscription is past due.
    PayrocDeclined,
    /// Amount …54: expired card, a hard decline.
    PayrocHard,
    /// Cycle 1 approved, then the card account is closed: suspended.
    PayrocCloses,
    /// Amount …43: pick up card, the account is suspended at the first charge.
    PayrocPickup,
    /// Approved (some amounts …96 and …99).
    CertiOk,
    /// The fraud card: the first charge terminates the account.
    CertiFraud,
    /// Amount …51: declined every time.
    CertiDeclined,
}

impl Kind {
    pub fn gateway(self) -> &'static str {
        match self {
            Kind::CertiOk | Kind::CertiFraud | Kind::CertiDeclined => "certitrade",
            _ => "payroc",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::PayrocOk => "payroc approved",
            Kind::PayrocTrigger => "payroc …95/…96/…97/…99",
            Kind::PayrocSoftTwice => "payroc soft-declined twice",
            Kind::PayrocDeclined => "payroc always declined",
            Kind::PayrocHard => "payroc hard decline",
            Kind::PayrocCloses => "payroc closed after cycle 1",
            Kind::PayrocPickup => "payroc pick up card",
            Kind::CertiOk => "certitrade approved",
            Kind::CertiFraud => "certitrade fraud card",
            Kind::CertiDeclined => "certitrade always declined",
        }
    }

    /// Relative frequency in the seeds.
    const MIX: [(Kind, u32); 10] = [
        (Kind::PayrocOk, 46),
        (Kind::PayrocTrigger, 9),
        (Kind::PayrocSoftTwice, 5),
        (Kind::PayrocDeclined, 3),
        (Kind::PayrocHard, 2),
        (Kind::PayrocCloses, 3),
        (Kind::PayrocPickup, 2),
        (Kind::CertiOk, 24),
        (Kind::CertiFraud, 3),
        (Kind::CertiDeclined, 3),
    ];

    pub fn pick(rng: &mut StdRng) -> Kind {
        let total: u32 = Kind::MIX.iter().map(|(_, w)| w).sum();
        let mut x = rng.random_range(0..total);
        for (kind, w) in Kind::MIX {
            if x < w {
                return kind;
            }
            x -= w;
        }
        Kind::PayrocOk
    }
}

/// A merchant action taken at a random instant of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Cancel,
    SuspendAccount,
}

#[derive(Debug, Clone)]
pub struct Spec {
    pub reference: String,
    pub kind: Kind,
    pub amount: i64,
    pub currency: &'static str,
    pub schedule: Schedule,
    pub action: Option<(Action, SignedDuration)>,
    /// Filled in once created.
    pub account: Option<Uuid>,
    pub subscription: Option<Uuid>,
    /// Another spec sharing this one's account (two subscriptions on one card).
    pub shares_account_of: Option<usize>,
}

fn new_key() -> String {
    Uuid::new_v4().to_string()
}

/// Creates the account of `spec` at its gateway (CertiTrade: the customer's payment window
/// completed with its card; billingd learns of it by callback or polling).
pub async fn create_account(api: &Api, kind: Kind) -> anyhow::Result<Uuid> {
    let card = match kind {
        Kind::PayrocSoftTwice => CARD_SOFT_TWICE,
        Kind::PayrocCloses => CARD_CLOSES,
        Kind::CertiFraud => CT_CARD_FRAUD,
        Kind::CertiOk | Kind::CertiDeclined => CT_CARD_OK,
        _ => CARD_OK,
    };
    let body = if kind.gateway() == "payroc" {
        json!({"gateway": "payroc", "processing_terminal_id": "3204001",
               "card": {"number": card, "expiry": "1230", "cvv": "123", "holder": "Faults Campaign"}})
    } else {
        json!({"gateway": "certitrade"})
    };
    // A request cut off by a kill leaves its key "in progress": a new key makes a new
    // account (the half-made one is never used). A registration whose gateway answer was lost
    // is stored and answered 202 (`registration.pending_step`): the same call with the same key
    // continues that account, as a merchant's client would do.
    let account = loop {
        let key = new_key();
        match register(api, &body, &key).await {
            Ok(a) => break a,
            Err(ApiError::InProgress) => continue,
            Err(e) => anyhow::bail!("creating a {} account: {e}", kind.label()),
        }
    };
    let id: Uuid = account["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("account without id: {account}"))?;
    if kind.gateway() == "certitrade" {
        let payment = account["initialization"]["payment_id"]
            .as_str()
            .ok_or_else(|| {
                anyhow::anyhow!("certitrade account without initialization: {account}")
            })?;
        api.sim_post(
            &format!("/_sim/certitrade/paywin/{payment}"),
            &json!({"card": card}),
        )
        .await?;
    }
    Ok(id)
}

/// `POST /v1/accounts` under `key` until the registration is no longer pending.
async fn register(api: &Api, body: &Value, key: &str) -> Result<Value, ApiError> {
    let mut account = Value::Null;
    for _ in 0..100 {
        account = api.post("/v1/accounts", body, key).await?;
        if account["registration"]["pending_step"].is_null() {
            return Ok(account);
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    Err(ApiError::GaveUp(format!(
        "registration still pending: {account}"
    )))
}

/// Creates the subscription; a retry after a cut-off request finds it by its reference.
pub async fn create_subscription(api: &Api, spec: &Spec, account: Uuid) -> anyhow::Result<Uuid> {
    let s = &spec.schedule;
    let mut schedule = json!({
        "anchor": s.anchor.strftime("%Y-%m-%dT%H:%M:%S").to_string(),
        "time_zone": s.zone,
        "interval": s.unit.as_str(),
    });
    if let Some(total) = s.total_cycles {
        schedule["total_cycles"] = json!(total);
    }
    let body = json!({
        "account_id": account,
        "amount": spec.amount,
        "currency": spec.currency,
        "merchant_reference": spec.reference,
        "metadata": {"kind": spec.kind.label()},
        "schedule": schedule,
    });
    loop {
        match api.post("/v1/subscriptions", &body, &new_key()).await {
            Ok(sub) => return parse_id(&sub),
            Err(ApiError::InProgress) => {
                // Was it created before its replica died? Ask by reference.
                for _ in 0..20 {
                    if let Some(id) = find_by_reference(api, &spec.reference).await? {
                        return Ok(id);
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
            }
            Err(e) => anyhow::bail!("creating subscription {}: {e}", spec.reference),
        }
    }
}

async fn find_by_reference(api: &Api, reference: &str) -> anyhow::Result<Option<Uuid>> {
    let found = api
        .get(&format!("/v1/subscriptions?merchant_reference={reference}"))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(found["data"]
        .as_array()
        .and_then(|d| d.first())
        .and_then(|s| parse_id(s).ok()))
}

fn parse_id(v: &Value) -> anyhow::Result<Uuid> {
    v["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no id in {v}"))
}

/// Every spec of the campaign, by index, shared with the tasks that act on them.
#[derive(Default)]
pub struct Book {
    pub specs: Vec<Spec>,
    pub by_reference: HashMap<String, usize>,
}

pub type SharedBook = Arc<Mutex<Book>>;

/// Creates one wave: accounts (a few at a time), then subscriptions.
pub async fn seed_wave(api: &Api, book: &SharedBook, specs: Vec<Spec>) -> anyhow::Result<usize> {
    use futures::StreamExt;
    let first = {
        let mut b = book.lock().await;
        let first = b.specs.len();
        for (i, s) in specs.iter().enumerate() {
            b.by_reference.insert(s.reference.clone(), first + i);
        }
        b.specs.extend(specs.iter().cloned());
        first
    };
    // Accounts first (those sharing wait for their partner's), eight requests at a time.
    let own: Vec<usize> = (0..specs.len())
        .filter(|i| specs[*i].shares_account_of.is_none())
        .collect();
    let accounts: Vec<_> = futures::stream::iter(own.iter().map(|&i| {
        let kind = specs[i].kind;
        async move { (i, create_account(api, kind).await) }
    }))
    .buffer_unordered(8)
    .collect()
    .await;
    let mut account_of: HashMap<usize, Uuid> = HashMap::new();
    for (i, r) in accounts {
        account_of.insert(first + i, r?);
    }
    let subs: Vec<_> = futures::stream::iter(specs.iter().enumerate().map(|(i, spec)| {
        let account = match spec.shares_account_of {
            Some(j) => account_of[&j],
            None => account_of[&(first + i)],
        };
        async move { (i, account, create_subscription(api, spec, account).await) }
    }))
    .buffer_unordered(8)
    .collect()
    .await;
    let mut b = book.lock().await;
    for (i, account, r) in subs {
        let sub = r?;
        b.specs[first + i].account = Some(account);
        b.specs[first + i].subscription = Some(sub);
    }
    Ok(specs.len())
}
