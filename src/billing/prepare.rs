//! Claiming a batch with its requests written down: each charge's request is built from the
//! queue's window (or the stored one kept), and the claim itself stores it with an attempt
//! row (`Store::claim_and_write`), so nothing of the batch is sent before both are committed.

use super::Billing;
use crate::domain::outcome::Outcome;
use crate::domain::position::{ParseEnumError, ProcessingModel};
use crate::domain::series::{self, SeriesDecision};
use crate::gateway::SaleSpec;
use crate::store::claim_writes::{ClaimedWrite, Request};
use crate::store::claims::{ClaimedCharge, QueueCursor};

/// A claimed charge whose request is written down, with the attempt row of its next send.
pub(super) struct ReadyCharge {
    pub(super) charge: ClaimedCharge,
    pub(super) sequence: String,
    pub(super) body: String,
    pub(super) attempt_id: i64,
    pub(super) send_no: i32,
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

/// What `Store::release_unsent` needs to give back the sends among `ready`.
pub(super) fn unsent(ready: &[Ready]) -> Vec<(uuid::Uuid, i64, i64)> {
    ready
        .iter()
        .filter_map(|r| match r {
            Ready::Send(r) => Some(r.unsent()),
            Ready::Lookup(_) => None,
        })
        .collect()
}

/// A claimed batch, ready to go.
#[derive(Default)]
pub(super) struct Prepared {
    pub ready: Vec<Ready>,
    /// Charges whose request could not be built (logged); their leases expire.
    pub failed: u64,
}

/// Claimed charges, ready to go: a payment to look up, or a send of the request written down
/// with the claim. A charge claimed without one (its request could not be built) is counted as
/// failed and left to its lease.
pub(super) fn prepare(claimed: Vec<ClaimedWrite>) -> Prepared {
    let mut prepared = Prepared::default();
    for ClaimedWrite {
        mut charge,
        written,
    } in claimed
    {
        if is_lookup(&charge) {
            prepared.ready.push(Ready::Lookup(charge));
            continue;
        }
        let Some(w) = written else {
            prepared.failed += 1;
            continue;
        };
        let send_no = charge.next_send_no();
        charge.sequence = Some(w.sequence.clone());
        prepared.ready.push(Ready::Send(ReadyCharge {
            charge,
            sequence: w.sequence,
            body: w.body,
            attempt_id: w.attempt_id,
            send_no,
        }));
    }
    prepared
}

/// A payment the gateway reported pending is looked up, not sent again.
fn is_lookup(charge: &ClaimedCharge) -> bool {
    charge.last_outcome == Some(Outcome::Pending) && charge.gateway_payment_id.is_some()
}

impl Billing {
    /// One claim of up to `want` charges, their requests written down by the claim: how many
    /// charges were claimed, and what is ready to go. A charge whose request could not be
    /// built is claimed without one and left to its lease.
    pub(super) async fn claim_ready(
        &self,
        cursor: &mut QueueCursor,
        want: u32,
    ) -> anyhow::Result<(usize, Prepared)> {
        // Leases are measured from the current time, not the run's start: a long run must not
        // hand out leases that are already expired.
        let claimed = self
            .store
            .claim_and_write(
                cursor,
                self.worker,
                self.clock.now(),
                self.settings.lease.signed(),
                want,
                |charge| self.plan_request(charge),
            )
            .await?;
        Ok((claimed.len(), prepare(claimed)))
    }

    /// What the claim writes down for a charge of the window: nothing for a payment to look
    /// up, the stored request for one written down before (a resend repeats it byte for
    /// byte), else a request built now.
    pub(super) fn plan_request(&self, charge: &mut ClaimedCharge) -> Request {
        if is_lookup(charge) {
            return None;
        }
        if let (Some(_), Some(_)) = (&charge.sequence, &charge.request_body) {
            return charge.sequence.take().zip(charge.request_body.take());
        }
        match self.build_request(charge) {
            Ok(request) => Some(request),
            Err(e) => {
                tracing::error!(charge_id = %charge.id, subscription_id = %charge.subscription_id,
                    error = %e, "request not built; not sent, retried when its lease expires");
                None
            }
        }
    }

    /// Decides the charge's position in its subscription's series as the series is now (none
    /// on record → this one opens it; `domain::series`) and builds the body; the claim writes
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
}
