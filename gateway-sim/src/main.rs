//! `gateway-sim` binary: serves the simulated gateways until ctrl-c/SIGTERM,
//! for demos and benchmarks outside the test harness.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use gateway_sim::{ResultField, SimConfig};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(version, about = "Payroc and CertiTrade gateway simulator")]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "GATEWAY_SIM_LISTEN", default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// Accepted Payroc API key; repeat the flag for several.
    #[arg(long = "payroc-api-key", default_value = "sim-payroc-key")]
    payroc_api_keys: Vec<String>,
    /// Lifetime of issued bearer tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    token_ttl_secs: u64,
    /// Delay of the slow amount trigger (…97), in milliseconds.
    #[arg(long, default_value_t = 3000)]
    slow_delay_ms: u64,
    /// Key of the outcome object: transactionResult or paymentResult.
    #[arg(long, default_value = "transactionResult")]
    result_field: ResultField,
    /// CertiTrade merchant id (`m<id>` in the Authorization header).
    #[arg(long, default_value_t = 1234)]
    certitrade_merchant_id: u32,
    /// CertiTrade API key (signs requests and callbacks).
    #[arg(long, default_value = "sim-certitrade-key")]
    certitrade_api_key: String,
    /// Largest accepted distance between a request's Date header and the clock.
    #[arg(long, default_value_t = 300)]
    certitrade_date_skew_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let args = Args::parse();
    let config = SimConfig {
        payroc_api_keys: args.payroc_api_keys,
        token_ttl: Duration::from_secs(args.token_ttl_secs),
        slow_delay: Duration::from_millis(args.slow_delay_ms),
        result_field: args.result_field,
        certitrade_merchant_id: args.certitrade_merchant_id,
        certitrade_api_key: args.certitrade_api_key,
        certitrade_date_skew: Duration::from_secs(args.certitrade_date_skew_secs),
    };
    // Install signal handlers before announcing the address: scripts wait for
    // the "listening" line and may send SIGTERM right after it.
    let stop = stop_signal()?;
    let sim = gateway_sim::spawn(config, args.listen).await?;
    tracing::info!(
        addr = %sim.addr(),
        payroc_api = %sim.payroc_api_url(),
        payroc_identity = %sim.payroc_identity_url(),
        certitrade_api = %sim.certitrade_api_url(),
        "gateway-sim listening on {}",
        sim.base_url()
    );
    stop.await?;
    tracing::info!("gateway-sim shutting down");
    sim.shutdown().await;
    Ok(())
}

/// Resolves on ctrl-c or (on Unix) SIGTERM. On Unix both handlers are
/// registered here, eagerly, rather than when the future is first polled.
#[cfg(unix)]
fn stop_signal() -> anyhow::Result<impl Future<Output = std::io::Result<()>>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        Ok(())
    })
}

#[cfg(not(unix))]
fn stop_signal() -> anyhow::Result<impl Future<Output = std::io::Result<()>>> {
    Ok(tokio::signal::ctrl_c())
}
