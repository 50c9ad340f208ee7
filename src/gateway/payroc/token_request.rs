//! The body of `POST /processing-terminals/{id}/secure-tokens` made of a customer's card
//! details (`gateway::card`): a keyed card saved for a recurring merchant-initiated agreement.
//! Optional fields are left out when absent: Payroc's typed API refuses `null` for a string
//! (400). No `Debug` on the body: it holds the card number.

use secrecy::ExposeSecret;
use serde::Serialize;

pub use crate::gateway::card::CardDetails;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecureTokenRequest<'a> {
    /// The id billingd chooses, so a token whose answer was lost can be looked up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secure_token_id: Option<&'a str>,
    pub mit_agreement: &'a str,
    pub source: Source<'a>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Source<'a> {
    Card {
        #[serde(rename = "cardDetails")]
        card_details: CardSource<'a>,
    },
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CardSource<'a> {
    pub entry_method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cardholder_name: Option<&'a str>,
    pub keyed_data: KeyedData<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyedData<'a> {
    pub data_format: &'a str,
    pub card_number: &'a str,
    pub expiry_date: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvv: Option<&'a str>,
}

impl<'a> SecureTokenRequest<'a> {
    /// A plain-text keyed card under a recurring MIT agreement.
    pub fn recurring(card: &'a CardDetails, secure_token_id: Option<&'a str>) -> Self {
        SecureTokenRequest {
            secure_token_id,
            mit_agreement: "recurring",
            source: Source::Card {
                card_details: CardSource {
                    entry_method: "keyed",
                    cardholder_name: card.holder.as_deref(),
                    keyed_data: KeyedData {
                        data_format: "plainText",
                        card_number: card.number.expose_secret(),
                        expiry_date: &card.expiry,
                        cvv: card.cvv.as_ref().map(|c| c.expose_secret()),
                    },
                },
            },
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a secure-token request serializes")
    }
}
