//! Settling a sale whose answer was lost: before any resend, Payroc is asked what it holds for
//! the order (`GET /payments?orderId=…&processingTerminalId=…`). A payment found is the answer;
//! none found means the same bytes go again under the same key. Payroc does not publish how long
//! it remembers a key, so when the lookup itself fails, a resend goes out only while the request
//! is younger than `payroc.idempotency_key_lifetime`; past it the charge stays unknown until a
//! lookup answers.

use secrecy::ExposeSecret;

use super::PayrocClient;
use super::transformers;
use crate::gateway::{GatewayAnswer, Resend, ResendContext};

impl PayrocClient {
    /// What to do before sending a stored sale (see the module's comment).
    pub async fn before_send(&self, stored: &str, ctx: &ResendContext) -> Resend {
        if ctx.send_no <= 1 {
            return Resend::AsStored;
        }
        let Some((order_id, terminal)) = transformers::order_of(stored) else {
            return Resend::Answered(GatewayAnswer::unknown(
                "the stored Payroc sale is unreadable; not resent",
            ));
        };
        match self.find_by_order(&order_id, &terminal).await {
            Ok(Some(answer)) => Resend::Answered(answer),
            Ok(None) => Resend::AsStored,
            Err(e) if ctx.unknown_for() < self.key_lifetime => {
                tracing::warn!(error = %e, "lookup before resend failed; resending under the same key");
                Resend::AsStored
            }
            Err(e) => Resend::Answered(GatewayAnswer::unknown(format!(
                "{e}; not resent: the first request is older than \
                 payroc.idempotency_key_lifetime, so Payroc may no longer recognize its key"
            ))),
        }
    }

    /// The payment Payroc holds for an order, if any.
    pub async fn find_by_order(
        &self,
        order_id: &str,
        terminal: &str,
    ) -> Result<Option<GatewayAnswer>, String> {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/payments", self.api_url),
            [("orderId", order_id), ("processingTerminalId", terminal)],
        )
        .map_err(|e| format!("payroc.api_url: {e}"))?;
        let body = self.get_ok(url, "payment lookup").await?;
        transformers::classify_listed(&body, &self.table)
    }

    /// A GET under the cached bearer token (refreshed once on a 401): the body of a 200, or
    /// what went wrong in words naming `what` was asked.
    pub(super) async fn get_ok(&self, url: reqwest::Url, what: &str) -> Result<Vec<u8>, String> {
        for _ in 0..2 {
            let bearer = self.tokens.bearer().await?;
            let response = self
                .http
                .get(url.clone())
                .bearer_auth(bearer.value.expose_secret())
                .send()
                .await
                .map_err(|e| format!("Payroc {what} failed: {e}"))?;
            let status = response.status().as_u16();
            if status == 401 {
                self.tokens.invalidate(&bearer).await;
                continue;
            }
            let body = response
                .bytes()
                .await
                .map_err(|e| format!("Payroc {what} cut off: {e}"))?;
            if status != 200 {
                return Err(transformers::problem_message(status, &body));
            }
            return Ok(body.to_vec());
        }
        Err(format!(
            "Payroc refused a freshly issued bearer token (401) on a {what}"
        ))
    }
}
