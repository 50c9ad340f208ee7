//! An account: its state, the card as its last four digits, its history as a timeline
//! (suspensions, re-initialization requests with the link to copy, reactivations), its
//! subscriptions and charges. The gateway token is never shown.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::super::Console;
use super::super::format;
use super::super::render::{self, Layout};
use super::super::signed_in::Session;
use super::ChargeRow;
use crate::domain::states::{AccountState, GatewayKind};
use crate::store::StoreError;
use crate::store::accounts::{AccountEvent, reinitialization_needed};

pub struct EventRow {
    pub kind: String,
    pub at: String,
    pub detail: Vec<(String, String)>,
}

pub struct SubscriptionRow {
    pub id: Uuid,
    pub status: String,
    pub amount: String,
    pub schedule: String,
    pub next_due: String,
    pub reference: String,
}

#[derive(Template)]
#[template(path = "console/account.html")]
struct AccountPage {
    layout: Layout,
    id: Uuid,
    gateway: String,
    state: String,
    card: String,
    card_expiry: String,
    suspended: String,
    reason: String,
    link: Option<String>,
    link_requested: String,
    needed: Option<&'static str>,
    can_suspend: bool,
    can_request_link: bool,
    created: String,
    events: Vec<EventRow>,
    subscriptions: Vec<SubscriptionRow>,
    charges: Vec<ChargeRow>,
}

pub async fn page(State(c): State<Console>, session: Session, Path(id): Path<String>) -> Response {
    render::record_page(&c, &session, &id, "No such account.", async |id| {
        load(&c, &session, id).await
    })
    .await
}

async fn load(c: &Console, session: &Session, id: Uuid) -> Result<AccountPage, StoreError> {
    let store = &c.api.store;
    let a = store.account(id).await?;
    let events = store.account_events(id).await?;
    let subscriptions = store.subscriptions_of(id).await?;
    let suspended = a.state == AccountState::Suspended;
    Ok(AccountPage {
        layout: Layout::new(c, Some(session), format!("Account {id}")),
        id,
        gateway: a.gateway.to_string(),
        state: a.state.to_string(),
        card: format::last_four(a.card_masked.as_deref()),
        card_expiry: format::opt(a.card_expiry.as_deref()),
        suspended: format::utc_opt(a.suspended_at),
        reason: format::opt(a.suspension_reason.as_deref()),
        link: a.init_link.clone(),
        link_requested: format::utc_opt(a.init_requested_at),
        needed: suspended.then(|| reinitialization_needed(a.gateway)),
        can_suspend: a.state == AccountState::Active,
        can_request_link: suspended
            && a.gateway == GatewayKind::CertiTrade
            && a.init_link.is_none(),
        created: format::utc(a.created_at),
        events: events.into_iter().rev().map(event_row).collect(),
        subscriptions: subscriptions
            .into_iter()
            .map(|s| SubscriptionRow {
                id: s.id,
                status: s.status.to_string(),
                amount: format::money(s.amount_minor, &s.currency),
                schedule: format!(
                    "every {} {}(s), {}",
                    s.interval_count, s.interval_unit, s.time_zone
                ),
                next_due: s
                    .next_due_at
                    .map(|at| format::both(at, &s.time_zone))
                    .unwrap_or_else(|| "—".into()),
                reference: format::opt(s.merchant_reference.as_deref()),
            })
            .collect(),
        charges: charges(c, id).await?,
    })
}

/// The event's details as label/value pairs; anything named like a token is left out.
fn event_row(e: AccountEvent) -> EventRow {
    let detail = match e.detail {
        serde_json::Value::Object(map) => map
            .into_iter()
            .filter(|(k, _)| !k.contains("token") && !k.contains("secret"))
            .map(|(k, v)| {
                let text = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k.replace('_', " "), text)
            })
            .collect(),
        _ => Vec::new(),
    };
    EventRow {
        kind: e.kind,
        at: format::utc(e.occurred_at),
        detail,
    }
}

async fn charges(c: &Console, account: Uuid) -> Result<Vec<ChargeRow>, StoreError> {
    type Row = (
        Uuid,
        i32,
        DateTime<Utc>,
        i64,
        String,
        String,
        i32,
        Option<String>,
        String,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT c.id, c.cycle, c.due_at, c.amount_minor, c.currency, c.status, c.attempt_no, \
         c.last_outcome, s.time_zone FROM charges c JOIN subscriptions s ON s.id = c.subscription_id \
         WHERE c.account_id = $1 ORDER BY c.due_at DESC, c.id LIMIT 100",
    )
    .bind(account)
    .fetch_all(c.api.store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, cycle, due, amount, currency, status, attempts, outcome, zone)| ChargeRow {
                id,
                cycle,
                due: format::both(due, &zone),
                amount: format::money(amount, &currency),
                status,
                attempts,
                outcome: format::opt(outcome),
            },
        )
        .collect())
}
