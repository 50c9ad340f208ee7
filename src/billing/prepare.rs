//! Writing a claimed batch down before anything of it is sent: each charge's request is built
//! (or the stored one kept), and all of them are written with an attempt row each in one
//! statement (`Store::start_sends`).

use super::Billing;
use crate::domain::outcome::Outcome;
use crate::domain::position::{ParseEnumError, ProcessingModel};
use crate::domain::series::{self, SeriesDecision};
use crate::gateway::SaleSpec;
use crate::store::claims::ClaimedCharge;
use crate::store::sends::PlannedSend;

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
}
