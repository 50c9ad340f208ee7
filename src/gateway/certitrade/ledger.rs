//! CertiTrade's ledger for reconciliation. The payment search filters by exact field values
//! only (`merchant`, `method`, `reference`, `state` …), not by date, so the merchant's RECURRING
//! payments are searched and kept when `created` falls in the window. CertiTrade does not say in
//! which time zone it prints `created`; the window is widened by a day on each side, which costs
//! nothing but a few more rows to match (matching is by reference, never by time).
//! Initializing payments are the customer's own, made through the payment window at
//! registration: they are the registration's business, not a charge's, and are left out.

use serde::Deserialize;
use serde_json::Value;

use super::CertiTradeClient;
use super::transformers::{self, Payment};
use crate::domain::reconcile::LedgerSale;
use crate::gateway::ListedSale;

const WIDEN: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);
/// A search whose `next` links do not end is cut off after this many pages.
const MAX_PAGES: usize = 10_000;

#[derive(Deserialize)]
struct Found {
    #[serde(rename = "_embedded")]
    embedded: Option<Embedded>,
    #[serde(rename = "_links", default)]
    links: Value,
}

#[derive(Deserialize)]
struct Embedded {
    // `payment` in the API docs, `payments` in CertiTrade's PHP library.
    #[serde(default, alias = "payments")]
    payment: Vec<Value>,
}

impl CertiTradeClient {
    /// The merchant's RECURRING charges created within the window (widened, see above).
    pub async fn list_sales(
        &self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> Result<Vec<ListedSale>, String> {
        let (from, to) = (from - WIDEN, to + WIDEN);
        let mut path = format!("/payment?merchant={}&method=RECURRING", self.merchant_id());
        let mut sales = Vec::new();
        for _ in 0..MAX_PAGES {
            let found: Found = self.get_json(&path).await?;
            for item in found.embedded.map(|e| e.payment).unwrap_or_default() {
                if let Some(sale) = self.sale_of(item, from, to)? {
                    sales.push(sale);
                }
            }
            match found.links.pointer("/next/href").and_then(Value::as_str) {
                Some(href) => path = self.api_path(href)?,
                None => return Ok(sales),
            }
        }
        Err(format!(
            "CertiTrade search did not end after {MAX_PAGES} pages"
        ))
    }

    /// The API-relative path of a `next` link, which must point into the configured API: the
    /// request is signed with the merchant's key.
    fn api_path(&self, href: &str) -> Result<String, String> {
        href.strip_prefix(self.api_url.as_str())
            .filter(|p| p.starts_with('/'))
            .map(str::to_owned)
            .ok_or_else(|| {
                format!("CertiTrade's next page link {href:?} is not under certitrade.api_url")
            })
    }

    fn sale_of(
        &self,
        item: Value,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> Result<Option<ListedSale>, String> {
        if is_initializing(&item) {
            return Ok(None);
        }
        let created = item["created"].as_str().and_then(created_at);
        if created.is_some_and(|at| at < from || at > to) {
            return Ok(None);
        }
        let amount_minor = lenient_i64(&item["amount"]);
        let currency = item["currency"].as_str().map(str::to_owned);
        let payment: Payment = serde_json::from_value(item)
            .map_err(|e| format!("unreadable payment in a CertiTrade search: {e}"))?;
        let answer = transformers::classify_payment(&payment, &self.table).with_status(200);
        let (Some(payment_id), Some(order_ref)) = (payment.id, payment.reference) else {
            return Err("a CertiTrade payment in a search has no id or reference".into());
        };
        let sale = LedgerSale {
            payment_id,
            order_ref,
            amount_minor,
            currency,
            outcome: answer.outcome,
        };
        Ok(Some(ListedSale { sale, answer }))
    }
}

fn is_initializing(item: &Value) -> bool {
    match item.pointer("/data/RECURRING/initialize") {
        Some(Value::String(s)) => s == "1",
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        Some(Value::Bool(b)) => *b,
        _ => false,
    }
}

/// `YYYY-MM-DD HH:MM:SS`, read as UTC (the window around it is widened).
fn created_at(text: &str) -> Option<jiff::Timestamp> {
    let civil: jiff::civil::DateTime = text.replacen(' ', "T", 1).parse().ok()?;
    civil
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// Amounts come as strings in every example and as numbers in some clients.
fn lenient_i64(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_reads_as_utc_and_junk_is_none() {
        assert_eq!(
            created_at("2027-01-01 10:00:00"),
            Some("2027-01-01T10:00:00Z".parse().unwrap())
        );
        assert_eq!(created_at("yesterday"), None);
    }

    #[test]
    fn initializing_payments_are_recognized_in_every_spelling() {
        for v in [
            serde_json::json!("1"),
            serde_json::json!(1),
            serde_json::json!(true),
        ] {
            let item = serde_json::json!({"data": {"RECURRING": {"initialize": v}}});
            assert!(is_initializing(&item));
        }
        let charge = serde_json::json!({"data": {"RECURRING": {"initialize": "0"}}});
        assert!(!is_initializing(&charge));
    }
}
