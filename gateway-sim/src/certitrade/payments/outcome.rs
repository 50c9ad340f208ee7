//! What a subsequent (non-initializing) RECURRING charge answers: the
//! account's state first, then the card behind it, then the amount.

use super::super::accounts::{Account, AccountState};
use super::super::cards::CardKind;
use super::super::problem::Problem;
use super::record::Attempt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    Approved,
    Declined {
        respcode: &'static str,
    },
    /// Account suspended or closed: FAILED, `ACCOUNT_TERMINATED` / `43`.
    Terminated,
}

impl Charge {
    /// Label used in `/_sim/certitrade/requests`.
    pub fn label(self) -> &'static str {
        match self {
            Charge::Approved => "approved",
            Charge::Declined { .. } => "declined",
            Charge::Terminated => "terminated",
        }
    }

    pub fn attempt(self, account: &Account) -> Attempt {
        let card = account.card.as_ref();
        match self {
            Charge::Approved => Attempt::new(true, "RECURRING_AUTH", "00", card),
            Charge::Declined { respcode } => Attempt::new(false, "RECURRING_AUTH", respcode, card),
            Charge::Terminated => Attempt::new(false, "ACCOUNT_TERMINATED", "43", card),
        }
    }
}

/// Decides a charge on `account`, suspending it when the fraud card is used.
pub fn decide(account: &mut Account, amount: u64) -> Result<Charge, Problem> {
    match account.state {
        AccountState::Uninitialized => {
            return Err(Problem::bad_request(format!(
                "data.RECURRING.payment_account {} is UNINITIALIZED: complete an initializing payment first",
                account.id
            )));
        }
        AccountState::Suspended | AccountState::Closed => return Ok(Charge::Terminated),
        AccountState::Active => {}
    }
    let kind = account
        .card
        .as_ref()
        .map_or(CardKind::Unknown, |c| c.kind());
    Ok(match kind {
        CardKind::Fraud => {
            // CertiTrade's test card: "subsequent RECURRING payments are
            // treated as suspected fraud and the account is closed" — shown
            // as SUSPENDED in their recurring example.
            account.state = AccountState::Suspended;
            Charge::Terminated
        }
        CardKind::Decline => Charge::Declined { respcode: "05" },
        // ISO 8583 14 = invalid card number (only reachable via /_sim card swap).
        CardKind::Unknown => Charge::Declined { respcode: "14" },
        // ISO 8583 51 = insufficient funds: the one soft decline, by amount.
        CardKind::Approve if amount % 100 == 51 => Charge::Declined { respcode: "51" },
        CardKind::Approve => Charge::Approved,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certitrade::cards::{Card, DEFAULT_EXPIRY};

    fn account(state: AccountState, card: &str) -> Account {
        Account {
            id: "1".into(),
            created: String::new(),
            state,
            card: Some(Card::new(card, DEFAULT_EXPIRY)),
        }
    }

    #[test]
    fn decision_table() {
        let mut ok = account(AccountState::Active, "123456789000");
        assert_eq!(decide(&mut ok, 1000).unwrap(), Charge::Approved);
        assert_eq!(
            decide(&mut ok, 1051).unwrap(),
            Charge::Declined { respcode: "51" }
        );
        let mut bad = account(AccountState::Active, "4444333322221111");
        assert_eq!(
            decide(&mut bad, 1000).unwrap(),
            Charge::Declined { respcode: "05" }
        );
        let mut fraud = account(AccountState::Active, "1123450000000002");
        assert_eq!(decide(&mut fraud, 1000).unwrap(), Charge::Terminated);
        assert_eq!(fraud.state, AccountState::Suspended);
        assert_eq!(decide(&mut fraud, 1000).unwrap(), Charge::Terminated);
        let mut closed = account(AccountState::Closed, "123456789000");
        assert_eq!(decide(&mut closed, 1000).unwrap(), Charge::Terminated);
        let mut new = account(AccountState::Uninitialized, "123456789000");
        assert_eq!(decide(&mut new, 1000).unwrap_err().http_status, 400);
        let attempt = Charge::Terminated.attempt(&fraud);
        assert_eq!(
            (attempt.desc, attempt.respcode, attempt.approved),
            ("ACCOUNT_TERMINATED", "43", false)
        );
        assert_eq!(Charge::Approved.attempt(&ok).authcode.len(), 6);
    }
}
