//! tokio-cron-scheduler wiring, nothing else. The cron job is only a heartbeat: it keeps no
//! state, fires on every replica, and skips ticks missed while the process was down — which is
//! fine, because Postgres, not the scheduler, knows what is due.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::billing::Billing;
use crate::billing::notices::Notices;
use crate::config::ReconcileSettings;

/// How often a replica checks whether a reconciliation turn has come.
const RECONCILE_CHECK: std::time::Duration = std::time::Duration::from_secs(60);

pub struct Heartbeat {
    scheduler: JobScheduler,
    running: Arc<AtomicBool>,
}

impl Heartbeat {
    pub async fn start(
        billing_cron: &str,
        billing: Arc<Billing>,
        notices: Arc<Notices>,
        reconcile: Option<ReconcileSettings>,
        running: Arc<AtomicBool>,
    ) -> anyhow::Result<Self> {
        let scheduler = JobScheduler::new().await?;
        if let Some(settings) = reconcile {
            let billing = Arc::clone(&billing);
            // Every minute each replica asks whether a gateway's turn has come; the database
            // gives each turn to one of them (`reconcile.every` apart).
            let job = Job::new_repeated_async(RECONCILE_CHECK, move |_id, _lock| {
                let billing = Arc::clone(&billing);
                let settings = settings.clone();
                Box::pin(async move { billing.reconcile_due(&settings).await })
            })?;
            scheduler.add(job).await?;
        }
        if notices.enabled() {
            // On the billing heartbeat, beside the run: a notice is recorded once however many
            // replicas look.
            let job = Job::new_async(billing_cron, move |_id, _lock| {
                let notices = Arc::clone(&notices);
                Box::pin(async move { notices.tick().await })
            })
            .map_err(|e| anyhow::anyhow!("scheduler.billing_cron {billing_cron:?}: {e}"))?;
            scheduler.add(job).await?;
        }
        let job = Job::new_async(billing_cron, move |_id, _lock| {
            let billing = Arc::clone(&billing);
            Box::pin(async move {
                // A tick that finds the previous run still going returns at once.
                billing.tick().await;
            })
        })
        .map_err(|e| anyhow::anyhow!("scheduler.billing_cron {billing_cron:?}: {e}"))?;
        scheduler.add(job).await?;
        scheduler.start().await?;
        running.store(true, Ordering::Relaxed);
        tracing::info!(billing_cron, "billing heartbeat started");
        Ok(Heartbeat { scheduler, running })
    }

    pub async fn stop(mut self) {
        self.running.store(false, Ordering::Relaxed);
        if let Err(e) = self.scheduler.shutdown().await {
            tracing::warn!(error = %e, "scheduler did not shut down cleanly");
        }
    }
}
