//! Finishing an initializing payment in the payment window: what the card
//! does to the payment and to its payment_account, and which callback the
//! merchant gets. Shared by the browser route and `/_sim`.

use super::super::accounts::AccountState;
use super::super::callbacks::Notice;
use super::super::cards::{Card, CardKind};
use super::super::payments::{Attempt, Payment, PaymentState};
use super::super::state::CertiTradeState;

/// Callback `description` on APPROVE. CertiTrade documents codes only for
/// DECLINE (2xxx), CANCEL (3xxx) and ERROR (4xxx); "0000" is the simulator's
/// choice. Clients must treat it as opaque (and still include it in the
/// sha256code check).
pub const APPROVE_DESCRIPTION: &str = "0000";
/// DECLINE 2002: authorisation failed.
const AUTHORIZATION_FAILED: &str = "2002";
/// DECLINE 2004: invalid card.
const INVALID_CARD: &str = "2004";

pub enum Refusal {
    NotFound,
    /// Not an initializing payment: it has no payment window.
    NoWindow,
    AlreadyCompleted(PaymentState),
}

pub struct Completion {
    pub payment: Payment,
    pub approved: bool,
    /// What to POST to `callback_url`, if the payment has one.
    pub notice: Option<Notice>,
}

pub fn complete(
    state: &CertiTradeState,
    payment_id: &str,
    card: Card,
) -> Result<Completion, Refusal> {
    // Claim the window (CREATED → PENDING) atomically, so two concurrent
    // completions cannot both authorise.
    let claimed = state
        .payments
        .update(payment_id, |p| {
            if !p.initialize {
                Err(Refusal::NoWindow)
            } else if p.state != PaymentState::Created {
                Err(Refusal::AlreadyCompleted(p.state))
            } else {
                p.state = PaymentState::Pending;
                Ok(p.payment_account.clone())
            }
        })
        .ok_or(Refusal::NotFound)??;

    let (attempt, description) = match card.kind() {
        CardKind::Approve | CardKind::Fraud => activate(state, &claimed, card),
        CardKind::Decline => (
            Attempt::new(false, "SSL_AUTH", "05", Some(&card)),
            AUTHORIZATION_FAILED,
        ),
        // ISO 8583 14 = invalid card number.
        CardKind::Unknown => (
            Attempt::new(false, "SSL_AUTH", "14", Some(&card)),
            INVALID_CARD,
        ),
    };
    let approved = attempt.approved;
    let payment = state
        .payments
        .update(payment_id, |p| {
            p.settle(attempt);
            p.clone()
        })
        .expect("claimed payments are never removed");
    if approved {
        state.ledger.record(&payment);
    }
    tracing::info!(
        payment_id,
        payment_account = %claimed,
        approved,
        "certitrade: payment window completed"
    );
    let notice = payment.callback_url.clone().map(|url| Notice {
        url,
        payment_id: payment.id.clone(),
        function: if approved { "APPROVE" } else { "DECLINE" },
        description,
    });
    Ok(Completion {
        payment,
        approved,
        notice,
    })
}

/// Authorises on the account: it becomes ACTIVE with this card (also out of
/// SUSPENDED — re-initialization on the same id, docs/gateways.md, "CertiTrade:
/// the recurring flow"), unless it was closed after the payment was created.
fn activate(state: &CertiTradeState, account_id: &str, card: Card) -> (Attempt, &'static str) {
    let approved = Attempt::new(true, "SSL_AUTH", "00", Some(&card));
    let result = state.accounts.update(account_id, |account| {
        if account.state == AccountState::Closed {
            return (
                Attempt::new(false, "ACCOUNT_TERMINATED", "43", Some(&card)),
                AUTHORIZATION_FAILED,
            );
        }
        account.state = AccountState::Active;
        account.card = Some(card.clone());
        (approved, APPROVE_DESCRIPTION)
    });
    result.expect("accounts are never removed")
}
