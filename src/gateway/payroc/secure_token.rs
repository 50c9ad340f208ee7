//! Tokenizing a card (the seed's optional Step 1). The card number and CVV pass through memory
//! as secrets on their way to Payroc and are never stored, logged or echoed.

use secrecy::ExposeSecret;
use serde::Deserialize;
use uuid::Uuid;

use super::client::PayrocClient;
pub use super::token_request::CardDetails;
use super::token_request::SecureTokenRequest;
use super::transformers::problem_message;
use crate::domain::answer_class::{self, AnswerClass};
use crate::domain::credential::{CardOnFile, Credential, PayrocToken};
use crate::gateway::StepResult;

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

impl CreatedToken {
    /// The account's credential: this token on `terminal_id`.
    pub fn on_file(self, terminal_id: &str) -> CardOnFile {
        CardOnFile {
            credential: Credential::Payroc(PayrocToken {
                terminal_id: Some(terminal_id.to_owned()),
                secure_token_id: Some(self.secure_token_id),
                token: Some(self.token),
            }),
            card_masked: self.card_masked,
            card_expiry: self.card_expiry,
        }
    }
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

/// A secure-token request as stored before its first send (never the card): the terminal, the
/// Idempotency-Key and the secureTokenId we chose, so that a lost answer is settled by resending
/// under the same key or by `GET …/secure-tokens/{secureTokenId}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub terminal_id: String,
    pub key: Uuid,
    pub secure_token_id: String,
}

impl TokenRequest {
    /// A new request for a token on `terminal_id`, named after the account it is for.
    pub fn new(terminal_id: &str, account: Uuid) -> Self {
        TokenRequest {
            terminal_id: terminal_id.to_owned(),
            key: Uuid::new_v4(),
            secure_token_id: format!(
                "billingd-{}-{}",
                &account.simple().to_string()[..16],
                &Uuid::new_v4().simple().to_string()[..12]
            ),
        }
    }

    /// One line per field: terminal, key, secureTokenId.
    pub fn to_stored(&self) -> String {
        format!(
            "{}\n{}\n{}",
            self.terminal_id, self.key, self.secure_token_id
        )
    }

    pub fn from_stored(stored: &str) -> Option<Self> {
        let mut lines = stored.lines();
        let (terminal, key, id) = (lines.next()?, lines.next()?, lines.next()?);
        Some(TokenRequest {
            terminal_id: terminal.to_owned(),
            key: key.parse().ok()?,
            secure_token_id: id.to_owned(),
        })
    }
}

/// The request body; `secure_token_id` is ours when we mean to find the token again.
fn token_body(card: &CardDetails, secure_token_id: Option<&str>) -> String {
    SecureTokenRequest::recurring(card, secure_token_id).to_json()
}

/// What the token resource shows, or why it cannot be read.
fn read_token(bytes: &[u8], card_expiry: Option<&str>) -> StepResult<CreatedToken> {
    let created: SecureTokenResponse = match serde_json::from_slice(bytes) {
        Ok(created) => created,
        Err(e) => {
            return StepResult::Unknown(format!("Payroc secure-token answer unreadable: {e}"));
        }
    };
    let source = created.source.unwrap_or(TokenSource {
        card_number: None,
        expiry_date: None,
    });
    StepResult::Done(CreatedToken {
        secure_token_id: created.secure_token_id,
        token: created.token,
        card_masked: source.card_number,
        card_expiry: source
            .expiry_date
            .or_else(|| card_expiry.map(str::to_owned)),
    })
}

/// An answer to `POST …/secure-tokens`, by `domain::answer_class::payroc_secure_token`.
fn classify(status: u16, bytes: &[u8], card_expiry: &str) -> StepResult<CreatedToken> {
    match answer_class::payroc_secure_token(status) {
        AnswerClass::ReadPayment => read_token(bytes, Some(card_expiry)),
        AnswerClass::Rejected => StepResult::Refused(format!(
            "the card was refused: {}",
            problem_message(status, bytes)
        )),
        AnswerClass::RefreshCredentials | AnswerClass::Unknown => StepResult::Unknown(format!(
            "creating the secure token failed: {}",
            problem_message(status, bytes)
        )),
    }
}

impl PayrocClient {
    /// POST /processing-terminals/{id}/secure-tokens with a recurring MIT agreement, under a
    /// key of its own; Payroc names the token. For callers that keep nothing between tries.
    pub async fn create_secure_token(
        &self,
        terminal_id: &str,
        card: &CardDetails,
    ) -> Result<CreatedToken, TokenError> {
        let body = token_body(card, None);
        match self
            .post_secure_token(terminal_id, Uuid::new_v4(), &body, &card.expiry)
            .await
        {
            StepResult::Done(token) => Ok(token),
            StepResult::Refused(m) => Err(TokenError::Rejected(m)),
            StepResult::Unknown(m) => Err(TokenError::Unavailable(m)),
        }
    }

