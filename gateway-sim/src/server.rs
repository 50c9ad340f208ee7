//! Binding the listener, composing the per-gateway routers, and shutting down.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::SimConfig;
use crate::support::clock::SimClock;
use crate::{certitrade, payroc};

/// How long `shutdown` waits for in-flight requests (e.g. a slow-trigger sale)
/// before abandoning them; tests should never hang on a simulator.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A simulator serving on a real TCP port.
///
/// Dropping it also stops the server (without waiting), so a panicking test
/// does not leave a listener behind.
pub struct RunningSim {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    clock: Arc<SimClock>,
}

impl RunningSim {
    /// The bound address (the real port when spawned on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Payroc API root, the stand-in for `https://api.payroc.com/v1`.
    pub fn payroc_api_url(&self) -> String {
        format!("{}/payroc/v1", self.base_url())
    }

    /// Payroc identity root, the stand-in for `https://identity.payroc.com`.
    pub fn payroc_identity_url(&self) -> String {
        format!("{}/payroc-identity", self.base_url())
    }

    /// CertiTrade Merchant API root, the stand-in for
    /// `https://apitest.certitrade.net/ctpsp/ws/2.0`.
    pub fn certitrade_api_url(&self) -> String {
        format!("{}{}", self.base_url(), certitrade::API_PREFIX)
    }

    /// Sets the simulator's "now" to a Unix time in milliseconds, as `POST /_sim/clock` does,
    /// for an in-process test to call whenever its own clock moves: payments are stamped, and
    /// CertiTrade's `Date` headers judged, by that time.
    pub fn clock_setter(&self) -> impl Fn(i64) + Send + Sync + 'static {
        let clock = self.clock.clone();
        move |unix_ms| clock.set_now(unix_ms)
    }

    /// Stops accepting connections and waits (bounded) for in-flight requests.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            match tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(err))) => tracing::warn!(%err, "gateway-sim server ended with error"),
                Ok(Err(err)) => tracing::warn!(%err, "gateway-sim server task failed"),
                Err(_) => {
                    tracing::warn!("gateway-sim shutdown grace period elapsed; aborting");
                    task.abort();
                }
            }
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds `listen` (port 0 picks a free port) and serves every simulated gateway.
pub async fn spawn(config: SimConfig, listen: SocketAddr) -> anyhow::Result<RunningSim> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding gateway simulator to {listen}"))?;
    let addr = listener.local_addr().context("reading bound address")?;
    // One "now" for both gateways, movable by a test (`POST /_sim/clock`, `set_clock`).
    let clock = Arc::new(SimClock::default());
    let app = router(&config, clock.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
        // A dropped sender counts as a stop request too.
        let _ = stopped.await;
    });
    let task = tokio::spawn(async move { serve.await });
    Ok(RunningSim {
        addr,
        stop: Some(stop),
        task: Some(task),
        clock,
    })
}

/// All gateways share one router; each owns disjoint path prefixes.
fn router(config: &SimConfig, clock: Arc<SimClock>) -> Router {
    Router::new()
        .merge(payroc::router(config, clock.clone()))
        .merge(certitrade::router(config, clock))
        .fallback(not_found)
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no such simulator route\n").into_response()
}
