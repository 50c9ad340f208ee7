//! One billing run: materialize due cycles → claim charges under a lease → send them, many at
//! once → record each outcome. A tick calls `tick`, tests call `run_once` with a manual clock.

mod dispatch;
pub mod initialization;
pub mod notices;
mod prepare;
pub mod reconcile;
mod recorder;
pub mod registration;
mod send;
mod summary;

pub use summary::RunSummary;

use dispatch::{Dispatcher, Fresh};
use recorder::Recorder;

use jiff::Timestamp;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::clock::Clock;
use crate::config::BillingSettings;
use crate::domain::transition::RetryPolicy;
use crate::gateway::Gateways;
use crate::store::Store;
use crate::store::materialize::Materialized;
use crate::store::preclaim::ClaimWhileMaterializing;

/// Batches the materializers may have committed or be making that the send loop has not taken
/// yet (a batch holds its place from the start of its transaction): sending does not wait for
/// a batch's transaction, and a daemon holds a few claim batches at most.
const MATERIALIZED_AHEAD: usize = 2;

/// Materializing transactions in progress at once. A materializing transaction is a chain of
/// statements, each waiting on the database and then on the daemon; with one at a time, the
/// materializer was what sending waited for and both cores had idle time (throughput
/// measurements, docs/performance.md). Two overlap one's waits with the other's work.
const MATERIALIZERS: usize = 2;

/// Between a run that found work and the run that follows it.
const FOLLOW_UP_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);
/// A run that found nothing waits for what falls due within this long, rather than for the
/// next heartbeat.
const FOLLOW_UP_HORIZON: jiff::SignedDuration = jiff::SignedDuration::from_secs(1);

pub struct Billing {
    store: Store,
    gateways: Gateways,
    clock: Arc<dyn Clock>,
    settings: BillingSettings,
    policy: RetryPolicy,
    /// This daemon's identity on the leases it takes.
    worker: Uuid,
    /// Held for the whole of a run: a tick that finds it taken does not start a second run.
    running: tokio::sync::Mutex<()>,
    shutdown: CancellationToken,
    /// An initializing payment with no callback is polled after this long.
    poll_initializations_after: jiff::SignedDuration,
}

impl Billing {
    pub fn new(
        store: Store,
        gateways: Gateways,
        clock: Arc<dyn Clock>,
        settings: BillingSettings,
        dunning: crate::domain::dunning::DunningRules,
        poll_initializations_after: jiff::SignedDuration,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        let policy = RetryPolicy {
            soft_decline_retries: settings
                .soft_decline_retries
                .iter()
                .map(|d| d.signed())
                .collect(),
            unknown_retry_after: settings.unknown_retry_after.signed(),
            pending_recheck_after: settings.pending_recheck_after.signed(),
            dunning,
        };
        Arc::new(Billing {
            store,
            gateways,
            clock,
            settings,
            policy,
            worker: Uuid::new_v4(),
            running: tokio::sync::Mutex::new(()),
            shutdown,
            poll_initializations_after,
        })
    }

    pub fn worker_id(&self) -> Uuid {
        self.worker
    }

    /// The scheduler's entry point: a run at the clock's "now", unless one is still going. A
    /// run that found work is followed by another at once, and one that found nothing by
    /// another when something falls due within `FOLLOW_UP_HORIZON`: while charges keep falling
    /// due, they are sent within a run's time of falling due instead of waiting for the next
    /// heartbeat. The heartbeat covers the rest.
    pub async fn tick(self: &Arc<Self>) -> Option<RunSummary> {
        let Ok(_guard) = self.running.try_lock() else {
            tracing::info!("previous billing run still going; tick skipped");
            return None;
        };
        let mut last = None;
        loop {
            let now = self.clock.now();
            match self.run_locked(now).await {
                Ok(summary) => {
                    let busy = summary.due + summary.sent > 0;
                    last = Some(summary);
                    if self.shutdown.is_cancelled() {
                        return last;
                    }
                    if !busy {
                        // Something falling due within a moment is not left for the next
                        // heartbeat either.
                        let soon = match self.store.next_due_after(now).await {
                            Ok(Some(next)) => next.duration_since(self.clock.now()),
                            _ => return last,
                        };
                        if soon > FOLLOW_UP_HORIZON {
                            return last;
                        }
                        let wait = soon.max(jiff::SignedDuration::ZERO).unsigned_abs();
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => {}
                            _ = self.shutdown.cancelled() => return last,
                        }
                        continue;
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "billing run failed; the next tick retries");
                    return last;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(FOLLOW_UP_PAUSE) => {}
                _ = self.shutdown.cancelled() => return last,
            }
        }
    }

    /// One complete run at `now` (waits for a run in progress to finish first).
    pub async fn run_once(self: &Arc<Self>, now: Timestamp) -> anyhow::Result<RunSummary> {
        let _guard = self.running.lock().await;
        self.run_locked(now).await
    }

