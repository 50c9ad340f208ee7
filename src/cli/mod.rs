//! The command line: the daemon (`serve`), operations (`migrate`, `check-config`, `run-once`)
//! and the admin commands an operator needs before the HTTP API exists.

mod accounts;
mod book;
mod charges;
mod reconcile;
mod subscriptions;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::config::{self, Settings};
use crate::startup::{App, shutdown_signal};
use crate::store::Store;

#[derive(Debug, Parser)]
#[command(
    name = "billingd",
    version,
    about = "Recurring-billing scheduler daemon"
)]
pub struct Cli {
    /// A TOML file layered over config/default.toml.
    #[arg(long, global = true, env = "BILLINGD_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: billing heartbeat until SIGTERM / ctrl-c.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Validate the configuration and print it, secrets masked.
    CheckConfig,
    /// One billing run now, then exit; prints the run summary.
    RunOnce,
    /// Probe a running daemon's /healthz on `api.listen` (for the image's HEALTHCHECK, which
    /// has no curl): exit 0 when it answers 200.
    Healthcheck,
    /// Payment accounts (stored gateway credentials).
    #[command(subcommand)]
    Accounts(accounts::AccountsCommand),
    /// Subscriptions.
    #[command(subcommand)]
    Subscriptions(subscriptions::SubscriptionsCommand),
    /// Charges and the requests sent for them.
    #[command(subcommand)]
    Charges(charges::ChargesCommand),
    /// Match each gateway's ledger for a window to billingd's charges: record approvals
    /// billingd was still waiting for, report every other discrepancy as a finding.
    Reconcile(reconcile::ReconcileArgs),
    /// Import subscriptions taken over from another system from a JSON Lines or CSV file (by
    /// its extension), all or nothing; rows whose merchant_reference exists are skipped. Prints
    /// the report; exits 1 when a row is rejected (then nothing is imported).
    Import {
        file: PathBuf,
        /// Check every row and print what would be imported and charged; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// What the book will charge over the next days, per UTC day and currency (the same as
    /// GET /v1/forecast).
    Forecast {
        /// How many days ahead, 1–366.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(i64).range(1..=crate::api::forecast::MAX_DAYS))]
        days: i64,
    },
    /// Delete old raw records: the request log of charges settled before the cutoff, and
    /// webhook events (with their deliveries) whose deliveries are all finished. Charges,
    /// subscriptions and accounts are kept. Run it from cron; it works in small batches.
    Prune {
        /// Age of what is deleted, e.g. "400d" (at least 30 days).
        #[arg(long)]
        older_than: config::Delay,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if matches!(cli.command, Command::CheckConfig) {
        // Before loading: where the configuration comes from helps most when it is refused.
        print_sources(&cli);
    }
    let settings = config::load(cli.config.as_deref())?;
    let daemon = matches!(cli.command, Command::Serve);
    crate::telemetry::init(&settings.log, !daemon);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli.command {
        Command::CheckConfig => {
            print!("{}", settings.to_masked_toml());
            require_for_serve(&settings)?;
            eprintln!("configuration is valid");
            Ok(())
        }
        Command::Migrate => {
            let store = Store::connect(&settings.database).await?;
            store.migrate().await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Serve => {
            require_for_serve(&settings)?;
            App::build(settings, clock)
                .await?
                .run_until(shutdown_signal())
                .await
        }
        Command::RunOnce => {
            // One run and out: no API to bind (it would collide with a running daemon's port).
            let mut settings = settings;
            settings.api.enabled = false;
            let app = App::build(settings, clock.clone()).await?;
            let summary = app.billing.run_once(clock.now()).await?;
            print_json(&summary)
        }
        Command::Healthcheck => healthcheck(&settings.api.listen).await,
        Command::Accounts(cmd) => accounts::run(cmd, &settings, clock.now()).await,
        Command::Subscriptions(cmd) => subscriptions::run(cmd, &settings, clock.now()).await,
        Command::Charges(cmd) => charges::run(cmd, &settings).await,
        Command::Reconcile(args) => reconcile::run(args, settings, clock).await,
        Command::Import { file, dry_run } => book::import(&settings, clock, &file, dry_run).await,
        Command::Forecast { days } => book::forecast(&settings, clock, days).await,
        Command::Prune { older_than } => {
            // Younger records are still what operators and chargeback disputes look at.
            if older_than.get() < std::time::Duration::from_secs(30 * 86_400) {
                anyhow::bail!(
                    "--older-than {:#} is under 30 days; refusing to prune",
                    older_than.signed()
                );
            }
            let store = store_for(&settings).await?;
            let cutoff = clock.now().checked_sub(older_than.signed())?;
            let pruned = store.prune(cutoff).await?;
            print_json(&pruned)
        }
    }
}

fn print_sources(cli: &Cli) {
    let read = config::sources(
        cli.config.as_deref(),
        std::env::vars_os().filter_map(|(k, _)| k.into_string().ok()),
    );
    eprintln!("files read: {}", none_if_empty(&read.files));
    eprintln!(
        "environment variables applied (values not shown): {}",
        none_if_empty(&read.environment)
    );
    for warning in &read.ignored {
        eprintln!("warning: {warning}");
    }
}

fn none_if_empty(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_owned()
    } else {
        items.join(", ")
    }
}

async fn healthcheck(listen: &str) -> anyhow::Result<()> {
    let mut addr: std::net::SocketAddr = listen.parse()?;
    // A daemon listening on every interface is asked on loopback.
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()?;
    let status = client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await?
        .status();
    anyhow::ensure!(
        status.is_success(),
        "http://{addr}/healthz answered {status}"
    );
    println!("ok");
    Ok(())
}

/// `serve`'s start-up requirements, all reported at once, before anything touches the database.
fn require_for_serve(settings: &Settings) -> anyhow::Result<()> {
    let missing = config::serve_requirements(settings);
    if missing.is_empty() {
        return Ok(());
    }
    for problem in &missing {
        eprintln!("{problem}");
    }
    anyhow::bail!("{} start-up requirement(s) not met", missing.len())
}

/// The store for an admin command. Admin commands never migrate: a newer binary used for a look
/// must not change a production schema. They refuse a schema other than their own instead.
async fn store_for(settings: &Settings) -> anyhow::Result<Store> {
    // Admin commands change accounts too: their webhook events get deliveries like the daemon's.
    let store = Store::connect(&settings.database)
        .await?
        .with_webhooks(settings.webhooks.active_endpoints());
    if let Some(drift) = store.schema_drift().await? {
        anyhow::bail!("{drift}");
    }
    Ok(store)
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
