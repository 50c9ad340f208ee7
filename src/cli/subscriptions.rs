//! `billingd subscriptions …`

use clap::Subcommand;
use jiff::Timestamp;
use uuid::Uuid;

use crate::config::Settings;
use crate::domain::money::Money;
use crate::domain::schedule::{IntervalUnit, Schedule};
use crate::domain::series::FirstPayment;
use crate::store::subscriptions::NewSubscription;

#[derive(Debug, Subcommand)]
pub enum SubscriptionsCommand {
    /// Create a subscription; cycle 1 falls due at the anchor.
    Create {
        #[arg(long)]
        account: Uuid,
        /// Amount in minor units (cents).
        #[arg(long)]
        amount: i64,
        #[arg(long)]
        currency: String,
        /// Local date-time of cycle 1, e.g. 2026-01-31T09:00.
        #[arg(long)]
        anchor: jiff::civil::DateTime,
        /// IANA time zone the anchor is in, e.g. Europe/Paris.
        #[arg(long)]
        time_zone: String,
        #[arg(long, default_value_t = 1)]
        every: u32,
        /// day | week | month | year
        #[arg(long)]
        unit: IntervalUnit,
        /// Number of installments; omit for an open-ended recurring plan.
        #[arg(long)]
        total_cycles: Option<u32>,
        #[arg(long)]
        reference: Option<String>,
        /// Payroc: continue this agreement's existing series, whose first payment (this
        /// paymentId) was made elsewhere, instead of opening one.
        #[arg(long)]
        first_payment_id: Option<String>,
        /// …and that first payment's cardSchemeReferenceId.
        #[arg(long, requires = "first_payment_id")]
        scheme_reference: Option<String>,
    },
    Show {
        id: Uuid,
    },
    /// Subscriptions of one account.
    List {
        #[arg(long)]
        account: Uuid,
    },
    /// The next due times and positions of a subscription.
    Preview {
        id: Uuid,
        #[arg(long, default_value_t = 12)]
        count: usize,
    },
}

pub async fn run(
    cmd: SubscriptionsCommand,
    settings: &Settings,
    now: Timestamp,
) -> anyhow::Result<()> {
    let store = super::store_for(settings).await?;
    match cmd {
        SubscriptionsCommand::Create {
            account,
            amount,
            currency,
            anchor,
            time_zone,
            every,
            unit,
            total_cycles,
            reference,
            first_payment_id,
            scheme_reference,
        } => {
            let new = NewSubscription {
                account_id: account,
                price: Money::charge(amount, &currency)?,
                schedule: Schedule::new(anchor, &time_zone, unit, every, total_cycles)?,
                merchant_reference: reference,
                metadata: serde_json::json!({}),
                series: first_payment_id.map(|payment_id| FirstPayment {
                    payment_id,
                    scheme_reference,
                }),
                imported: None,
                catch_up: Default::default(),
            };
            super::print_json(&store.insert_subscription(&new, now).await?)
        }
        SubscriptionsCommand::Show { id } => super::print_json(&store.subscription(id).await?),
        SubscriptionsCommand::List { account } => {
            store.account(account).await?;
            super::print_json(&store.subscriptions_of(account).await?)
        }
        SubscriptionsCommand::Preview { id, count } => {
            let sub = store.subscription(id).await?;
            let schedule = sub.schedule()?;
            let rows: Vec<serde_json::Value> = schedule
                .upcoming(sub.next_cycle as u32, count)
                .into_iter()
                .map(|(cycle, due, position)| {
                    serde_json::json!({ "cycle": cycle, "due_at": due.to_string(),
                        "local": schedule.local_due(cycle).map(|d| d.to_string()),
                        "position": position })
                })
                .collect();
            super::print_json(&rows)
        }
    }
}
