//! Building the daemon from settings, and running it until a signal. Tests build the same
//! `App`, with a manual clock and the gateway simulator's URLs.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::api::{ApiState, Audience};
use crate::billing::Billing;
use crate::billing::notices::Notices;
use crate::clock::Clock;
use crate::config::Settings;
use crate::config::rotating::RotatingSecret;
use crate::gateway::Gateways;
use crate::gateway::certitrade::CertiTradeClient;
use crate::gateway::payroc::PayrocClient;
use crate::scheduler::Heartbeat;
use crate::store::Store;
use crate::webhooks::worker::WebhookWorker;

pub struct App {
    pub settings: Settings,
    pub store: Store,
    pub gateways: Gateways,
    pub billing: Arc<Billing>,
    /// charge.upcoming and account.card_expiring, sent on the billing heartbeat.
    pub notices: Arc<Notices>,
    pub shutdown: CancellationToken,
    pub clock: Arc<dyn Clock>,
    /// Set while the billing heartbeat runs (reported by /readyz).
    pub scheduler_running: Arc<AtomicBool>,
    /// Bound at build time, so "address in use" is a start-up error, not a late surprise.
    api_listener: Option<tokio::net::TcpListener>,
    api_addr: Option<SocketAddr>,
    /// The listeners of their own (`api.callback_listen`, `api.metrics_listen`), bound at build.
    audiences: Vec<(Audience, Option<tokio::net::TcpListener>, SocketAddr)>,
    /// Built with the app (a missing secret is a start-up error); taken when started.
    webhooks: Option<Arc<WebhookWorker>>,
}

impl App {
    pub async fn build(settings: Settings, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
        crate::metrics::install();
        let store = Store::connect(&settings.database)
            .await?
            .with_webhooks(settings.webhooks.active_endpoints());
        if settings.database.migrate_on_start {
            store.migrate().await?;
        }
        let gateways = build_gateways(&settings, clock.clone())?;
        let shutdown = CancellationToken::new();
        let webhooks = WebhookWorker::new(
            store.clone(),
            clock.clone(),
            &settings.webhooks,
            shutdown.clone(),
        )?;
        let billing = Billing::new(
            store.clone(),
            gateways.clone(),
            clock.clone(),
            settings.billing.clone(),
            settings.dunning.rules(),
            settings.certitrade.poll_initializing_after.signed(),
            shutdown.clone(),
        );
        let (api_listener, api_addr) = if settings.api.enabled {
            if settings.api.admin_token.is_none() {
                anyhow::bail!(
                    "api.admin_token is not set: set BILLINGD_API__ADMIN_TOKEN or api.admin_token_file \
                     (or api.enabled = false)"
                );
            }
            let listener = tokio::net::TcpListener::bind(&settings.api.listen)
                .await
                .map_err(|e| anyhow::anyhow!("api.listen {}: {e}", settings.api.listen))?;
            let addr = listener.local_addr()?;
            (Some(listener), Some(addr))
        } else {
            (None, None)
        };
        let audiences = if settings.api.enabled {
            bind_audiences(&settings).await?
        } else {
            Vec::new()
        };
        let notices = Arc::new(Notices::new(
            store.clone(),
            clock.clone(),
            settings.notices.clone(),
        ));
        Ok(App {
            settings,
            store,
            gateways,
            billing,
            notices,
            shutdown,
            clock,
            scheduler_running: Arc::new(AtomicBool::new(false)),
            api_listener,
            api_addr,
            audiences,
            webhooks,
        })
    }

    /// Where the admin API listens (the real port when configured with port 0).
    pub fn api_addr(&self) -> Option<SocketAddr> {
        self.api_addr
    }

    /// Where a listener of its own serves its audience, when configured.
    pub fn audience_addr(&self, audience: Audience) -> Option<SocketAddr> {
        self.audiences
            .iter()
            .find(|(a, _, _)| *a == audience)
            .map(|(_, _, addr)| *addr)
    }

    pub fn api_state(&self) -> Option<ApiState> {
        Some(ApiState {
            store: self.store.clone(),
            gateways: self.gateways.clone(),
            clock: self.clock.clone(),
            settings: Arc::new(self.settings.clone()),
            admin_tokens: RotatingSecret::new(
                "api.admin_token",
                self.settings.api.admin_token.as_ref()?,
                self.settings.api.admin_token_file.as_deref(),
            ),
            scheduler_running: self.scheduler_running.clone(),
        })
    }

