//! Sending one claimed charge: fix the request (body and key) in the database first, then send;
//! while the outcome is unknown, resend the very same bytes under the very same key, with
//! bounded backoff; then record the outcome.

use backon::BackoffBuilder;
use std::sync::Arc;
use tracing::Instrument;

use super::Billing;
use crate::domain::outcome::Outcome;
use crate::domain::position::{ProcessingModel, Sequence};
use crate::gateway::{GatewayAnswer, Resend, SaleSpec};
use crate::metrics;
use crate::store::StoreError;
use crate::store::claims::ClaimedCharge;
use crate::store::outcomes::Recorded;

pub(super) enum SendResult {
    Recorded(Recorded),
    Error,
}

impl Billing {
    pub(super) async fn send_one(self: Arc<Self>, charge: ClaimedCharge) -> SendResult {
        // Spans carry what identifies the charge, never the token or the body.
        let span = tracing::info_span!("charge",
            subscription_id = %charge.subscription_id,
            cycle = charge.cycle,
            charge_id = %charge.id,
            attempt = charge.attempt_no,
            idempotency_key = %charge.idempotency_key,
            order_id = %charge.order_id,
        );
        match self.try_send(charge).instrument(span.clone()).await {
            Ok(r) => SendResult::Recorded(r),
            Err(e) => {
                span.in_scope(|| tracing::error!(error = %e, "charge not recorded; its lease expires and it is retried"));
                SendResult::Error
            }
        }
    }

    async fn try_send(&self, mut charge: ClaimedCharge) -> anyhow::Result<Recorded> {
        if charge.last_outcome.as_deref() == Some("pending")
            && let Some(payment_id) = charge.gateway_payment_id.clone()
        {
            return self.settle_pending(&charge, &payment_id).await;
        }
        let (sequence, body) = match (charge.sequence.take(), charge.request_body.take()) {
            (Some(s), Some(b)) => (s, b),
            _ => match self.fix_request(&charge).await {
                Ok(fixed) => fixed,
                Err(StoreError::Conflict(_)) => return Ok(Recorded::LeaseLost),
                Err(e) => return Err(e.into()),
            },
        };
        charge.sequence = Some(sequence.clone());
        let mut backoff = backon::ExponentialBuilder::default()
            .with_min_delay(self.settings.unknown_backoff_min.get())
            .with_max_delay(self.settings.unknown_backoff_max.get())
            .with_max_times(self.settings.unknown_resends as usize)
            .with_jitter()
            .build();
        let mut body = body;
        let mut send_no = charge.sends_so_far as i32;
        loop {
            send_no += 1;
            let Some(attempt_id) = self
                .store
                .start_send(&charge, self.worker, send_no, &sequence, self.clock.now())
                .await?
            else {
                tracing::warn!(send_no, "lease lost before sending; not sent");
                return Ok(Recorded::LeaseLost);
            };
            let started = std::time::Instant::now();
            let in_flight = metrics::InFlight::start(&charge.gateway);
            let answer = match self.gateways.before_send(&charge.gateway, &body).await {
                Resend::AsStored => {
                    self.gateways
                        .send_sale(&charge.gateway, charge.idempotency_key, &body)
                        .await
                }
                Resend::Restamped(restamped) => {
                    match self
                        .store
                        .restamp_request(&charge, self.worker, &restamped, self.clock.now())
                        .await
                    {
                        Ok(()) => {}
                        Err(StoreError::Conflict(_)) => {
                            tracing::warn!(
                                send_no,
                                "lease lost before a re-stamped resend; not sent"
                            );
                            let not_sent = GatewayAnswer::unknown("lease lost; not sent");
                            self.store
                                .finish_send(attempt_id, &not_sent, self.clock.now())
                                .await?;
                            return Ok(Recorded::LeaseLost);
                        }
                        Err(e) => return Err(e.into()),
                    }
                    body = restamped;
                    self.gateways
                        .send_sale(&charge.gateway, charge.idempotency_key, &body)
                        .await
                }
                Resend::Answered(answer) => answer,
            };
            drop(in_flight);
            // Every send is timed, resends included: a slow or failing gateway shows up here
            // before any outcome is recorded.
            let elapsed = started.elapsed();
            metrics::observe_gateway(&charge.gateway, "sale", elapsed);
            let latency_ms = elapsed.as_millis() as u64;
            if answer.outcome == Outcome::Unknown
                && !self.shutdown.is_cancelled()
                && let Some(delay) = backoff.next()
            {
                tracing::warn!(
                    send_no,
                    latency_ms,
                    error = answer.error.as_deref().unwrap_or(""),
                    retry_in_ms = delay.as_millis() as u64,
                    "outcome unknown; resending the same request"
                );
                self.store
                    .finish_send(attempt_id, &answer, self.clock.now())
                    .await?;
                tokio::time::sleep(delay).await;
                continue;
            }
            let recorded = self
                .store
                .record_outcome(
                    self.worker,
                    &charge,
                    attempt_id,
                    &answer,
                    &self.policy,
                    self.clock.now(),
                )
                .await?;
            count_outcome(&charge, &answer, recorded);
            if recorded == Recorded::Suspended {
                self.request_reinitialization(charge.account_id).await;
            }
            tracing::info!(
                event = "charge.sent",
                sequence = %sequence,
                send_no,
                latency_ms,
                outcome = answer.outcome.as_str(),
                http_status = answer.http_status,
                processor_response_code = answer.processor_response_code.as_deref(),
                payment_id = answer.payment_id.as_deref(),
                error = answer.error.as_deref(),
                recorded = ?recorded,
                "charge attempt recorded"
            );
            return Ok(recorded);
        }
    }

