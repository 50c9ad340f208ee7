//! What the API shows of stored rows: amounts in minor units, timestamps RFC 3339, tokens
//! masked. One view per resource, shared by every route that returns it.

use crate::domain::credential::Credential;
use crate::domain::states::AccountState;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::gateway::reinitialization_needed;
use crate::store::accounts::{Account, AccountEvent, mask_token};
use crate::store::charges::{Charge, ChargeAttempt};
use crate::store::subscriptions::Subscription;

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: Uuid,
    /// `payroc` | `certitrade`
    pub gateway: String,
    /// `initializing` | `active` | `suspended` | `closed`
    pub state: String,
    pub processing_terminal_id: Option<String>,
    pub secure_token_id: Option<String>,
    /// The gateway token with all but its last four characters hidden.
    pub token_masked: Option<String>,
    pub card_masked: Option<String>,
    /// MMYY
    pub card_expiry: Option<String>,
    pub suspended_at: Option<DateTime<Utc>>,
    pub suspension_reason: Option<String>,
    /// While suspended: what the customer must do to bring the account back.
    pub reinitialization: Option<ReinitializationView>,
    /// CertiTrade: the gateway's payment_account id.
    pub certitrade_payment_account_id: Option<String>,
    /// A (re-)initializing payment waiting for the customer: give them `link`.
    pub initialization: Option<InitializationView>,
    /// A registration step owed to the gateway, whose answer was lost (answered with 202).
    pub registration: Option<RegistrationView>,
    /// Suspensions and re-initializations, oldest first (on single-account reads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<AccountEventView>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A subscription's stored-credential series: the agreement's first payment, which every later