    /// Starts serving the admin API until the app's shutdown token is cancelled.
    pub fn start_api(&mut self) -> Option<JoinHandle<std::io::Result<()>>> {
        let listener = self.api_listener.take()?;
        let state = self.api_state()?;
        for (audience, listener, addr) in &mut self.audiences {
            let Some(listener) = listener.take() else {
                continue;
            };
            let router = crate::api::audience_router(*audience, state.clone());
            let shutdown = self.shutdown.clone();
            tracing::info!(listen = %addr, ?audience, "listening for one audience");
            tokio::spawn(crate::api::serve(listener, router, async move {
                shutdown.cancelled().await
            }));
        }
        let (router, _) = crate::api::router(state.clone());
        let router = crate::console::mount(router, state);
        let shutdown = self.shutdown.clone();
        tracing::info!(listen = %self.api_addr?, "admin API listening");
        Some(tokio::spawn(crate::api::serve(
            listener,
            router,
            async move { shutdown.cancelled().await },
        )))
    }

    /// Starts delivering webhook events until the app's shutdown token is cancelled (None when
    /// no endpoint is configured, or when already started).
    pub fn start_webhooks(&mut self) -> Option<JoinHandle<()>> {
        Some(self.webhooks.take()?.spawn())
    }

    /// Runs the heartbeat until `signal` completes, then stops claiming, gives in-flight
    /// requests `billing.shutdown_grace` to finish, and returns. Whatever is cut off keeps its
    /// lease and idempotency key and is finished by the next daemon to claim it.
    pub async fn run_until(mut self, signal: impl Future<Output = ()>) -> anyhow::Result<()> {
        reload_secrets_on_sighup();
        let api = self.start_api();
        let webhooks = self.start_webhooks();
        let heartbeat = Heartbeat::start(
            &self.settings.scheduler.billing_cron,
            Arc::clone(&self.billing),
            Arc::clone(&self.notices),
            self.settings
                .reconcile
                .enabled
                .then(|| self.settings.reconcile.clone()),
            self.scheduler_running.clone(),
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
        if let Some(api) = api {
            // Cancelled above; in-flight API requests finish, then the server task ends.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), api).await;
        }
        if let Some(webhooks) = webhooks {
            // Cancelled above; POSTs in flight get webhooks.request_timeout, the rest are
            // redelivered by the next daemon once their leases expire.
            let wait =
                self.settings.webhooks.request_timeout.get() + std::time::Duration::from_secs(1);
            let _ = tokio::time::timeout(wait, webhooks).await;
        }
        self.store.pool().close().await;
        Ok(())
    }
}

pub fn build_gateways(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Gateways> {
    let payroc = if settings.payroc.enabled {
        Some(PayrocClient::new(
            &settings.payroc,
            settings.outcomes.clone(),
        )?)
    } else {
        None
    };
    let certitrade = if settings.certitrade.enabled {
        Some(CertiTradeClient::new(
            &settings.certitrade,
            settings.outcomes.clone(),
            clock,
        )?)
    } else {
        None
    };
    Ok(Gateways { payroc, certitrade })
}

/// Completes on SIGTERM or ctrl-c.
/// Until the process ends: on SIGHUP every secret given in a file is read again at its next use
/// (`config::rotating`); a changed file is noticed without it, by its modification time.
fn reload_secrets_on_sighup() {
    #[cfg(unix)]
    tokio::spawn(async {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: secret files will be read again");
            crate::config::rotating::reload_all();
        }
    });
}

/// Binds `api.callback_listen` and `api.metrics_listen` when set: "address in use" is a start-up
/// error.
async fn bind_audiences(
    settings: &Settings,
) -> anyhow::Result<Vec<(Audience, Option<tokio::net::TcpListener>, SocketAddr)>> {
    let mut bound = Vec::new();
    for (audience, key, listen) in [
        (
            Audience::Callback,
            "api.callback_listen",
            &settings.api.callback_listen,
        ),
        (
            Audience::Metrics,
            "api.metrics_listen",
            &settings.api.metrics_listen,
        ),
    ] {
        let Some(listen) = listen else { continue };
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| anyhow::anyhow!("{key} {listen}: {e}"))?;
        let addr = listener.local_addr()?;
        bound.push((audience, Some(listener), addr));
    }
    Ok(bound)
}

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
