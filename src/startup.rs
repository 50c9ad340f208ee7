//! Building the daemon from settings, and running it until a signal. Tests build the same
//! `App`, with a manual clock and the gateway simulator's URLs.

use std::future::Future;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use crate::billing::Billing;
use crate::clock::Clock;
use crate::config::Settings;
use crate::gateway::Gateways;
use crate::gateway::payroc::PayrocClient;
use crate::scheduler::Heartbeat;
use crate::store::Store;

pub struct App {
    pub settings: Settings,
    pub store: Store,
    pub gateways: Gateways,
    pub billing: Arc<Billing>,
    pub shutdown: CancellationToken,
}

impl App {
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
        let store = Store::connect(&settings.database).await?;
        if settings.database.migrate_on_start {
            store.migrate().await?;
        }
        let gateways = build_gateways(&settings)?;
        let shutdown = CancellationToken::new();
        let billing = Billing::new(
            store.clone(),
            gateways.clone(),
            clock,
            settings.billing.clone(),
            shutdown.clone(),
        );
        Ok(App {
            settings,
            store,
            gateways,
            billing,
            shutdown,
        })
    }

    /// Runs the heartbeat until `signal` completes, then stops claiming, gives in-flight
    /// requests `billing.shutdown_grace` to finish, and returns. Whatever is cut off keeps its
    /// lease and idempotency key and is finished by the next daemon to claim it.
    pub async fn run_until(self, signal: impl Future<Output = ()>) -> anyhow::Result<()> {
        let heartbeat = Heartbeat::start(
            &self.settings.scheduler.billing_cron,
            Arc::clone(&self.billing),
        )
        .await?;
        if let Some(payroc) = &self.gateways.payroc {
            match payroc.check_credentials().await {
                Ok(()) => tracing::info!("Payroc credentials accepted"),
                // Not fatal: the gateway may be down now and up by the first due charge.
                Err(e) => tracing::error!(error = %e, "Payroc credentials check failed"),
            }
        }
        tracing::info!(worker_id = %self.billing.worker_id(), "billingd running");
        signal.await;
        tracing::info!("shutdown requested; no new charges will be claimed");
        self.shutdown.cancel();
        heartbeat.stop().await;
        let grace = self.settings.billing.shutdown_grace.get();
        if self.billing.wait_idle(grace).await {
            tracing::info!("in-flight charges finished; exiting");
        } else {
            tracing::warn!(
                grace_secs = grace.as_secs(),
                "grace period over with charges in flight; they resume after their leases expire"
            );
        }
        self.store.pool().close().await;
        Ok(())
    }
}

pub fn build_gateways(settings: &Settings) -> anyhow::Result<Gateways> {
    let payroc = if settings.payroc.enabled {
        Some(PayrocClient::new(
            &settings.payroc,
            settings.outcomes.clone(),
        )?)
    } else {
        None
    };
    Ok(Gateways { payroc })
}

/// Completes on SIGTERM or ctrl-c.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
