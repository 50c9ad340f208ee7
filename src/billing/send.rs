//! Sending claimed charges: a claimed batch has its requests (body and key) written down
//! together first (`prepare`), then each is sent on its own; while an outcome is unknown, the
//! very same bytes are resent under the very same key, with bounded backoff; the final answer
//! goes to the run's recorder.

use backon::BackoffBuilder;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tracing::Instrument;

use super::Billing;
use super::recorder::Recorder;
use crate::domain::outcome::Outcome;
use crate::domain::position::{ParseEnumError, ProcessingModel};
use crate::domain::series::{self, SeriesDecision};
use crate::gateway::{GatewayAnswer, Resend, ResendContext, SaleSpec};
use crate::metrics;
use crate::store::StoreError;
use crate::store::claims::ClaimedCharge;
use crate::store::outcomes::Recorded;
use crate::store::sends::PlannedSend;

pub(super) enum SendResult {
    Recorded(Recorded),
    Error,
}

/// A claimed charge whose request is written down, with the attempt row of its next send.
pub(super) struct ReadyCharge {
    charge: ClaimedCharge,
    sequence: String,
    body: String,
    attempt_id: i64,
    send_no: i32,
}

impl ReadyCharge {
    /// What `Store::release_unsent` needs to give it back.
    pub(super) fn unsent(&self) -> (uuid::Uuid, i64, i64) {
        (self.charge.id, self.charge.lease_token, self.attempt_id)
    }
}

/// Work for a slot: a send, or a lookup of a payment the gateway reported pending.
pub(super) enum Ready {
    Send(ReadyCharge),
    Lookup(ClaimedCharge),
}

/// A claimed batch after `prepare`.
#[derive(Default)]
pub(super) struct Prepared {
    pub ready: Vec<Ready>,
    /// Charges whose request could not be built (logged); their leases expire.
    pub failed: u64,
}

impl Billing {
    /// Builds the requests of a claimed batch (the stored one when a request is already written
    /// down) and writes them, with an attempt row each, in one statement. A charge whose claim
    /// was lost meanwhile is left out: not sent.
    pub(super) async fn prepare(&self, claimed: Vec<ClaimedCharge>) -> anyhow::Result<Prepared> {
        let mut prepared = Prepared::default();
        let mut planned: Vec<(ClaimedCharge, String, String)> = Vec::with_capacity(claimed.len());
        for mut charge in claimed {
            if charge.last_outcome == Some(Outcome::Pending) && charge.gateway_payment_id.is_some()
            {
                prepared.ready.push(Ready::Lookup(charge));
                continue;
            }
            let request = match (charge.sequence.take(), charge.request_body.take()) {
                (Some(sequence), Some(body)) => Ok((sequence, body)),
                _ => self.build_request(&charge),
            };
            match request {
                Ok((sequence, body)) => planned.push((charge, sequence, body)),
                Err(e) => {
                    tracing::error!(charge_id = %charge.id, subscription_id = %charge.subscription_id,
                        error = %e, "request not built; not sent, retried when its lease expires");
                    prepared.failed += 1;
                }
            }
        }
        let sends: Vec<PlannedSend<'_>> = planned
            .iter()
            .map(|(charge, sequence, body)| PlannedSend {
                charge,
                sequence,
                body,
                send_no: charge.next_send_no(),
            })
            .collect();
        let started = self
            .store
            .start_sends(self.worker, &sends, self.clock.now())
            .await?;
        drop(sends);
        for (mut charge, sequence, body) in planned {
            let Some(&attempt_id) = started.get(&charge.id) else {
                tracing::warn!(charge_id = %charge.id, "lease lost before sending; not sent");
                continue;
            };
            charge.sequence = Some(sequence.clone());
            let send_no = charge.next_send_no();
            prepared.ready.push(Ready::Send(ReadyCharge {
                charge,
                sequence,
                body,
                attempt_id,
                send_no,
            }));
        }
        Ok(prepared)
    }

    /// Sends (or looks up) one charge, holding a `gateway` slot only while a request is out.
    pub(super) async fn send_one(
        self: Arc<Self>,
        ready: Ready,
        recorder: Recorder,
        gateway: Arc<Semaphore>,
    ) -> SendResult {
        let charge = match &ready {
            Ready::Send(r) => &r.charge,
            Ready::Lookup(c) => c,
        };
        // Spans carry what identifies the charge, never the token or the body.
        let span = tracing::info_span!("charge",
            subscription_id = %charge.subscription_id,
            cycle = charge.cycle,
            charge_id = %charge.id,
            attempt = charge.attempt_no,
            idempotency_key = %charge.idempotency_key,
            order_id = %charge.order_id,
        );
        let result = match ready {
            Ready::Send(r) => {
                self.try_send(r, &recorder, &gateway)
                    .instrument(span.clone())
                    .await
            }
            Ready::Lookup(c) => {
                self.settle_pending(&c, &gateway)
                    .instrument(span.clone())
                    .await
            }
        };
        match result {
            Ok(r) => SendResult::Recorded(r),
            Err(e) => {
                span.in_scope(|| tracing::error!(error = %e, "charge not recorded; its lease expires and it is retried"));
                SendResult::Error
            }
        }
    }