    /// Decides the series position from the account as it is now (no first payment on record
    /// → this one opens the series), builds the body and writes both down before any send.
    async fn fix_request(&self, charge: &ClaimedCharge) -> Result<(String, String), StoreError> {
        let sequence = if charge.series_payment_id.is_some() {
            Sequence::Subsequent
        } else {
            Sequence::First
        };
        let model: ProcessingModel = charge
            .processing_model
            .parse()
            .map_err(|e| StoreError::Invalid(format!("charge {}: {e}", charge.id)))?;
        let body = self
            .gateways
            .sale_body(&SaleSpec {
                charge,
                sequence,
                model,
            })
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.store
            .fix_request(
                charge,
                self.worker,
                sequence.as_str(),
                &body,
                self.clock.now(),
            )
            .await?;
        Ok((sequence.as_str().to_owned(), body))
    }

    /// A pending payment is settled by asking the gateway about it, never by a new sale.
    async fn settle_pending(
        &self,
        charge: &ClaimedCharge,
        payment_id: &str,
    ) -> anyhow::Result<Recorded> {
        let sequence = charge.sequence.clone().unwrap_or_else(|| "first".into());
        let Some(attempt_id) = self
            .store
            .start_send(
                charge,
                self.worker,
                charge.sends_so_far as i32 + 1,
                &sequence,
                self.clock.now(),
            )
            .await?
        else {
            return Ok(Recorded::LeaseLost);
        };
        let started = std::time::Instant::now();
        let in_flight = metrics::InFlight::start(&charge.gateway);
        let answer = self.gateways.lookup(&charge.gateway, payment_id).await;
        drop(in_flight);
        metrics::observe_gateway(&charge.gateway, "lookup", started.elapsed());
        let recorded = self
            .store
            .record_outcome(
                self.worker,
                charge,
                attempt_id,
                &answer,
                &self.policy,
                self.clock.now(),
            )
            .await?;
        count_outcome(charge, &answer, recorded);
        tracing::info!(event = "charge.looked_up", payment_id, outcome = answer.outcome.as_str(),
            recorded = ?recorded, "pending payment looked up");
        Ok(recorded)
    }
}

/// Counts an answer once it is recorded on the charge. Not when the lease was lost: the daemon
/// now holding the charge records (and counts) the gateway's answer itself.
fn count_outcome(charge: &ClaimedCharge, answer: &GatewayAnswer, recorded: Recorded) {
    if recorded != Recorded::LeaseLost {
        metrics::record_outcome(&charge.gateway, answer.outcome.as_str());
    }
}
