//! Asking the customer to (re-)initialize an account, and noticing when they have: the
//! gateway's callback settles it at once; each billing run polls what no callback settled.

use crate::domain::states::GatewayKind;
use jiff::Timestamp;
use std::sync::Arc;
use uuid::Uuid;

use super::Billing;
use super::registration::{Progress, advance};
use crate::config::RefusedCycles;
use crate::domain::outcome::Outcome;
use crate::gateway::Gateways;
use crate::gateway::certitrade::transformers::classify_payment;
use crate::gateway::reinitialization_needed;
use crate::gateway::{Reinitialization, rules};
use crate::store::Store;
use crate::store::accounts::Account;

/// Whether the gateway's accounts come back through its payment window (an initializing
/// payment the customer completes), which billingd then asks for and polls.
fn by_payment_window(gateway: GatewayKind) -> bool {
    rules(gateway).reinitialization() == Reinitialization::PaymentWindow
}

/// What became of an initializing payment.
#[derive(Debug, Clone)]
pub enum Settled {
    Completed(Box<Account>),
    Failed(String),
    /// Still in the customer's hands.
    Waiting,
    /// No account waits for this payment (already settled).
    Unknown,
}

/// Asks the gateway what became of an initializing payment and records it.
pub async fn settle(
    store: &Store,
    gateways: &Gateways,
    payment_id: &str,
    refused: RefusedCycles,
    now: Timestamp,
) -> anyhow::Result<Settled> {
    let client = gateways
        .certitrade
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the CertiTrade gateway is not enabled in this daemon"))?;
    let payment = client
        .payment(payment_id)
        .await
        .map_err(anyhow::Error::msg)?;
    let answer = classify_payment(&payment, &Default::default());
    Ok(match answer.outcome {
        Outcome::Approved => {
            let masked = payment
                .payment_attempts
                .last()
                .and_then(|a| {
                    a.pointer("/data/RECURRING/masked_cardno")
                        .or(a.pointer("/data/masked_cardno"))
                })
                .and_then(|m| m.as_str())
                .map(str::to_owned);
            match store
                .complete_initialization(payment_id, masked.as_deref(), refused, now)
                .await?
            {
                Some(account) => Settled::Completed(Box::new(account)),
                None => Settled::Unknown,
            }
        }
        Outcome::Pending => Settled::Waiting,
        _ => {
            let reason = format!(
                "initializing payment {} ({})",
                payment.state.as_deref().unwrap_or("?"),
                answer
                    .processor_response_code
                    .as_deref()
                    .unwrap_or("no code")
            );
            store.fail_initialization(payment_id, &reason, now).await?;
            Settled::Failed(reason)
        }
    })
}

impl Billing {
    /// After a suspension: an account of a gateway with a payment window (CertiTrade) gets a
    /// new initializing payment at once; otherwise (Payroc) the customer's new card details
    /// are needed, which the history records.
    pub(super) async fn request_reinitialization(&self, account_id: Uuid) {
        let now = self.clock.now();
        let result = match self.store.account(account_id).await {
            Ok(account) if by_payment_window(account.gateway) => {
                self.reinitialize_in_payment_window(account.id, now).await
            }
            Ok(account) => self
                .store
                .note_account_event(
                    account.id,
                    "account.reinitialization_requested",
                    &serde_json::json!({"needed": reinitialization_needed(account.gateway), "link": null}),
                    now,
                )
                .await
                .map_err(Into::into),
            Err(e) => Err(e.into()),
        };
        if let Err(e) = result {
            // Not fatal: the account stays suspended, and POST /v1/accounts/{id}/reinitialize
            // (or the next suspension handling) asks again.
            tracing::error!(account_id = %account_id, error = %e, "could not request re-initialization");
        }
    }

    /// A new initializing payment on a suspended account; an unknown outcome stays
    /// owed and the next run settles it.
    async fn reinitialize_in_payment_window(&self, id: Uuid, now: Timestamp) -> anyhow::Result<()> {
        let lease_until = now + self.settings.lease.signed();
        let Some(claimed) = self
            .store
            .begin_reinitialization(id, now, lease_until)
            .await?
        else {
            return Ok(());
        };
        match advance(&self.store, &self.gateways, claimed, None, now).await? {
            Progress::Refused { reason, .. } => Err(anyhow::anyhow!(reason)),
            Progress::Account(_) => Ok(()),
        }
    }

    /// Polls initializing payments that no callback settled.
    pub(super) async fn settle_initializations(self: &Arc<Self>, now: Timestamp) {
        if self.gateways.certitrade.is_none() {
            return;
        }
        let cutoff = now
            .checked_sub(self.poll_initializations_after)
            .unwrap_or(now);
        let pending = match self.store.pending_initializations(cutoff).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "could not list pending initializations");
                return;
            }
        };
        for p in pending.into_iter().filter(|p| by_payment_window(p.gateway)) {
            match settle(
                &self.store,
                &self.gateways,
                &p.init_payment_id,
                self.settings.refused_cycles,
                now,
            )
            .await
            {
                Ok(Settled::Waiting) => {
                    let _ = self
                        .store
                        .postpone_initialization_poll(&p.init_payment_id, now)
                        .await;
                }
                Ok(settled) => {
                    tracing::info!(account_id = %p.account_id, payment_id = %p.init_payment_id, ?settled,
                        "initializing payment settled by polling")
                }
                Err(e) => {
                    tracing::warn!(account_id = %p.account_id, error = %e, "initializing payment could not be polled")
                }
            }
        }
    }
}
