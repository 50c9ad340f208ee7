//! A charge: every request sent for it (`charge_attempts`: one row per send, resends of one
//! attempt under the same key) with the gateway's answer, the idempotency keys and timings.
//! The request bodies are not shown: a Payroc sale carries the secure token.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use uuid::Uuid;

use super::super::Console;
use super::super::format;
use super::super::render::{self, Layout};
use super::super::signed_in::Session;
use crate::store::StoreError;
use crate::store::charges::ChargeAttempt;

pub struct AttemptRow {
    pub attempt: i32,
    pub send: i32,
    pub key: String,
    pub order_id: String,
    pub sequence: String,
    pub sent: String,
    pub took: String,
    pub http: String,
    pub outcome: String,
    pub answer: String,
    pub payment: String,
}

#[derive(Template)]
#[template(path = "console/charge.html")]
struct ChargePage {
    layout: Layout,
    id: Uuid,
    subscription_id: Uuid,
    account_id: Uuid,
    status: String,
    /// A failed charge offers a retry (the API decides whether it may go out).
    retryable: bool,
    amount: String,
    cycle: i32,
    due: String,
    key: String,
    order_id: String,
    sequence: String,
    attempt_no: i32,
    next_attempt: String,
    settled: String,
    outcome: String,
    reason: String,
    payment: String,
    attempts: Vec<AttemptRow>,
}

pub async fn page(State(c): State<Console>, session: Session, Path(id): Path<String>) -> Response {
    render::record_page(&c, &session, &id, "No such charge.", async |id| {
        load(&c, &session, id).await
    })
    .await
}

fn attempt_row(a: ChargeAttempt, zone: &str) -> AttemptRow {
    let took = a
        .finished_at
        .map(|f| format!("{} ms", (f - a.sent_at).num_milliseconds()))
        .unwrap_or_else(|| "no answer recorded".into());
    let answer = [
        a.answer.status.map(|s| format!("status {s}")),
        a.answer.response_code.map(|s| format!("code {s}")),
        a.answer
            .processor_response_code
            .map(|s| format!("processor {s}")),
        a.answer.response_message,
        a.answer.approval_code.map(|s| format!("approval {s}")),
        a.answer.error.map(|e| format!("error: {e}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    AttemptRow {
        attempt: a.attempt_no,
        send: a.send_no,
        key: a.idempotency_key.to_string(),
        order_id: a.order_id,
        sequence: a.sequence,
        sent: format::both(a.sent_at, zone),
        took,
        http: format::opt(a.http_status),
        outcome: format::opt(a.outcome),
        answer: if answer.is_empty() {
            "—".into()
        } else {
            answer
        },
        payment: format::opt(a.answer.payment_id),
    }
}

async fn load(c: &Console, session: &Session, id: Uuid) -> Result<ChargePage, StoreError> {
    let store = &c.api.store;
    let ch = store.charge(id).await?;
    let zone = store.subscription(ch.subscription_id).await?.time_zone;
    let attempts = store.charge_attempts(id).await?;
    Ok(ChargePage {
        layout: Layout::new(c, Some(session), format!("Charge {id}")),
        id,
        subscription_id: ch.subscription_id,
        account_id: ch.account_id,
        status: ch.status.to_string(),
        retryable: ch.status == crate::domain::states::ChargeStatus::Failed,
        amount: format::money(ch.amount_minor, &ch.currency),
        cycle: ch.cycle,
        due: format::both(ch.due_at, &zone),
        key: ch.idempotency_key.to_string(),
        order_id: ch.order_id,
        sequence: format!(
            "{} · {}",
            format::opt(ch.sequence),
            ch.terms.processing_model
        ),
        attempt_no: ch.attempt_no,
        next_attempt: format::both(ch.next_attempt_at, &zone),
        settled: ch
            .settled_at
            .map(|at| format::both(at, &zone))
            .unwrap_or_else(|| "—".into()),
        outcome: format::opt(ch.last_outcome),
        reason: format::opt(ch.failure_reason),
        payment: format::opt(ch.gateway_payment_id),
        attempts: attempts
            .into_iter()
            .map(|a| attempt_row(a, &zone))
            .collect(),
    })
}
