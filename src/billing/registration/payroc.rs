//! The Payroc step: the secure token. Card details are never stored, so only the merchant's
//! retry can resend them (under the stored key, which Payroc replays); the daemon looks the
//! token up by the secureTokenId billingd chose.

use jiff::Timestamp;

use crate::config::RefusedCycles;
use crate::domain::registration::{StepAnswer, found_nothing};
use crate::gateway::payroc::{CardDetails, PayrocClient, TokenRequest};
use crate::gateway::{Gateways, StepResult};
use crate::store::Store;
use crate::store::accounts::Account;
use crate::store::from_db;

pub(super) fn client(gateways: &Gateways) -> anyhow::Result<&PayrocClient> {
    gateways
        .payroc
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the Payroc gateway is not enabled in this daemon"))
}

/// The secure-token step as claimed: its stored request, the card details of the API call (if
/// this is one), and, for a re-initialization, what to do with the refused cycles.
pub(super) struct TokenStep<'a> {
    pub request: Option<String>,
    pub card: Option<&'a CardDetails>,
    pub refused_cycles: Option<RefusedCycles>,
}

/// With the card details (the merchant's retry): the stored request is resent under its key,
/// which Payroc replays if it made the token. Without them (the daemon): the token is looked up
/// by the secureTokenId we chose; none found is final once Payroc may have forgotten the key.
pub(super) async fn secure_token(
    store: &Store,
    client: &PayrocClient,
    account: &Account,
    step: TokenStep<'_>,
    now: Timestamp,
) -> anyhow::Result<StepResult<()>> {
    let TokenStep {
        request,
        card,
        refused_cycles,
    } = step;
    let Some(request) = request.as_deref().and_then(TokenRequest::from_stored) else {
        return Ok(StepResult::Refused(
            "no secure-token request was stored, so none was sent".into(),
        ));
    };
    let result = match card {
        Some(card) => client.send_secure_token(&request, card).await,
        None => match client.find_secure_token(&request).await {
            Ok(Some(token)) => StepResult::Done(token),
            Ok(None) => {
                let unknown_for = account
                    .registration_unknown_since
                    .map(|since| now.duration_since(from_db(since)))
                    .and_then(|d| std::time::Duration::try_from(d).ok())
                    .unwrap_or_default();
                let missing = format!(
                    "Payroc has no secure token {} on terminal {}",
                    request.secure_token_id, request.terminal_id
                );
                match found_nothing(unknown_for, client.key_lifetime()) {
                    StepAnswer::Unknown => StepResult::Unknown(format!(
                        "{missing} (yet): a retry of the registration with the same Idempotency-Key \
                         resends the card under the same key"
                    )),
                    _ => StepResult::Refused(format!(
                        "{missing}: the card was never tokenized; register it again"
                    )),
                }
            }
            Err(e) => StepResult::Unknown(e),
        },
    };
    Ok(match result {
        StepResult::Done(token) => {
            let card = token.on_file(&request.terminal_id);
            match refused_cycles {
                // A re-initialization: the account comes back, its held subscriptions resume.
                Some(refused) => {
                    store
                        .reinitialize_with(account.id, &card, refused, now)
                        .await?;
                }
                None => store.secure_token_made(account.id, &card, now).await?,
            }
            StepResult::Done(())
        }
        StepResult::Refused(e) => StepResult::Refused(e),
        StepResult::Unknown(e) => StepResult::Unknown(e),
    })
}