    async fn try_send(
        &self,
        ready: ReadyCharge,
        recorder: &Recorder,
        gateway: &Semaphore,
    ) -> anyhow::Result<Recorded> {
        let ReadyCharge {
            charge,
            sequence,
            mut body,
            attempt_id: first_attempt,
            mut send_no,
        } = ready;
        let mut backoff = backon::ExponentialBuilder::default()
            .with_min_delay(self.settings.unknown_backoff_min.get())
            .with_max_delay(self.settings.unknown_backoff_max.get())
            .with_max_times(self.settings.unknown_resends as usize)
            .with_jitter()
            .build();
        let mut written = Some(first_attempt);
        let mut first_sent_at = charge.first_sent_at.map(crate::store::from_db);
        // The first send waited for a gateway slot since its batch was written down: with a
        // slow gateway that can be long. Not sent on a lease half gone — another daemon could
        // take the charge over mid-request — but given back, to be claimed again at once.
        let slot = gateway.acquire().await?;
        if self.lease_half_gone(&charge) {
            drop(slot);
            tracing::warn!("lease half gone while waiting for a gateway slot; given back unsent");
            self.store
                .release_unsent(
                    self.worker,
                    &[(charge.id, charge.lease_token, first_attempt)],
                )
                .await?;
            return Ok(Recorded::LeaseLost);
        }
        let mut slot = Some(slot);
        loop {
            // The first send was logged with the batch; every resend logs its own.
            let attempt_id = match written.take() {
                Some(id) => id,
                None => {
                    send_no += 1;
                    let logged = self
                        .store
                        .start_send(&charge, self.worker, send_no, &sequence, self.clock.now())
                        .await?;
                    let Some(id) = logged else {
                        tracing::warn!(send_no, "lease lost before sending; not sent");
                        return Ok(Recorded::LeaseLost);
                    };
                    id
                }
            };
            let slot = match slot.take() {
                Some(slot) => slot,
                None => gateway.acquire().await?,
            };
            let started = std::time::Instant::now();
            let in_flight = metrics::InFlight::start(charge.gateway.as_str());
            let now = self.clock.now();
            let first_sent_at = *first_sent_at.get_or_insert(now);
            let ctx = ResendContext {
                send_no,
                first_sent_at: Some(first_sent_at),
                now,
            };
            let answer = match self.gateways.before_send(charge.gateway, &body, &ctx).await {
                Resend::AsStored => {
                    self.gateways
                        .send_sale(charge.gateway, charge.idempotency_key, &body)
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
                        .send_sale(charge.gateway, charge.idempotency_key, &body)
                        .await
                }
                Resend::Answered(answer) => answer,
            };
            drop(in_flight);
            drop(slot);
            // Every send is timed, resends included: a slow or failing gateway shows up here
            // before any outcome is recorded.
            let elapsed = started.elapsed();
            metrics::observe_gateway(charge.gateway.as_str(), "sale", elapsed);
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
            let recorded = recorder.record(&charge, attempt_id, &answer).await?;
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

    fn lease_half_gone(&self, charge: &ClaimedCharge) -> bool {
        let Some(expires) = charge.lease_expires_at else {
            return true;
        };
        let half = self.settings.lease.signed() / 2;
        crate::store::from_db(expires).duration_since(self.clock.now()) < half
    }

    /// Decides the charge's position in its subscription's series as the series is now (none
    /// on record → this one opens it; `domain::series`) and builds the body; `prepare` writes
    /// both down before any send.
    fn build_request(&self, charge: &ClaimedCharge) -> anyhow::Result<(String, String)> {
        let bad = |e: ParseEnumError| anyhow::anyhow!("charge {}: {e}", charge.id);
        let plan: ProcessingModel = charge.processing_model.parse().map_err(bad)?;
        let position = match series::place(&charge.series().map_err(bad)?, plan) {
            SeriesDecision::Send(position) => position,
            // The claim lets no charge through while its series' first payment is out.
            SeriesDecision::Wait => anyhow::bail!(
                "charge {}: its series' first payment is still out",
                charge.id
            ),
        };
        let body = self.gateways.sale_body(&SaleSpec {
            charge,
            sequence: position.sequence,
            model: position.model,
            first: position.first.as_ref(),
        })?;
        Ok((position.sequence.as_str().to_owned(), body))
    }

    /// A pending payment is settled by asking the gateway about it, never by a new sale.
    async fn settle_pending(
        &self,
        charge: &ClaimedCharge,
        gateway: &Semaphore,
    ) -> anyhow::Result<Recorded> {
        let payment_id = charge.gateway_payment_id.as_deref().unwrap_or_default();
        let sequence = charge.sequence.clone().unwrap_or_else(|| "first".into());
        let Some(attempt_id) = self
            .store
            .start_send(
                charge,
                self.worker,
                charge.next_send_no(),
                &sequence,
                self.clock.now(),
            )
            .await?
        else {
            return Ok(Recorded::LeaseLost);
        };
        let slot = gateway.acquire().await?;
        let started = std::time::Instant::now();
        let in_flight = metrics::InFlight::start(charge.gateway.as_str());
        let answer = self.gateways.lookup(charge.gateway, payment_id).await;
        drop(in_flight);
        drop(slot);
        metrics::observe_gateway(charge.gateway.as_str(), "lookup", started.elapsed());
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
        metrics::record_outcome(charge.gateway.as_str(), answer.outcome.as_str());
    }
}
