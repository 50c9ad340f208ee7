//! Starting a registration or a re-initialization — the one path for the API and the CLI. The
//! account is stored at its first step before any gateway call (keyed by the caller's
//! Idempotency-Key, if any), claimed under a lease, and carried forward by `advance`; a step
//! whose outcome is unknown stays owed, for a retry of the call or the daemon to settle.

use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

use super::{Progress, advance};
use crate::config::RefusedCycles;
use crate::domain::credential::{Credential, PayrocToken};
use crate::domain::registration::RegistrationStep;
use crate::domain::states::{AccountState, GatewayKind};
use crate::gateway::Gateways;
use crate::gateway::payroc::{CardDetails, TokenRequest};
use crate::store::accounts::Account;
use crate::store::registration::{ClaimedStep, NewRegistration};
use crate::store::{Store, StoreError};

/// Why a registration call did not get as far as an answer from the gateway.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("the {0} gateway is not enabled in this daemon")]
    Disabled(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The claimed step could not be worked on (its claim was released).
    #[error("{0:#}")]
    Failed(anyhow::Error),
}

/// What a registration call works with: the store, the gateways, its "now", and how long its
/// claim on the account holds (`billing.lease`).
pub struct Registrar<'a> {
    pub store: &'a Store,
    pub gateways: &'a Gateways,
    pub now: Timestamp,
    pub lease: SignedDuration,
}

/// Either the claimed owed step of the registration, or the account as it is (registered, with
/// the customer, or being worked on by someone else).
pub enum Registering {
    Claimed(Box<ClaimedStep>),
    AsItIs(Box<Account>),
}

impl Registrar<'_> {
    fn lease_until(&self) -> Timestamp {
        self.now + self.lease
    }

    /// A CertiTrade account: a RECURRING payment_account at the gateway, then its initializing
    /// payment, whose link the customer opens to register their card.
    pub async fn certitrade(&self, key: Option<&str>) -> Result<Progress, RegistrationError> {
        if self.gateways.certitrade.is_none() {
            return Err(RegistrationError::Disabled("CertiTrade"));
        }
        let new = NewRegistration {
            id: Uuid::new_v4(),
            credential: Credential::empty(GatewayKind::CertiTrade),
            step: RegistrationStep::GatewayAccount,
            key,
            request: None,
        };
        let registering = self.claim_or_insert(&new).await?;
        self.carry_on(registering, None).await
    }

    /// A Payroc account from card details: the secure token is asked for under an
    /// Idempotency-Key and a secureTokenId stored with the account first, so a lost answer is
    /// replayed by a retry (with the same card) or found by the daemon.
    pub async fn payroc(
        &self,
        key: Option<&str>,
        terminal: &str,
        card: &CardDetails,
    ) -> Result<Progress, RegistrationError> {
        if self.gateways.payroc.is_none() {
            return Err(RegistrationError::Disabled("Payroc"));
        }
        let id = Uuid::new_v4();
        let request = TokenRequest::new(terminal, id).to_stored();
        let new = NewRegistration {
            id,
            credential: Credential::Payroc(PayrocToken {
                terminal_id: Some(terminal.to_owned()),
                ..PayrocToken::default()
            }),
            step: RegistrationStep::SecureToken,
            key,
            request: Some(&request),
        };
        let registering = self.claim_or_insert(&new).await?;
        self.carry_on(registering, Some(card)).await
    }

    /// A new initializing payment on the same CertiTrade payment_account — or, while a step is
    /// still owed to the gateway, that step continued; the account comes back when the customer
    /// completes the payment.
    pub async fn reinitialize_certitrade(&self, id: Uuid) -> Result<Progress, RegistrationError> {
        if self.gateways.certitrade.is_none() {
            return Err(RegistrationError::Disabled("CertiTrade"));
        }
        let claimed = self
            .store
            .begin_reinitialization(id, self.now, self.lease_until())
            .await?;
        let registering = self.or_as_it_is(id, claimed).await?;
        self.carry_on(registering, None).await
    }

    /// A suspended Payroc account re-initialized with card details, or an active one's card
    /// updated with them: the secure token is asked for under a key and secureTokenId stored
    /// first, as at registration; the account comes back (or takes the new card) when Payroc's
    /// answer (or a lookup) gives the token.
    pub async fn reinitialize_payroc(
        &self,
        current: &Account,
        terminal: &str,
        key: Option<&str>,
        refused: RefusedCycles,
        card: &CardDetails,
    ) -> Result<Progress, RegistrationError> {
        if self.gateways.payroc.is_none() {
            return Err(RegistrationError::Disabled("Payroc"));
        }
        // An active account given a new card is a card update: the token made is applied by
        // `reinitialize_with`, which on an active account updates the card.
        if !matches!(
            current.state,
            AccountState::Suspended | AccountState::Active
        ) {
            return Err(StoreError::Conflict(format!(
                "payment account {} is {}; only a suspended account can be re-initialized, or an \
                 active one given a new card",
                current.id, current.state
            ))
            .into());
        }
        let request = TokenRequest::new(terminal, current.id).to_stored();
        let claimed = self
            .store
            .begin_reinitialization_at(
                current.id,
                RegistrationStep::SecureToken,
                key,
                &request,
                refused,
                self.now,
                self.lease_until(),
            )
            .await?;
        let registering = self.or_as_it_is(current.id, claimed).await?;
        self.carry_on(registering, Some(card)).await
    }

    /// The claimed step, or (claimed by someone else) the account as it now is.
    async fn or_as_it_is(
        &self,
        id: Uuid,
        claimed: Option<ClaimedStep>,
    ) -> Result<Registering, StoreError> {
        Ok(match claimed {
            Some(claimed) => Registering::Claimed(Box::new(claimed)),
            None => Registering::AsItIs(Box::new(self.store.account(id).await?)),
        })
    }

    /// The account this call registers: the one an earlier call with the same key created, or
    /// a new one at its first step.
    pub async fn claim_or_insert(
        &self,
        new: &NewRegistration<'_>,
    ) -> Result<Registering, StoreError> {
        let lease_until = self.lease_until();
        // Twice: an insert that lost a race for the key finds the winner's account.
        for _ in 0..2 {
            if let Some(key) = new.key
                && let Some(existing) = self.store.account_by_registration_key(key).await?
            {
                let claimed = self
                    .store
                    .claim_registration_step(existing.id, self.now, lease_until)
                    .await?;
                return Ok(match claimed {
                    Some(claimed) => Registering::Claimed(Box::new(claimed)),
                    None => Registering::AsItIs(Box::new(existing)),
                });
            }
            if let Some(claimed) = self
                .store
                .insert_registering(new, self.now, lease_until)
                .await?
            {
                return Ok(Registering::Claimed(Box::new(claimed)));
            }
        }
        Err(StoreError::Conflict(
            "a registration with this Idempotency-Key is being changed concurrently; retry shortly"
                .into(),
        ))
    }

    /// Works on the claimed step (and those after it) and releases the claim if that fails.
    /// `card`: the card details of this call, for a Payroc secure token.
    pub async fn carry_on(
        &self,
        registering: Registering,
        card: Option<&CardDetails>,
    ) -> Result<Progress, RegistrationError> {
        let claimed = match registering {
            Registering::Claimed(claimed) => claimed,
            Registering::AsItIs(account) => return Ok(Progress::Account(account)),
        };
        let id = claimed.account.id;
        match advance(self.store, self.gateways, *claimed, card, self.now).await {
            Ok(progress) => Ok(progress),
            Err(e) => {
                let _ = self.store.release_registration(id).await;
                Err(RegistrationError::Failed(e))
            }
        }
    }
}