    async fn run_locked(self: &Arc<Self>, now: Timestamp) -> anyhow::Result<RunSummary> {
        let started = std::time::Instant::now();
        let mut summary = RunSummary::default();
        self.complete_registrations(now).await;
        self.settle_initializations(now).await;
        // Past-due subscriptions whose grace ran out end as the merchant configured.
        let ended = self.store.end_dunning(self.policy.dunning.end, now).await?;
        if ended != Default::default() {
            tracing::info!(
                cancelled = ended.cancelled,
                paused = ended.paused,
                "dunning ended"
            );
        }
        // Materializing and sending overlap: the first charges go out as soon as the first
        // batch of due cycles is committed, not after the whole backlog is written. A few
        // batches wait at most: the materializer keeps pace with sending, so the leases of the
        // charges it claims do not age in a backlog.
        let (progress, materialized) = mpsc::channel(MATERIALIZED_AHEAD);
        let materializer = tokio::spawn({
            let this = Arc::clone(self);
            async move { this.materialize_together(now, progress).await }
        });
        let sent = self.send_all(&mut summary, materialized).await;
        let m = materializer.await??;
        summary.due += m.charges;
        summary.skipped += m.skipped;
        sent?;
        // Completed runs only: a failed run is logged by `tick`, and a runs counter that stops
        // increasing is the alert that billing is not getting through.
        crate::metrics::observe_run(started.elapsed());
        summary.duration_ms = started.elapsed().as_millis() as u64;
        summary.log();
        Ok(summary)
    }

    /// `materialize_all` in `MATERIALIZERS` loops at once, then once more alone: a loop ends
    /// at a short batch, which may be short only because another loop held some due
    /// subscriptions locked (the due scan skips locked rows), so a last pass, alone, takes what
    /// they hid.
    async fn materialize_together(
        self: Arc<Self>,
        now: Timestamp,
        progress: mpsc::Sender<Fresh>,
    ) -> anyhow::Result<Materialized> {
        let loops: Vec<_> = (0..MATERIALIZERS)
            .map(|_| {
                let (this, progress) = (Arc::clone(&self), progress.clone());
                tokio::spawn(async move { this.materialize_all(now, progress).await })
            })
            .collect();
        let mut total = Materialized::default();
        let mut failed = None;
        for done in loops {
            match done.await? {
                Ok(m) => total.add(m),
                Err(e) => failed = Some(e),
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        if !self.shutdown.is_cancelled() {
            total.add(self.materialize_all(now, progress).await?);
        }
        Ok(total)
    }

    /// Turns every due cycle into a charge, a batch per transaction, and claims those the claim
    /// would take at once as it inserts them (`store::preclaim`), handing each batch to the
    /// send loop through `progress`; dropping `progress` says it is done.
    ///
    /// A batch is materialized once the channel has room (`MATERIALIZED_AHEAD`), a claim batch
    /// at a time — the share a claim takes: a daemon claims as it materializes no faster than it
    /// sends, its leases do not age in a backlog, and the due subscriptions it has not reached
    /// are left to other daemons' due scans. Once the send loop has ended, the rest is
    /// materialized unclaimed, in batches of `materialize_batch`.
    async fn materialize_all(
        &self,
        now: Timestamp,
        progress: mpsc::Sender<Fresh>,
    ) -> anyhow::Result<Materialized> {
        let mut total = Materialized::default();
        loop {
            let slot = progress.reserve().await.ok();
            let batch = match slot {
                Some(_) => self
                    .settings
                    .materialize_batch
                    .min(self.settings.claim_batch)
                    .max(1),
                None => self.settings.materialize_batch,
            };
            // Leases run from the clock's time, as a claim's do.
            let mut claim = ClaimWhileMaterializing {
                worker: self.worker,
                now: self.clock.now(),
                lease: self.settings.lease.signed(),
                plan: |charge: &mut _| self.plan_request(charge),
            };
            let (m, claimed) = self
                .store
                .materialize_due_claiming(
                    now,
                    self.settings.catch_up_policy(),
                    batch,
                    slot.is_some().then_some(&mut claim),
                )
                .await?;
            total.add(m);
            if let Some(slot) = slot {
                slot.send(Fresh {
                    left_to_claim: m.charges > claimed.len() as u64,
                    prepared: prepare::prepare(claimed),
                });
            }
            if m.subscriptions < batch as u64 || self.shutdown.is_cancelled() {
                return Ok(total);
            }
        }
    }

    /// Gives back charges written down and not sent, so that another daemon sends them at once
    /// (same key, same request) rather than when their leases expire.
    async fn give_back(&self, ready: &[prepare::Ready]) {
        let unsent = prepare::unsent(ready);
        if let Err(e) = self.store.release_unsent(self.worker, &unsent).await {
            tracing::warn!(error = %e, charges = unsent.len(), "unsent charges not given back; they are sent when their leases expire");
        }
    }

    /// Claims and sends until nothing sendable is left (and materializing is done), keeping up
    /// to `max_in_flight` requests at the gateway (`dispatch`). Answers are recorded by the
    /// run's recorder, in batches. Stops claiming on shutdown: what is in flight finishes, what
    /// was written down but not sent is given back — on every way out of the loop.
    async fn send_all(
        self: &Arc<Self>,
        summary: &mut RunSummary,
        materialized: mpsc::Receiver<Fresh>,
    ) -> anyhow::Result<()> {
        let (recorder, recording) = Recorder::start(
            self.store.clone(),
            Arc::clone(&self.clock),
            self.worker,
            self.policy.clone(),
            self.settings.max_in_flight + self.settings.claim_batch as usize,
        );
        let mut dispatcher = Dispatcher::new(self, summary, recorder, materialized);
        let outcome = dispatcher.run().await;
        let finished = dispatcher.finish().await;
        // Every sender is gone: the recorder writes what it holds and stops.
        recording.await?;
        outcome.and(finished)
    }
}

impl Billing {
    /// Waits until no run is in progress, at most `grace`; true if it got idle.
    pub async fn wait_idle(&self, grace: std::time::Duration) -> bool {
        tokio::time::timeout(grace, self.running.lock())
            .await
            .is_ok()
    }
}
