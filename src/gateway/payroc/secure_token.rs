//! Tokenizing a card (the seed's optional Step 1). The card number and CVV pass through memory
//! as secrets on their way to Payroc and are never stored, logged or echoed.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use uuid::Uuid;

use super::client::PayrocClient;
use super::token_request::SecureTokenRequest;
use super::transformers::problem_message;

/// Card details as a customer typed them; `Debug` shows nothing secret.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardDetails {
    pub number: SecretString,
    /// MMYY
    pub expiry: String,
    pub cvv: Option<SecretString>,
    pub holder: Option<String>,
}

impl std::fmt::Debug for CardDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardDetails")
            .field("number", &"<redacted>")
            .field("expiry", &self.expiry)
            .finish()
    }
}

/// Why a card could not be tokenized.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Payroc refused the card details (invalid number, expiry …): the customer must fix them.
    #[error("{0}")]
    Rejected(String),
    /// Payroc could not be reached or answered something unusable: try again later.
    #[error("{0}")]
    Unavailable(String),
}

/// What Payroc gives back: the token and what may be shown about the card.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    pub secure_token_id: String,
    pub token: String,
    pub card_masked: Option<String>,
    pub card_expiry: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecureTokenResponse {
    secure_token_id: String,
    token: String,
    source: Option<TokenSource>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenSource {
    card_number: Option<String>,
    expiry_date: Option<String>,
}

impl PayrocClient {
    /// POST /processing-terminals/{id}/secure-tokens with a recurring MIT agreement.
    pub async fn create_secure_token(
        &self,
        terminal_id: &str,
        card: &CardDetails,
    ) -> Result<CreatedToken, TokenError> {
        let body = SecureTokenRequest::recurring(card).to_json();
        let url = format!(
            "{}/processing-terminals/{terminal_id}/secure-tokens",
            self.api_url
        );
        let key = Uuid::new_v4();
        for _ in 0..2 {
            let bearer = self
                .tokens
                .bearer()
                .await
                .map_err(TokenError::Unavailable)?;
            let response = self
                .http
                .post(&url)
                .bearer_auth(bearer.value.expose_secret())
                .header("Idempotency-Key", key.to_string())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await
                .map_err(|e| {
                    TokenError::Unavailable(format!("Payroc secure-token request failed: {e}"))
                })?;
            let status = response.status().as_u16();
            if status == 401 {
                self.tokens.invalidate(&bearer).await;
                continue;
            }
            let bytes = response.bytes().await.map_err(|e| {
                TokenError::Unavailable(format!("Payroc secure-token answer cut off: {e}"))
            })?;
            // 404: Payroc does not know the terminal the token was asked for.
            if matches!(status, 400 | 402 | 404 | 422) {
                return Err(TokenError::Rejected(format!(
                    "the card was refused: {}",
                    problem_message(status, &bytes)
                )));
            }
            if status != 201 && status != 200 {
                return Err(TokenError::Unavailable(format!(
                    "creating the secure token failed: {}",
                    problem_message(status, &bytes)
                )));
            }
            let created: SecureTokenResponse = serde_json::from_slice(&bytes).map_err(|e| {
                TokenError::Unavailable(format!("Payroc secure-token answer unreadable: {e}"))
            })?;
            let source = created.source.unwrap_or(TokenSource {
                card_number: None,
                expiry_date: None,
            });
            return Ok(CreatedToken {
                secure_token_id: created.secure_token_id,
                token: created.token,
                card_masked: source.card_number,
                card_expiry: source.expiry_date.or_else(|| Some(card.expiry.clone())),
            });
        }
        Err(TokenError::Unavailable(
            "Payroc refused a freshly issued bearer token (401)".into(),
        ))
    }
}