    /// Sends a stored token request: a resend repeats its key and body, which Payroc replays.
    pub async fn send_secure_token(
        &self,
        request: &TokenRequest,
        card: &CardDetails,
    ) -> StepResult<CreatedToken> {
        let body = token_body(card, Some(&request.secure_token_id));
        self.post_secure_token(&request.terminal_id, request.key, &body, &card.expiry)
            .await
    }

    async fn post_secure_token(
        &self,
        terminal_id: &str,
        key: Uuid,
        body: &str,
        card_expiry: &str,
    ) -> StepResult<CreatedToken> {
        let url = format!(
            "{}/processing-terminals/{terminal_id}/secure-tokens",
            self.api_url
        );
        for _ in 0..2 {
            let bearer = match self.tokens.bearer().await {
                Ok(bearer) => bearer,
                // Nothing was sent: the same request can go later.
                Err(e) => return StepResult::Unknown(e),
            };
            let response = match self
                .http
                .post(&url)
                .bearer_auth(bearer.value.expose_secret())
                .header("Idempotency-Key", key.to_string())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_owned())
                .send()
                .await
            {
                Ok(response) => response,
                Err(e) => {
                    return StepResult::Unknown(format!("Payroc secure-token request failed: {e}"));
                }
            };
            let status = response.status().as_u16();
            if status == 401 {
                self.tokens.invalidate(&bearer).await;
                continue;
            }
            return match response.bytes().await {
                Ok(bytes) => classify(status, &bytes, card_expiry),
                Err(e) => StepResult::Unknown(format!("Payroc secure-token answer cut off: {e}")),
            };
        }
        StepResult::Unknown("Payroc refused a freshly issued bearer token (401)".into())
    }

    /// `GET …/secure-tokens/{secureTokenId}`: the token a request made, `None` if Payroc has
    /// none under that id.
    pub async fn find_secure_token(
        &self,
        request: &TokenRequest,
    ) -> Result<Option<CreatedToken>, String> {
        let url = format!(
            "{}/processing-terminals/{}/secure-tokens/{}",
            self.api_url, request.terminal_id, request.secure_token_id
        );
        for _ in 0..2 {
            let bearer = self.tokens.bearer().await?;
            let response = self
                .http
                .get(&url)
                .bearer_auth(bearer.value.expose_secret())
                .send()
                .await
                .map_err(|e| format!("Payroc secure-token lookup failed: {e}"))?;
            let status = response.status().as_u16();
            if status == 401 {
                self.tokens.invalidate(&bearer).await;
                continue;
            }
            let bytes = response
                .bytes()
                .await
                .map_err(|e| format!("Payroc secure-token lookup cut off: {e}"))?;
            return match status {
                200 => match read_token(&bytes, None) {
                    StepResult::Done(token) => Ok(Some(token)),
                    StepResult::Refused(e) | StepResult::Unknown(e) => Err(e),
                },
                404 => Ok(None),
                _ => Err(problem_message(status, &bytes)),
            };
        }
        Err("Payroc refused a freshly issued bearer token (401) on a token lookup".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> CardDetails {
        CardDetails {
            number: "4539858876047062".to_owned().into(),
            expiry: "1230".into(),
            cvv: Some("123".to_owned().into()),
            holder: None,
        }
    }

    #[test]
    fn a_stored_request_round_trips_and_holds_no_card() {
        let request = TokenRequest::new("3204001", Uuid::new_v4());
        let stored = request.to_stored();
        assert_eq!(TokenRequest::from_stored(&stored), Some(request.clone()));
        assert!(!stored.contains("4539"));
        assert!(request.secure_token_id.len() <= 200);
        assert_eq!(TokenRequest::from_stored("3204001\nnot-a-key\nx"), None);
    }

    #[test]
    fn the_same_request_is_the_same_bytes() {
        let a = token_body(&card(), Some("billingd-1"));
        assert_eq!(a, token_body(&card(), Some("billingd-1")));
        assert!(a.contains("\"secureTokenId\":\"billingd-1\""));
        assert!(!token_body(&card(), None).contains("secureTokenId"));
    }

    #[test]
    fn answers() {
        let ok = br#"{"secureTokenId": "billingd-1", "token": "296753123456",
            "source": {"cardNumber": "453985******7062"}}"#;
        match classify(201, ok, "1230") {
            StepResult::Done(t) => {
                assert_eq!(t.token, "296753123456");
                assert_eq!(t.card_expiry.as_deref(), Some("1230"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify(201, b"<html>", "1230"),
            StepResult::Unknown(_)
        ));
        for status in [400, 402, 404, 422] {
            assert!(matches!(
                classify(status, b"{}", "1230"),
                StepResult::Refused(_)
            ));
        }
        for status in [403, 408, 409, 429, 500, 503] {
            assert!(
                matches!(classify(status, b"", "1230"), StepResult::Unknown(_)),
                "{status}"
            );
        }
    }
}
