//! An account's credential: what its gateway holds for the customer's card, one variant per
//! gateway. The store maps it to and from its columns; only the gateway's adapter reads what is
//! inside to build a request. A part a registration step has not made yet is `None`.

use std::fmt;

use super::states::GatewayKind;

#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A Payroc secure token on a processing terminal.
    Payroc(PayrocToken),
    /// A CertiTrade RECURRING payment_account.
    CertiTrade(CertiTradeAccount),
}

#[derive(Clone, Default, PartialEq, Eq)]
pub struct PayrocToken {
    pub terminal_id: Option<String>,
    /// The id billingd (or the merchant) chose for the token, by which it can be looked up.
    pub secure_token_id: Option<String>,
    /// The token itself: a credential, shown only masked and never logged.
    pub token: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertiTradeAccount {
    /// The gateway's id of the payment_account.
    pub payment_account: Option<String>,
}

/// A credential as registered, with what may be shown of the card behind it.
#[derive(Debug, Clone)]
pub struct CardOnFile {
    pub credential: Credential,
    /// For display, e.g. `453985******7062`.
    pub card_masked: Option<String>,
    /// MMYY
    pub card_expiry: Option<String>,
}

impl Credential {
    /// Nothing made yet: the credential a new account of `gateway` starts registering with.
    pub fn empty(gateway: GatewayKind) -> Credential {
        match gateway {
            GatewayKind::Payroc => Credential::Payroc(PayrocToken::default()),
            GatewayKind::CertiTrade => Credential::CertiTrade(CertiTradeAccount::default()),
        }
    }

    pub fn gateway(&self) -> GatewayKind {
        match self {
            Credential::Payroc(_) => GatewayKind::Payroc,
            Credential::CertiTrade(_) => GatewayKind::CertiTrade,
        }
    }

    /// The part that is a secret (to be shown only masked), if the gateway has one.
    pub fn secret(&self) -> Option<&str> {
        match self {
            Credential::Payroc(t) => t.token.as_deref(),
            Credential::CertiTrade(_) => None,
        }
    }

    /// What the account's history records of a new credential: its ids, never its secret.
    pub fn history_detail(&self) -> serde_json::Value {
        match self {
            Credential::Payroc(t) => serde_json::json!({"secure_token_id": t.secure_token_id}),
            Credential::CertiTrade(a) => {
                serde_json::json!({"payment_account": a.payment_account})
            }
        }
    }
}

// Written by hand so that a `{:?}` in a log line cannot print the token.
impl fmt::Debug for PayrocToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayrocToken")
            .field("terminal_id", &self.terminal_id)
            .field("secure_token_id", &self.secure_token_id)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Payroc(t) => t.fmt(f),
            Credential::CertiTrade(a) => a.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let c = Credential::Payroc(PayrocToken {
            terminal_id: Some("3204001".into()),
            secure_token_id: Some("billingd-1".into()),
            token: Some("296753123456".into()),
        });
        let shown = format!("{c:?}");
        assert!(!shown.contains("296753123456") && shown.contains("billingd-1"));
        assert_eq!(c.secret(), Some("296753123456"));
        assert!(!c.history_detail().to_string().contains("296753123456"));
    }

    #[test]
    fn an_empty_credential_keeps_its_gateway() {
        for g in GatewayKind::ALL {
            assert_eq!(Credential::empty(g).gateway(), g);
            assert_eq!(Credential::empty(g).secret(), None);
        }
    }
}