/// payment of the subscription refers to.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesView {
    /// The gateway's id of the first payment.
    pub payment_id: String,
    /// The card network's reference for the first payment, when the gateway gave one.
    pub scheme_reference: Option<String>,
    /// `recurring` | `installment`: every payment of the series is sent with this model.
    pub processing_model: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReinitializationView {
    pub needed: String,
    /// `POST /v1/accounts/{id}/reinitialize` with a new secure token or card.
    pub how: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InitializationView {
    /// The gateway's payment window, where the customer registers their card.
    pub link: String,
    pub payment_id: Option<String>,
    pub requested_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegistrationView {
    /// `gateway_account` (CertiTrade's payment_account) | `initializing_payment` (CertiTrade)
    /// | `secure_token` (Payroc)
    pub pending_step: String,
    /// Since when the step's outcome has been unknown.
    pub unknown_since: Option<DateTime<Utc>>,
    /// What the gateway (or the network) answered last.
    pub last_error: Option<String>,
    /// How the step completes.
    pub completes: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountEventView {
    pub kind: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
}

impl AccountView {
    pub fn of(a: Account, history: Option<Vec<AccountEvent>>) -> Self {
        let reinitialization = (a.state == AccountState::Suspended).then(|| ReinitializationView {
            needed: reinitialization_needed(a.gateway).to_owned(),
            how: format!("POST /v1/accounts/{}/reinitialize", a.id),
        });
        let initialization = a.init_link.clone().map(|link| InitializationView {
            link,
            payment_id: a.init_payment_id.clone(),
            requested_at: a.init_requested_at,
        });
        let registration = a.registration_step.is_pending().then(|| RegistrationView {
            pending_step: a.registration_step.as_str().to_owned(),
            unknown_since: a.registration_unknown_since,
            last_error: a.registration_error.clone(),
            completes: "by the daemon's next billing run, or by a retry of the call with the same \
                        Idempotency-Key: the stored request is resent or what it made is looked up"
                .to_owned(),
        });
        let shown = CredentialFields::of(&a.credential);
        AccountView {
            id: a.id,
            registration,
            token_masked: a.credential.secret().map(mask_token),
            certitrade_payment_account_id: shown.payment_account,
            initialization,
            gateway: a.gateway.to_string(),
            state: a.state.to_string(),
            processing_terminal_id: shown.terminal_id,
            secure_token_id: shown.secure_token_id,
            card_masked: a.card_masked,
            card_expiry: a.card_expiry,
            suspended_at: a.suspended_at,
            suspension_reason: a.suspension_reason,
            reinitialization,
            history: history.map(|h| {
                h.into_iter()
                    .map(|e| AccountEventView {
                        kind: e.kind,
                        detail: e.detail,
                        occurred_at: e.occurred_at,
                    })
                    .collect()
            }),
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// The API's fields for a credential (their names are the public API's), one gateway's filled.
#[derive(Default)]
struct CredentialFields {
    terminal_id: Option<String>,
    secure_token_id: Option<String>,
    payment_account: Option<String>,
}

impl CredentialFields {
    fn of(c: &Credential) -> Self {
        match c.clone() {
            Credential::Payroc(t) => CredentialFields {
                terminal_id: t.terminal_id,
                secure_token_id: t.secure_token_id,
                ..Default::default()
            },
            Credential::CertiTrade(a) => CredentialFields {
                payment_account: a.payment_account,
                ..Default::default()
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleView {
    /// Local date-time of cycle 1 in `time_zone`.
    pub anchor: String,
    pub time_zone: String,
    /// `day` | `week` | `month` | `year`
    pub interval: String,
    pub interval_count: i32,
    /// Set for installment plans.
    pub total_cycles: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionView {
    pub id: Uuid,
    pub account_id: Uuid,
    /// Minor units of `currency`; applies to cycles not yet materialized.
    pub amount: i64,
    pub currency: String,
    pub schedule: ScheduleView,
    /// `active` | `paused` | `past_due` | `held` (account suspended) | `completed` | `cancelled`
    pub status: String,
    /// The next cycle to bill (1 = the anchor).
    pub next_cycle: i32,
    /// When it falls due; absent when nothing more will be billed.
    pub next_due_at: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub paused_at: Option<DateTime<Utc>>,
    pub merchant_reference: Option<String>,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// The subscription's stored-credential series; null until its first payment is approved,
    /// and again after the account is re-initialized (the next charge opens a new series).
    pub series: Option<SeriesView>,
    /// When the series was last closed by a re-initialization of the account.
    pub series_closed_at: Option<DateTime<Utc>>,
    /// Its own catch-up after downtime or a suspension (`all` | `latest`); null: the daemon's
    /// `billing.catch_up`.
    #[schema(value_type = Option<String>)]
    pub catch_up: Option<crate::domain::materialize::CatchUp>,
    /// Its own cap on the missed cycles charged under `all`; null: the daemon's.
    pub catch_up_max_cycles: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Subscription> for SubscriptionView {
    fn from(s: Subscription) -> Self {
        SubscriptionView {
            id: s.id,
            account_id: s.account_id,
            amount: s.amount_minor,
            currency: s.currency,
            schedule: ScheduleView {
                anchor: crate::store::from_db_local(s.anchor_local).to_string(),
                time_zone: s.time_zone,
                interval: s.interval_unit,
                interval_count: s.interval_count,
                total_cycles: s.total_cycles,
            },
            status: s.status.to_string(),
            next_cycle: s.next_cycle,
            next_due_at: s.next_due_at,
            cancel_at_period_end: s.cancel_at_period_end,
            cancelled_at: s.cancelled_at,
            paused_at: s.paused_at,
            merchant_reference: s.merchant_reference,
            metadata: s.metadata,
            series: s.series_payment_id.map(|payment_id| SeriesView {
                payment_id,
                scheme_reference: s.series_scheme_reference,
                processing_model: s.series_processing_model.unwrap_or_default(),
            }),
            series_closed_at: s.series_closed_at,
            catch_up: s.catch_up.0,
            catch_up_max_cycles: s.catch_up_max_cycles,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChargeDetail {
    pub charge: Charge,
    /// Every request sent for this charge, in order (resends of one attempt share its key).
    pub attempts: Vec<ChargeAttempt>,
}
