//! What an account route is given for a card: an existing Payroc token or card details, and
//! the terminal they are on — checked here, card data never echoed back.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::checks::non_empty;
use crate::api::problem::{ApiError, ApiResult};
use crate::domain::credential::{CardOnFile, Credential, PayrocToken};
use crate::gateway::payroc::CardDetails;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExistingToken {
    #[schema(max_length = 200, pattern = "\\S")]
    pub(super) token: String,
    pub(super) secure_token_id: Option<String>,
    /// For display, e.g. `453985******7062`.
    pub(super) card_masked: Option<String>,
    /// MMYY
    pub(super) card_expiry: Option<String>,
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

/// An existing token as given. (Card details go through `registration`, which tokenizes them
/// resumably; here they can only come together with a token.)
pub(super) fn existing_token(
    terminal: &str,
    token: Option<ExistingToken>,
    card_too: bool,
) -> ApiResult<CardOnFile> {
    match (token, card_too) {
        (Some(t), false) => Ok(CardOnFile {
            credential: Credential::Payroc(PayrocToken {
                terminal_id: Some(terminal.to_owned()),
                secure_token_id: t.secure_token_id,
                token: Some(non_empty("secure_token.token", &t.token, 200)?.to_owned()),
            }),
            card_masked: t.card_masked,
            card_expiry: t.card_expiry,
        }),
        (Some(_), true) => Err(ApiError::invalid(
            "card",
            "send either secure_token or card, not both",
        )),
        (None, _) => Err(ApiError::invalid(
            "secure_token",
            "send a secure_token or card details",
        )),
    }
}

/// The Payroc terminal an account's token is on, if it has one.
pub(super) fn terminal_of(credential: &Credential) -> Option<String> {
    match credential {
        Credential::Payroc(t) => t.terminal_id.clone(),
        Credential::CertiTrade(_) => None,
    }
}

/// Checks the shape of card details without ever echoing them back.
pub(super) fn card_details(card: CardInput) -> ApiResult<CardDetails> {
    let digits = card
        .number
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>();
    if !(12..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid("card.number", "must be 12 to 19 digits"));
    }
    let expiry_ok = card.expiry.len() == 4
        && card.expiry.bytes().all(|b| b.is_ascii_digit())
        && matches!(card.expiry[..2].parse::<u8>(), Ok(1..=12));
    if !expiry_ok {
        return Err(ApiError::invalid("card.expiry", "must be MMYY, e.g. 0330"));
    }
    if let Some(cvv) = &card.cvv
        && (!(3..=4).contains(&cvv.len()) || !cvv.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(ApiError::invalid("card.cvv", "must be 3 or 4 digits"));
    }
    Ok(CardDetails {
        number: digits.into(),
        expiry: card.expiry,
        cvv: card.cvv.map(Into::into),
        holder: card.holder,
    })
}

/// A terminal id goes into the gateway's URL path (`/processing-terminals/{id}/…`): letters,
/// digits, `-` and `_` only, so that it cannot name another route.
pub(super) fn terminal_id(value: &str) -> ApiResult<&str> {
    let t = non_empty("processing_terminal_id", value, 50)?;
    if !t
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ApiError::invalid(
            "processing_terminal_id",
            "may hold only letters, digits, - and _",
        ));
    }
    Ok(t)
}
