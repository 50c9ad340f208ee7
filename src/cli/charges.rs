//! `billingd charges …`

use clap::Subcommand;
use uuid::Uuid;

use crate::config::Settings;

#[derive(Debug, Subcommand)]
pub enum ChargesCommand {
    /// Charges by due time, optionally of one subscription.
    List {
        #[arg(long)]
        subscription: Option<Uuid>,
        #[arg(long, default_value_t = 200)]
        limit: i64,
    },
    /// One charge with every request sent for it.
    Show { id: Uuid },
}

pub async fn run(cmd: ChargesCommand, settings: &Settings) -> anyhow::Result<()> {
    let store = super::store_for(settings).await?;
    match cmd {
        ChargesCommand::List {
            subscription,
            limit,
        } => super::print_json(&store.charges(subscription, limit).await?),
        ChargesCommand::Show { id } => {
            let charge = store.charge(id).await?;
            let attempts = store.charge_attempts(id).await?;
            super::print_json(&serde_json::json!({ "charge": charge, "attempts": attempts }))
        }
    }
}
