//! Payroc's ledger for reconciliation: `GET /payments` for one processing terminal and a
//! window (`dateFrom` / `dateTo`), page after page through the `next` link Payroc returns.
//! Each listed payment is read as a sale answer is (`transformers::classify`), so a listed sale
//! means what the same answer to a POST would have meant.

use serde::Deserialize;

use super::PayrocClient;
use super::transformers;
use crate::domain::reconcile::LedgerSale;
use crate::gateway::ListedSale;

/// Payroc's largest page.
const PAGE: &str = "100";
/// A listing that would not end (a link pointing back) is cut off after this many pages.
const MAX_PAGES: usize = 10_000;

#[derive(Deserialize)]
struct Page {
    data: Vec<serde_json::Value>,
    #[serde(default)]
    links: Vec<Link>,
}

#[derive(Deserialize)]
struct Link {
    rel: String,
    href: String,
}

impl PayrocClient {
    /// Every payment Payroc processed on `terminal` within the window.
    pub async fn list_sales(
        &self,
        terminal: &str,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> Result<Vec<ListedSale>, String> {
        let mut url = reqwest::Url::parse_with_params(
            &format!("{}/payments", self.api_url),
            [
                ("processingTerminalId", terminal),
                ("dateFrom", &from.to_string()),
                ("dateTo", &to.to_string()),
                ("limit", PAGE),
            ],
        )
        .map_err(|e| format!("payroc.api_url: {e}"))?;
        let mut sales = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = self.page(url.clone()).await?;
            for item in &page.data {
                sales.push(self.sale_of(item)?);
            }
            match page.links.into_iter().find(|l| l.rel == "next") {
                Some(next) => url = self.follow(&next.href)?,
                None => return Ok(sales),
            }
        }
        Err(format!(
            "Payroc listing did not end after {MAX_PAGES} pages"
        ))
    }

    /// A `next` link is followed only to where the API lives: the bearer token goes nowhere
    /// else.
    fn follow(&self, href: &str) -> Result<reqwest::Url, String> {
        if !href.starts_with(&format!("{}/", self.api_url)) {
            return Err(format!(
                "Payroc's next page link {href:?} is not under payroc.api_url; not followed"
            ));
        }
        reqwest::Url::parse(href).map_err(|e| format!("Payroc's next page link {href:?}: {e}"))
    }

    async fn page(&self, url: reqwest::Url) -> Result<Page, String> {
        let body = self.get_ok(url, "payment listing").await?;
        serde_json::from_slice(&body).map_err(|e| format!("unreadable Payroc payment listing: {e}"))
    }

    fn sale_of(&self, item: &serde_json::Value) -> Result<ListedSale, String> {
        let bytes = serde_json::to_vec(item).unwrap_or_default();
        let answer = transformers::classify(200, &bytes, &self.table);
        let order = &item["order"];
        let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
        let (Some(payment_id), Some(order_ref)) =
            (answer.payment_id.clone(), text(&order["orderId"]))
        else {
            // Not printed: a listed payment carries card and cardholder details.
            return Err("a listed Payroc payment has no paymentId or order.orderId".into());
        };
        let sale = LedgerSale {
            payment_id,
            order_ref,
            amount_minor: order["amount"].as_i64(),
            currency: text(&order["currency"]),
            outcome: answer.outcome,
        };
        Ok(ListedSale { sale, answer })
    }
}
