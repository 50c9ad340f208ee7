//! The simulator's decision table: what a sale answers, from the token's
//! history and the amount's last two digits (see README.md for the list).

use super::super::card::CardTrigger;
use super::super::secure_tokens::TokenUse;

/// Result of authorising a sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Approved,
    /// Received but not yet decided; later reads show it approved.
    Pending,
    Declined {
        code: &'static str,
        message: &'static str,
    },
    Referral,
    Pickup,
    ClosedAccount,
}

const DO_NOT_HONOR: Outcome = Outcome::Declined {
    code: "05",
    message: "Do Not Honor",
};
const CVV_MISMATCH: Outcome = Outcome::Declined {
    code: "N7",
    message: "CVV2 MISMATCH",
};
const INSUFFICIENT_FUNDS: Outcome = Outcome::Declined {
    code: "51",
    message: "INSUFFICIENT FUNDS",
};
/// Visa category 1: the issuer will never approve this card number.
const INVALID_CARD_NUMBER: Outcome = Outcome::Declined {
    code: "14",
    message: "INVALID CARD NUMBER",
};
const EXPIRED_CARD: Outcome = Outcome::Declined {
    code: "54",
    message: "EXPIRED CARD",
};

/// `transactionResult` fields for an outcome.
pub struct ResultCodes {
    pub status: &'static str,
    pub response_code: &'static str,
    pub processor_response_code: &'static str,
    pub response_message: &'static str,
}

impl Outcome {
    pub fn codes(self) -> ResultCodes {
        let (status, response_code, processor_response_code, response_message) = match self {
            Outcome::Approved => ("ready", "A", "00", "APPROVAL"),
            // ISO 8583 "09" = request in progress.
            Outcome::Pending => ("pending", "E", "09", "PENDING"),
            Outcome::Declined { code, message } => ("declined", "D", code, message),
            Outcome::Referral => ("referral", "R", "01", "Refer to Card Issuer"),
            Outcome::Pickup => ("pickup", "C", "43", "PICK UP CARD - STOLEN"),
            Outcome::ClosedAccount => ("declined", "D", "46", "CLOSED ACCOUNT"),
        };
        ResultCodes {
            status,
            response_code,
            processor_response_code,
            response_message,
        }
    }

    /// Whether money moves: pending sales always settle as approved here, so
    /// they count as charged from the start (keeps double-charge checks honest).
    pub fn charges(self) -> bool {
        matches!(self, Outcome::Approved | Outcome::Pending)
    }

    /// Label used in `/_sim/requests`.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Approved => "approved",
            Outcome::Pending => "pending",
            Outcome::Declined { .. } | Outcome::ClosedAccount => "declined",
            Outcome::Referral => "referral",
            Outcome::Pickup => "pickup",
        }
    }
}

/// Transport-level behaviour chosen by the amount, independent of the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Normal,
    /// …96: first request with a key gets an HTML 500 without processing.
    FailFirstAttempt,
    /// …95: processing takes `slow_delay`, with the key held: a resend meanwhile gets 409,
    /// and the sale is approved whether or not anyone still waits for the answer.
    SlowProcessing,
    /// …97: answer only after `slow_delay`.
    Slow,
    /// …99: first request with a key is processed, then the connection drops.
    DropFirstAttempt,
}

pub fn transport_for(amount: u64) -> Transport {
    match amount % 100 {
        95 => Transport::SlowProcessing,
        96 => Transport::FailFirstAttempt,
        97 => Transport::Slow,
        99 => Transport::DropFirstAttempt,
        _ => Transport::Normal,
    }
}

/// Decides a sale: terminated token, then card triggers, then amount triggers.
pub fn decide(token: TokenUse, amount: u64) -> Outcome {
    if token.terminated {
        return Outcome::ClosedAccount;
    }
    match token.trigger {
        Some(CardTrigger::InsufficientFundsTwice) if token.attempt <= 2 => {
            return INSUFFICIENT_FUNDS;
        }
        Some(CardTrigger::ClosesAfterFirstSale) if token.attempt > 1 => {
            return Outcome::ClosedAccount;
        }
        _ => {}
    }
    match amount % 100 {
        1 => DO_NOT_HONOR,
        2 => Outcome::Referral,
        3 => CVV_MISMATCH,
        14 => INVALID_CARD_NUMBER,
        43 => Outcome::Pickup,
        46 => Outcome::ClosedAccount,
        51 => INSUFFICIENT_FUNDS,
        54 => EXPIRED_CARD,
        98 => Outcome::Pending,
        _ => Outcome::Approved,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(attempt: u32) -> TokenUse {
        TokenUse {
            terminated: false,
            trigger: None,
            attempt,
        }
    }

    #[test]
    fn amount_triggers() {
        assert_eq!(decide(plain(1), 1000), Outcome::Approved);
        assert_eq!(decide(plain(1), 4901), DO_NOT_HONOR);
        assert_eq!(decide(plain(1), 4902).codes().response_code, "R");
        assert_eq!(decide(plain(1), 143).codes().status, "pickup");
        assert_eq!(decide(plain(1), 146).codes().processor_response_code, "46");
        assert_eq!(decide(plain(1), 198), Outcome::Pending);
        assert_eq!(decide(plain(1), 199), Outcome::Approved);
        assert_eq!(transport_for(199), Transport::DropFirstAttempt);
        assert_eq!(transport_for(1095), Transport::SlowProcessing);
        assert_eq!(decide(plain(1), 1095), Outcome::Approved);
    }

    #[test]
    fn token_state_wins_over_amount() {
        let closed = TokenUse {
            terminated: true,
            ..plain(1)
        };
        assert_eq!(decide(closed, 1000), Outcome::ClosedAccount);
        let nsf = |attempt| TokenUse {
            trigger: Some(CardTrigger::InsufficientFundsTwice),
            ..plain(attempt)
        };
        assert_eq!(decide(nsf(1), 1000), INSUFFICIENT_FUNDS);
        assert_eq!(decide(nsf(2), 1000), INSUFFICIENT_FUNDS);
        assert_eq!(decide(nsf(3), 1000), Outcome::Approved);
        let closing = |attempt| TokenUse {
            trigger: Some(CardTrigger::ClosesAfterFirstSale),
            ..plain(attempt)
        };
        assert_eq!(decide(closing(1), 1000), Outcome::Approved);
        assert_eq!(decide(closing(2), 1000), Outcome::ClosedAccount);
    }
}
