//! `billingd accounts …`. Card details are read from standard input as JSON
//! (`{"number": "...", "expiry": "MMYY", "cvv": "...", "holder": "..."}`), never from arguments,
//! which other users of the machine can read in the process list.

use clap::{Args, Subcommand};
use jiff::Timestamp;
use serde_json::json;
use uuid::Uuid;

use crate::api::views::AccountView;
use crate::billing::registration::{Progress, Registrar};
use crate::config::{RefusedCycles, Settings};
use crate::domain::credential::{CardOnFile, Credential, PayrocToken};
use crate::gateway::Gateways;
use crate::gateway::payroc::{CardDetails, PayrocClient};
use crate::store::Store;
use crate::store::accounts::Account;

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Register a Payroc account: an existing secure token, or card details tokenized at Payroc.
    RegisterPayroc {
        #[arg(long)]
        terminal: String,
        #[command(flatten)]
        credential: CredentialArgs,
    },
    Show {
        id: Uuid,
    },
    List {
        #[arg(long, default_value_t = 200)]
        limit: i64,
    },
    /// Re-activate a suspended Payroc account with a new secure token; each subscription's next
    /// charge opens a new series as `first`.
    Reinitialize {
        id: Uuid,
        /// Terminal of the new token (default: the account's current terminal).
        #[arg(long)]
        terminal: Option<String>,
        #[command(flatten)]
        credential: CredentialArgs,
        /// What to do with the cycles the terminated account refused (default: config).
        #[arg(long)]
        refused_cycles: Option<RefusedCyclesArg>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RefusedCyclesArg {
    Charge,
    Skip,
}

#[derive(Debug, Args)]
pub struct CredentialArgs {
    /// An existing Payroc secure token (the `token` value).
    #[arg(
        long,
        conflicts_with = "card_stdin",
        required_unless_present = "card_stdin"
    )]
    token: Option<String>,
    #[arg(long, requires = "token")]
    secure_token_id: Option<String>,
    /// Masked card number to display, e.g. 453985******7062.
    #[arg(long, requires = "token")]
    card_masked: Option<String>,
    /// Card expiry to display, MMYY.
    #[arg(long, requires = "token")]
    card_expiry: Option<String>,
    /// Read card details as JSON from standard input and create a secure token at Payroc.
    #[arg(long)]
    card_stdin: bool,
}

pub async fn run(cmd: AccountsCommand, settings: &Settings, now: Timestamp) -> anyhow::Result<()> {
    let store = super::store_for(settings).await?;
    match cmd {
        AccountsCommand::RegisterPayroc {
            terminal,
            credential,
        } => match credential.given(&terminal)? {
            Given::Token(cred) => {
                super::print_json(&shown(&store.insert_account(&cred, now).await?))
            }
            Given::Card(card) => {
                let gateways = payroc_only(settings)?;
                let progress = registrar(&store, &gateways, settings, now)
                    .payroc(None, &terminal, &card)
                    .await?;
                print_progress(progress)
            }
        },
        AccountsCommand::Show { id } => {
            let account = store.account(id).await?;
            let events = store.account_events(id).await?;
            let mut value = shown(&account);
            value["history"] = serde_json::to_value(events)?;
            super::print_json(&value)
        }
        AccountsCommand::List { limit } => {
            let accounts: Vec<_> = store.accounts(limit).await?.iter().map(shown).collect();
            super::print_json(&accounts)
        }
        AccountsCommand::Reinitialize {
            id,
            terminal,
            credential,
            refused_cycles,
        } => {
            let refused = match refused_cycles {
                Some(RefusedCyclesArg::Charge) => RefusedCycles::Charge,
                Some(RefusedCyclesArg::Skip) => RefusedCycles::Skip,
                None => settings.billing.refused_cycles,
            };
            reinitialize(&store, settings, id, terminal, credential, refused, now).await
        }
    }
}

/// A suspended Payroc account back with an existing token, or with card details through the
/// API's path (the secure token asked for under a key stored first).
async fn reinitialize(
    store: &Store,
    settings: &Settings,
    id: Uuid,
    terminal: Option<String>,
    credential: CredentialArgs,
    refused: RefusedCycles,
    now: Timestamp,
) -> anyhow::Result<()> {
    let current = store.account(id).await?;
    let current_terminal = match &current.credential {
        Credential::Payroc(t) => t.terminal_id.clone(),
        Credential::CertiTrade(_) => None,
    };
    let terminal = terminal
        .or(current_terminal)
        .ok_or_else(|| anyhow::anyhow!("account {id} has no Payroc terminal; pass --terminal"))?;
    match credential.given(&terminal)? {
        Given::Token(cred) => {
            let account = store.reinitialize_with(id, &cred, refused, now).await?;
            super::print_json(&shown(&account))
        }
        Given::Card(card) => {
            let gateways = payroc_only(settings)?;
            let progress = registrar(store, &gateways, settings, now)
                .reinitialize_payroc(&current, &terminal, None, refused, &card)
                .await?;
            print_progress(progress)
        }
    }
}

/// What the operator gave: an existing secure token, or card details to tokenize.
enum Given {
    Token(CardOnFile),
    Card(CardDetails),
}

impl CredentialArgs {
    fn given(self, terminal: &str) -> anyhow::Result<Given> {
        if let Some(token) = self.token {
            return Ok(Given::Token(CardOnFile {
                credential: Credential::Payroc(PayrocToken {
                    terminal_id: Some(terminal.to_owned()),
                    secure_token_id: self.secure_token_id,
                    token: Some(token),
                }),
                card_masked: self.card_masked,
                card_expiry: self.card_expiry,
            }));
        }
        let card = serde_json::from_reader(std::io::stdin().lock()).map_err(|e| {
            anyhow::anyhow!(
                "card details on standard input must be JSON {{\"number\", \"expiry\" (MMYY), \"cvv\", \"holder\"}}: {e}"
            )
        })?;
        Ok(Given::Card(card))
    }
}

/// The Payroc client, whatever `payroc.enabled` says (an operator's command, not the daemon),
/// and no other gateway: tokenizing a card needs no CertiTrade settings.
fn payroc_only(settings: &Settings) -> anyhow::Result<Gateways> {
    Ok(Gateways {
        payroc: Some(PayrocClient::new(
            &settings.payroc,
            settings.outcomes.clone(),
        )?),
        certitrade: None,
    })
}

/// The API's registration path (`billing::registration::Registrar`), for this command.
fn registrar<'a>(
    store: &'a Store,
    gateways: &'a Gateways,
    settings: &Settings,
    now: Timestamp,
) -> Registrar<'a> {
    Registrar {
        store,
        gateways,
        now,
        lease: settings.billing.lease.signed(),
    }
}

/// The account as it now is; a card Payroc refused is an error. An account still owing its
/// secure token (the answer was lost) is printed with `registration.pending_step`: the daemon
/// completes it by looking the token up.
fn print_progress(progress: Progress) -> anyhow::Result<()> {
    match progress {
        Progress::Account(account) => {
            if account.registration_step.is_pending() {
                eprintln!(
                    "Payroc's answer was lost: the account waits on its secure token, which the \
                     running daemon looks up (see registration.pending_step)"
                );
            }
            super::print_json(&shown(&account))
        }
        Progress::Refused { reason, .. } => anyhow::bail!("Payroc refused the card: {reason}"),
    }
}

/// An account as shown to operators: as the API shows it (the token masked).
fn shown(a: &Account) -> serde_json::Value {
    serde_json::to_value(AccountView::of(a.clone(), None)).unwrap_or_else(|_| json!({}))
}
