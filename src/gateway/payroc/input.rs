//! What a request must give for a Payroc account: a processing terminal, and either an
//! existing secure token or card details to tokenize on it; and how a continued series is
//! named (Payroc's `paymentId` and `cardSchemeReferenceId`). Card data is never echoed back.

use crate::domain::credential::{CardOnFile, Credential, PayrocToken};
use crate::domain::series::FirstPayment;
use crate::gateway::rules::{
    AccountInput, AccountPlan, CardInput, InputError, MerchantCard, SeriesInput, TokenInput,
    non_empty,
};

use super::CardDetails;

/// A new account needs a terminal; a re-initialization keeps the account's own unless given
/// another. Card details are tokenized (resumably, by the registration); a token is stored.
pub fn account_input(
    input: AccountInput,
    current: Option<&Credential>,
) -> Result<AccountPlan, InputError> {
    if current.is_none() && input.series {
        return Err(InputError::new(
            "series",
            "a stored-credential series belongs to one subscription, not to the account: give it \
             as `series` when creating the subscription that continues it (POST /v1/subscriptions)",
        ));
    }
    let scope = match (input.scope.as_deref(), current) {
        (Some(t), _) => terminal_id(t)?.to_owned(),
        (None, None) => terminal_id("")?.to_owned(),
        (None, Some(credential)) => terminal_of(credential).unwrap_or_default(),
    };
    let card = match (input.token, input.card) {
        (None, Some(card)) => MerchantCard::Tokenize {
            card: card_details(card)?,
            scope,
        },
        (token, card) => MerchantCard::OnFile(existing_token(scope, token, card.is_some())?),
    };
    Ok(AccountPlan::FromMerchant(card))
}

/// A series continued from elsewhere: the first payment's `paymentId`, and its card scheme
/// reference if the merchant has it.
pub fn continued_series(series: SeriesInput) -> Result<FirstPayment, InputError> {
    let scheme_reference = series
        .scheme_reference
        .as_deref()
        .map(|r| non_empty("series.scheme_reference", r, 100).map(str::to_owned))
        .transpose()?;
    Ok(FirstPayment {
        payment_id: non_empty("series.payment_id", &series.payment_id, 100)?.to_owned(),
        scheme_reference,
    })
}

/// An existing token as given. (Card details go through the registration, which tokenizes
/// them resumably; here they can only come together with a token.)
fn existing_token(
    terminal: String,
    token: Option<TokenInput>,
    card_too: bool,
) -> Result<CardOnFile, InputError> {
    match (token, card_too) {
        (Some(t), false) => Ok(CardOnFile {
            credential: Credential::Payroc(PayrocToken {
                terminal_id: Some(terminal),
                secure_token_id: t.id,
                token: Some(non_empty("secure_token.token", &t.token, 200)?.to_owned()),
            }),
            card_masked: t.card_masked,
            card_expiry: t.card_expiry,
        }),
        (Some(_), true) => Err(InputError::new(
            "card",
            "send either secure_token or card, not both",
        )),
        (None, _) => Err(InputError::new(
            "secure_token",
            "send a secure_token or card details",
        )),
    }
}

/// The terminal an account's token is on, if it has one.
fn terminal_of(credential: &Credential) -> Option<String> {
    match credential {
        Credential::Payroc(t) => t.terminal_id.clone(),
        Credential::CertiTrade(_) => None,
    }
}

/// Checks the shape of card details without ever echoing them back.
fn card_details(card: CardInput) -> Result<CardDetails, InputError> {
    let digits = card
        .number
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>();
    if !(12..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InputError::new("card.number", "must be 12 to 19 digits"));
    }
    let expiry_ok = card.expiry.len() == 4
        && card.expiry.bytes().all(|b| b.is_ascii_digit())
        && matches!(card.expiry[..2].parse::<u8>(), Ok(1..=12));
    if !expiry_ok {
        return Err(InputError::new("card.expiry", "must be MMYY, e.g. 0330"));
    }
    if let Some(cvv) = &card.cvv
        && (!(3..=4).contains(&cvv.len()) || !cvv.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(InputError::new("card.cvv", "must be 3 or 4 digits"));
    }
    Ok(CardDetails {
        number: digits.into(),
        expiry: card.expiry,
        cvv: card.cvv.map(Into::into),
        holder: card.holder,
    })
}

/// A terminal id goes into Payroc's URL path (`/processing-terminals/{id}/…`): letters,
/// digits, `-` and `_` only, so that it cannot name another route.
fn terminal_id(value: &str) -> Result<&str, InputError> {
    let t = non_empty("processing_terminal_id", value, 50)?;
    if !t
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(InputError::new(
            "processing_terminal_id",
            "may hold only letters, digits, - and _",
        ));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(number: &str, expiry: &str) -> CardInput {
        CardInput {
            number: number.into(),
            expiry: expiry.into(),
            cvv: None,
            holder: None,
        }
    }

    fn token() -> TokenInput {
        TokenInput {
            token: "296753123456".into(),
            id: Some("billingd-1".into()),
            card_masked: None,
            card_expiry: None,
        }
    }

    fn field(r: Result<AccountPlan, InputError>) -> String {
        r.expect_err("refused").field
    }

    #[test]
    fn a_new_account_needs_a_clean_terminal_and_one_of_token_or_card() {
        let input = |scope: Option<&str>| AccountInput {
            scope: scope.map(str::to_owned),
            token: Some(token()),
            ..AccountInput::default()
        };
        assert_eq!(
            field(account_input(input(None), None)),
            "processing_terminal_id"
        );
        assert_eq!(
            field(account_input(input(Some("a/b")), None)),
            "processing_terminal_id"
        );
        let plan = account_input(input(Some("3204001")), None).expect("a token on a terminal");
        assert!(matches!(
            plan,
            AccountPlan::FromMerchant(MerchantCard::OnFile(_))
        ));
        let neither = AccountInput {
            scope: Some("3204001".into()),
            ..AccountInput::default()
        };
        assert_eq!(field(account_input(neither, None)), "secure_token");
    }

    #[test]
    fn card_details_are_checked_and_a_reinitialization_keeps_its_terminal() {
        let current = Credential::Payroc(PayrocToken {
            terminal_id: Some("3204001".into()),
            ..PayrocToken::default()
        });
        let with = |c: CardInput| AccountInput {
            card: Some(c),
            ..AccountInput::default()
        };
        let bad = account_input(with(card("4539 8588 7604", "1330")), Some(&current));
        assert_eq!(field(bad), "card.expiry");
        assert_eq!(
            field(account_input(with(card("12", "1230")), Some(&current))),
            "card.number"
        );
        match account_input(with(card("4539 8588 7604 7062", "1230")), Some(&current)) {
            Ok(AccountPlan::FromMerchant(MerchantCard::Tokenize { scope, card })) => {
                assert_eq!(scope, "3204001");
                assert!(!format!("{card:?}").contains("7062"));
            }
            other => panic!("expected a tokenization, got {other:?}"),
        }
    }

    #[test]
    fn a_series_is_refused_on_a_new_account_and_named_when_continued() {
        let input = AccountInput {
            series: true,
            ..AccountInput::default()
        };
        assert_eq!(field(account_input(input, None)), "series");
        let blank = SeriesInput {
            payment_id: " ".into(),
            scheme_reference: None,
        };
        assert_eq!(
            continued_series(blank).unwrap_err().field,
            "series.payment_id"
        );
    }
}
