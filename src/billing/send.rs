//! Sending claimed charges, once a claimed batch has its requests written down (`prepare`):
//! each is sent on its own; while an outcome is unknown, the very same bytes are resent under
//! the very same key, with bounded backoff; the final answer goes to the run's recorder.

use backon::BackoffBuilder;
use std::sync::Arc;
use tokio::sync::{Semaphore, SemaphorePermit};
use tracing::Instrument;

use super::Billing;
use super::prepare::{Ready, ReadyCharge};
use super::recorder::Recorder;
use crate::domain::outcome::Outcome;
use crate::gateway::{GatewayAnswer, Resend, ResendContext};
use crate::metrics;
use crate::store::StoreError;
use crate::store::claims::ClaimedCharge;
use crate::store::outcomes::Recorded;

pub(super) enum SendResult {
    Recorded(Recorded),
    Error,
}

/// A charge being sent: its request as last stored, and where its sends stand.
struct Sending {
    charge: ClaimedCharge,
    sequence: String,
    body: String,
    /// The number of the send under way (or last made).
    send_no: i32,
    /// The attempt row logged with the batch, until the first send takes it.
    logged: Option<i64>,
    first_sent_at: Option<jiff::Timestamp>,
}

impl From<ReadyCharge> for Sending {
    fn from(r: ReadyCharge) -> Self {
        Sending {
            first_sent_at: r.charge.first_sent_at.map(crate::store::from_db),
            charge: r.charge,
            sequence: r.sequence,
            body: r.body,
            send_no: r.send_no,
            logged: Some(r.attempt_id),
        }
    }
}

impl Billing {
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
        // Every line about the charge names it, never its token or body. The span holds the
        // charge id only: the JSON formatter writes a span's fields out again for every line
        // inside it, and a charge usually logs one line, `charge.sent`, which carries the rest.
        let span = tracing::info_span!("charge", charge_id = %charge.id);
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

    /// Sends one written-down charge and records its final answer. While the outcome is
    /// unknown, the very same request is resent under the same key, with bounded backoff.
    async fn try_send(
        &self,
        ready: ReadyCharge,
        recorder: &Recorder,
        gateway: &Semaphore,
    ) -> anyhow::Result<Recorded> {
        let mut backoff = self.unknown_backoff();
        let Some(first_slot) = self.first_slot(&ready, gateway).await? else {
            return Ok(Recorded::LeaseLost);
        };
        let mut slot = Some(first_slot);
        let mut s = Sending::from(ready);
        loop {
            let Some(attempt_id) = self.log_send(&mut s).await? else {
                return Ok(Recorded::LeaseLost);
            };
            let slot = match slot.take() {
                Some(slot) => slot,
                None => gateway.acquire().await?,
            };
            let exchanged = self.exchange(&mut s, attempt_id).await?;
            drop(slot);
            let Some((answer, latency)) = exchanged else {
                return Ok(Recorded::LeaseLost);
            };
            let latency_ms = latency.as_millis() as u64;
            if answer.outcome == Outcome::Unknown
                && !self.shutdown.is_cancelled()
                && let Some(delay) = backoff.next()
            {
                tracing::warn!(
                    send_no = s.send_no,
                    idempotency_key = %s.charge.idempotency_key,
                    order_id = %s.charge.order_id,
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
            return self
                .record_final(s, attempt_id, answer, latency_ms, recorder)
                .await;
        }
    }

    /// The resend schedule of an unknown outcome.
    fn unknown_backoff(&self) -> backon::ExponentialBackoff {
        backon::ExponentialBuilder::default()
            .with_min_delay(self.settings.unknown_backoff_min.get())
            .with_max_delay(self.settings.unknown_backoff_max.get())
            .with_max_times(self.settings.unknown_resends as usize)
            .with_jitter()
            .build()
    }

    /// A gateway slot for the first send, which waited for one since its batch was written
    /// down: with a slow gateway that can be long. Not sent on a lease half gone — another
    /// daemon could take the charge over mid-request — but given back, to be claimed again at
    /// once (None).
    async fn first_slot<'g>(
        &self,
        ready: &ReadyCharge,
        gateway: &'g Semaphore,
    ) -> anyhow::Result<Option<SemaphorePermit<'g>>> {
        let slot = gateway.acquire().await?;
        if !self.lease_half_gone(&ready.charge) {
            return Ok(Some(slot));
        }
        drop(slot);
        tracing::warn!("lease half gone while waiting for a gateway slot; given back unsent");
        self.store
            .release_unsent(self.worker, &[ready.unsent()])
            .await?;
        Ok(None)
    }

