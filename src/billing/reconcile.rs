//! Reconciliation runs: list a gateway's sales for a window, match them to charges
//! (`domain::reconcile`), record the approvals billingd was still waiting for, and keep the
//! rest as findings. Safe on several replicas at once: an approval is recorded through an
//! ordinary claim (leased and fenced like any send), and a finding is stored once.

use std::sync::Arc;

use jiff::Timestamp;
use uuid::Uuid;

use super::Billing;
use crate::config::ReconcileSettings;
use crate::domain::reconcile::{self, Action, Finding, LedgerSale};
use crate::domain::states::GatewayKind;
use crate::gateway::{GatewayAnswer, ListedSale};
use crate::metrics;
use crate::store::outcomes::Recorded;

/// What one run did, for the CLI and the logs.
#[derive(Debug, Clone)]
pub struct ReconcileReport {
    pub gateway: GatewayKind,
    pub from: Timestamp,
    pub to: Timestamp,
    /// Sales the gateway listed for the window.
    pub listed: usize,
    /// Charges of billingd the listing was matched against.
    pub charges: usize,
    /// Charges recorded approved from the listing.
    pub recorded: u64,
    /// Findings not stored before.
    pub new_findings: Vec<Finding>,
    /// Findings found again (stored by an earlier run).
    pub known_findings: usize,
}

impl Billing {
    /// One reconciliation of `gateway` for [from, to).
    pub async fn reconcile(
        self: &Arc<Self>,
        gateway: GatewayKind,
        from: Timestamp,
        to: Timestamp,
    ) -> anyhow::Result<ReconcileReport> {
        let scopes = self.store.ledger_scopes(gateway).await?;
        let listed = self
            .gateways
            .list_sales(gateway, &scopes, from, to)
            .await
            .map_err(|e| anyhow::anyhow!("listing {gateway}'s sales: {e}"))?;
        let refs: Vec<String> = listed.iter().map(|l| l.sale.order_ref.clone()).collect();
        let book = self
            .store
            .reconciliation_book(gateway.as_str(), from, to, &refs)
            .await?;
        let ledger: Vec<LedgerSale> = listed.iter().map(|l| l.sale.clone()).collect();
        let mut findings = Vec::new();
        let mut recorded = 0;
        for action in reconcile::reconcile(&book, &ledger) {
            match action {
                Action::RecordApproved { charge_id, sale } => {
                    if self.record_found(charge_id, &sale, &listed).await? {
                        recorded += 1;
                    }
                }
                Action::Report(finding) => findings.push(finding),
            }
        }
        let new_findings = self
            .store
            .record_findings(gateway, &findings, self.clock.now())
            .await?;
        for f in &new_findings {
            metrics::reconciliation_finding(gateway.as_str(), f.kind.as_str());
            tracing::warn!(event = "reconciliation.finding", %gateway, kind = f.kind.as_str(),
                charge_id = ?f.charge_id, order_ref = %f.order_ref, payment_ids = %f.payment_ids,
                detail = %f.detail, "reconciliation finding");
        }
        let report = ReconcileReport {
            gateway,
            from,
            to,
            listed: listed.len(),
            charges: book.len(),
            recorded,
            known_findings: findings.len() - new_findings.len(),
            new_findings,
        };
        tracing::info!(event = "reconciliation.done", %gateway, %from, %to, listed = report.listed,
            charges = report.charges, recorded, new_findings = report.new_findings.len(),
            known_findings = report.known_findings, "reconciliation run");
        Ok(report)
    }

    /// Records the approval found for a charge's current request, through a claim of the
    /// charge: nothing if another daemon holds it (it will find the approval itself, by
    /// lookup) or it moved on.
    async fn record_found(
        &self,
        charge_id: Uuid,
        sale: &LedgerSale,
        listed: &[ListedSale],
    ) -> anyhow::Result<bool> {
        let now = self.clock.now();
        if !self
            .store
            .wake_for_reconciliation(charge_id, &sale.order_ref, now)
            .await?
        {
            return Ok(false);
        }
        let lease = self.settings.lease.signed();
        let Some(charge) = self
            .store
            .claim_charge(charge_id, self.worker, now, lease)
            .await?
        else {
            return Ok(false);
        };
        let answer = listed
            .iter()
            .find(|l| l.sale.payment_id == sale.payment_id)
            .map(|l| l.answer.clone())
            .unwrap_or_else(|| GatewayAnswer::unknown("listed sale vanished"));
        if charge.order_id != sale.order_ref {
            // A new attempt since the listing; its lease runs out and billing goes on with it.
            return Ok(false);
        }
        let sequence = charge.sequence.clone().unwrap_or_else(|| "first".into());
        let Some(attempt_id) = self
            .store
            .start_send(&charge, self.worker, charge.next_send_no(), &sequence, now)
            .await?
        else {
            return Ok(false);
        };
        let recorded = self
            .store
            .record_outcome(self.worker, &charge, attempt_id, &answer, &self.policy, now)
            .await?;
        if recorded == Recorded::Approved {
            metrics::record_outcome(charge.gateway.as_str(), answer.outcome.as_str());
            tracing::info!(event = "charge.reconciled", charge_id = %charge.id,
                payment_id = %sale.payment_id, "approval found in the gateway's ledger recorded");
        }
        Ok(recorded == Recorded::Approved)
    }

    /// The periodic job: each configured gateway whose turn has come (across all replicas)
    /// is reconciled for the last `window`.
    pub async fn reconcile_due(self: &Arc<Self>, settings: &ReconcileSettings) {
        for gateway in self.gateways.configured() {
            let now = self.clock.now();
            match self
                .store
                .take_reconciliation_turn(gateway.as_str(), settings.every.signed(), now)
                .await
            {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::error!(%gateway, error = %e, "reconciliation turn not taken");
                    continue;
                }
            }
            let from = now - settings.window.signed();
            if let Err(e) = self.reconcile(gateway, from, now).await {
                tracing::error!(%gateway, error = %e, "reconciliation run failed; the next turn retries");
            }
        }
    }
}
