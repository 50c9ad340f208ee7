//! `billingd reconcile`: one reconciliation with each configured gateway's ledger, by hand (the
//! daemon runs one every `reconcile.every`).

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::billing::reconcile::ReconcileReport;
use crate::clock::Clock;
use crate::config::{Delay, Settings};
use crate::domain::states::GatewayKind;
use crate::startup::App;

#[derive(Debug, clap::Args)]
pub struct ReconcileArgs {
    /// Start of the window: an RFC 3339 instant ("2027-01-01T00:00:00Z") or a span back from
    /// now ("48h", "7d").
    #[arg(long)]
    pub since: Since,
    /// End of the window (RFC 3339); now by default.
    #[arg(long)]
    pub until: Option<Timestamp>,
    /// Only this gateway (payroc or certitrade); every configured one by default.
    #[arg(long)]
    pub gateway: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Since {
    At(Timestamp),
    Ago(Delay),
}

impl std::str::FromStr for Since {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        if let Ok(at) = text.parse::<Timestamp>() {
            return Ok(Since::At(at));
        }
        text.parse::<Delay>()
            .map(Since::Ago)
            .map_err(|_| format!("{text:?} is neither an RFC 3339 instant nor a span like \"48h\""))
    }
}

pub async fn run(
    args: ReconcileArgs,
    settings: Settings,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<()> {
    let now = clock.now();
    let to = args.until.unwrap_or(now);
    let from = match args.since {
        Since::At(at) => at,
        Since::Ago(span) => now.checked_sub(span.signed())?,
    };
    anyhow::ensure!(from < to, "--since {from} is not before --until {to}");
    // One run and out, like run-once: no API port to bind.
    let mut settings = settings;
    settings.api.enabled = false;
    let app = App::build(settings, clock).await?;
    let configured = app.gateways.configured();
    let gateways: Vec<GatewayKind> = match args.gateway.as_deref() {
        Some(g) => match GatewayKind::parse(g) {
            Some(kind) if configured.contains(&kind) => vec![kind],
            _ => anyhow::bail!(
                "--gateway {g:?} is not a gateway configured here (configured: {})",
                configured
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
        None => configured,
    };
    let mut reports = Vec::new();
    for gateway in gateways {
        let report = app.billing.reconcile(gateway, from, to).await?;
        reports.push(report_json(&report));
    }
    super::print_json(&reports)
}

fn report_json(r: &ReconcileReport) -> Value {
    let findings: Vec<Value> = r
        .new_findings
        .iter()
        .map(|f| {
            json!({
                "kind": f.kind.as_str(), "charge_id": f.charge_id, "order_ref": f.order_ref,
                "payment_ids": f.payment_ids, "amount_minor": f.amount_minor,
                "currency": f.currency, "detail": f.detail,
            })
        })
        .collect();
    json!({
        "gateway": r.gateway.as_str(), "from": r.from.to_string(), "to": r.to.to_string(),
        "listed": r.listed, "charges": r.charges, "recorded_approved": r.recorded,
        "new_findings": findings, "known_findings": r.known_findings,
    })
}
