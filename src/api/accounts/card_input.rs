//! What an account route is given for a card: an existing token or card details, and where
//! the gateway keeps them. The gateway's rules (`gateway::rules`) check them; card data is
//! never echoed back.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::gateway::rules::{self, AccountInput};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExistingToken {
    #[schema(max_length = 200, pattern = "\\S")]
    token: String,
    secure_token_id: Option<String>,
    /// For display, e.g. `453985******7062`.
    card_masked: Option<String>,
    /// MMYY
    card_expiry: Option<String>,
}

/// Card details; sent to the gateway, never stored or logged.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardInput {
    /// 12 to 19 digits (spaces are ignored).
    #[schema(pattern = "^[0-9]{12,19}$", example = "4539858876047062")]
    number: String,
    /// MMYY
    #[schema(pattern = "^(0[1-9]|1[0-2])[0-9]{2}$", example = "1230")]
    expiry: String,
    #[schema(pattern = "^[0-9]{3,4}$")]
    cvv: Option<String>,
    holder: Option<String>,
}

/// The request's card fields, for the gateway's rules to check.
pub(super) fn account_input(
    terminal: Option<String>,
    token: Option<ExistingToken>,
    card: Option<CardInput>,
) -> AccountInput {
    AccountInput {
        scope: terminal,
        token: token.map(|t| rules::TokenInput {
            token: t.token,
            id: t.secure_token_id,
            card_masked: t.card_masked,
            card_expiry: t.card_expiry,
        }),
        card: card.map(|c| rules::CardInput {
            number: c.number,
            expiry: c.expiry,
            cvv: c.cvv,
            holder: c.holder,
        }),
        series: false,
    }
}