    /// The attempt row of the next send: the first send was logged with the batch; every
    /// resend logs its own, fenced (None: the lease is lost, nothing is sent).
    async fn log_send(&self, s: &mut Sending) -> anyhow::Result<Option<i64>> {
        if let Some(id) = s.logged.take() {
            return Ok(Some(id));
        }
        s.send_no += 1;
        let logged = self
            .store
            .start_send(
                &s.charge,
                self.worker,
                s.send_no,
                &s.sequence,
                self.clock.now(),
            )
            .await?;
        if logged.is_none() {
            tracing::warn!(send_no = s.send_no, "lease lost before sending; not sent");
        }
        Ok(logged)
    }

    /// One request and its answer, timed (resends included: a slow or failing gateway shows up
    /// before any outcome is recorded). The gateway may answer from what it already knows, or
    /// ask for a re-stamped request, stored before it is sent. None: the lease was lost before
    /// a re-stamped request could be stored; nothing was sent.
    async fn exchange(
        &self,
        s: &mut Sending,
        attempt_id: i64,
    ) -> anyhow::Result<Option<(GatewayAnswer, std::time::Duration)>> {
        let gateway = s.charge.gateway;
        let started = std::time::Instant::now();
        let in_flight = metrics::InFlight::start(gateway.as_str());
        let now = self.clock.now();
        let ctx = ResendContext {
            send_no: s.send_no,
            first_sent_at: Some(*s.first_sent_at.get_or_insert(now)),
            now,
        };
        let answer = match self.gateways.before_send(gateway, &s.body, &ctx).await {
            Resend::AsStored => self.send_sale(s).await,
            Resend::Restamped(restamped) => {
                if !self.restamp(s, attempt_id, restamped).await? {
                    return Ok(None);
                }
                self.send_sale(s).await
            }
            Resend::Answered(answer) => answer,
        };
        drop(in_flight);
        let elapsed = started.elapsed();
        metrics::observe_gateway(gateway.as_str(), "sale", elapsed);
        Ok(Some((answer, elapsed)))
    }

    async fn send_sale(&self, s: &Sending) -> GatewayAnswer {
        let c = &s.charge;
        self.gateways
            .send_sale(c.gateway, c.idempotency_key, &s.body)
            .await
    }

    /// Stores a re-stamped request, fenced, so that later resends repeat what was last sent;
    /// false if the lease was lost (the send is then logged as not sent).
    async fn restamp(
        &self,
        s: &mut Sending,
        attempt_id: i64,
        restamped: String,
    ) -> anyhow::Result<bool> {
        let stored = self
            .store
            .restamp_request(&s.charge, self.worker, &restamped, self.clock.now())
            .await;
        match stored {
            Ok(()) => {
                s.body = restamped;
                Ok(true)
            }
            Err(StoreError::Conflict(_)) => {
                tracing::warn!(
                    send_no = s.send_no,
                    "lease lost before a re-stamped resend; not sent"
                );
                let not_sent = GatewayAnswer::unknown("lease lost; not sent");
                self.store
                    .finish_send(attempt_id, &not_sent, self.clock.now())
                    .await?;
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Hands the final answer to the run's recorder; a suspension asks for re-initialization.
    async fn record_final(
        &self,
        s: Sending,
        attempt_id: i64,
        answer: GatewayAnswer,
        latency_ms: u64,
        recorder: &Recorder,
    ) -> anyhow::Result<Recorded> {
        let (recorded, c, answer) = recorder.record(s.charge, attempt_id, answer).await?;
        count_outcome(&c, &answer, recorded);
        if recorded == Recorded::Suspended {
            self.request_reinitialization(c.account_id).await;
        }
        tracing::info!(
            event = "charge.sent",
            subscription_id = %c.subscription_id,
            cycle = c.cycle,
            attempt = c.attempt_no,
            idempotency_key = %c.idempotency_key,
            order_id = %c.order_id,
            sequence = %s.sequence,
            send_no = s.send_no,
            latency_ms,
            outcome = answer.outcome.as_str(),
            http_status = answer.http_status,
            processor_response_code = answer.processor_response_code.as_deref(),
            payment_id = answer.payment_id.as_deref(),
            error = answer.error.as_deref(),
            recorded = ?recorded,
            "charge attempt recorded"
        );
        Ok(recorded)
    }

    fn lease_half_gone(&self, charge: &ClaimedCharge) -> bool {
        let Some(expires) = charge.lease_expires_at else {
            return true;
        };
        let half = self.settings.lease.signed() / 2;
        crate::store::from_db(expires).duration_since(self.clock.now()) < half
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
        tracing::info!(event = "charge.looked_up", subscription_id = %charge.subscription_id,
            cycle = charge.cycle, attempt = charge.attempt_no, order_id = %charge.order_id,
            payment_id, outcome = answer.outcome.as_str(), recorded = ?recorded,
            "pending payment looked up");
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
