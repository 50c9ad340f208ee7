//! `POST /payments`: the order of checks here is the contract billingd's
//! tests rely on (auth → armed fault → Idempotency-Key → in flight/replay/409 →
//! validation → amount transport trigger → outcome).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use uuid::Uuid;

use super::super::faults::Fault;
use super::super::idempotency::{self, Previous, Scope};
use super::super::ledger::LedgerEntry;
use super::super::reply::{Delivery, Reply, deliver, html_server_error};
use super::super::request_log::Arrival;
use super::super::state::PayrocState;
use super::outcome::{self, Outcome, Transport};
use super::record::Payment;
use super::request::{self, SaleRequest};

/// What the simulator decided to answer, before delivery.
enum Decided {
    Answer {
        reply: Reply,
        result: &'static str,
        transport: Transport,
    },
    /// The …96 trigger: a 500 that did not process (and is not remembered).
    Unprocessed,
}

impl Decided {
    fn answer(reply: Reply, result: &'static str) -> Self {
        Decided::Answer {
            reply,
            result,
            transport: Transport::Normal,
        }
    }
}

pub async fn create(
    State(state): State<Arc<PayrocState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // A gateway finishes a request it has received even when the client stops waiting (a
    // timeout, a dropped connection): the work runs in a task of its own, which the closing
    // connection does not cancel.
    tokio::spawn(handle(state, headers, body))
        .await
        .unwrap_or_else(|_| html_server_error())
}

async fn handle(state: Arc<PayrocState>, headers: HeaderMap, body: Bytes) -> Response {
    let raw_key = headers
        .get(idempotency::HEADER)
        .and_then(|v| v.to_str().ok());
    let entry = Arrival::new(raw_key, &body);

    if let Err(problem) = state.auth.check(&headers) {
        state.requests.record(entry, 401, "unauthorized");
        return problem.into_response();
    }
    let mut answer_after = None;
    let mut hold = None;
    let mut delivery = match state.faults.take() {
        Some(Fault::Fail) => {
            state.requests.record(entry, 500, "server_error");
            return html_server_error();
        }
        Some(Fault::Drop) => Delivery::Drop,
        Some(Fault::Garbage) => Delivery::Garbage,
        Some(Fault::Slow(delay)) => {
            answer_after = Some(delay);
            Delivery::Normal
        }
        Some(Fault::Timeout(delay)) => {
            // Held while being processed, with its key taken: a client with a shorter timeout
            // resends meanwhile and gets 409 (key in use); this one completes anyway.
            hold = Some(delay);
            Delivery::Normal
        }
        None => Delivery::Normal,
    };

    let (reply, mut result, transport) = match decide(&state, &headers, &body, hold).await {
        Decided::Unprocessed => {
            state.requests.record(entry, 500, "server_error");
            return html_server_error();
        }
        Decided::Answer {
            reply,
            result,
            transport,
        } => (reply, result, transport),
    };
    if transport == Transport::DropFirstAttempt {
        delivery = Delivery::Drop;
    }
    if delivery == Delivery::Drop {
        result = "dropped";
    }
    state.requests.record(entry, reply.status.as_u16(), result);
    if transport == Transport::Slow {
        // The sale is already booked and the key released: a client that
        // times out and resends gets the replay straight away.
        tokio::time::sleep(state.slow_delay).await;
    }
    if let Some(delay) = answer_after {
        tokio::time::sleep(delay).await;
    }
    deliver(reply, delivery)
}

async fn decide(
    state: &PayrocState,
    headers: &HeaderMap,
    body: &[u8],
    hold: Option<std::time::Duration>,
) -> Decided {
    let key = match idempotency::key_from_headers(headers) {
        Ok(key) => key,
        Err(problem) => return Decided::answer(problem.into_reply(), "bad_request"),
    };
    let hash = idempotency::body_hash(body);
    let mut slot = match state.idempotency.try_lock(Scope::Payments, key) {
        Ok(slot) => slot,
        Err(in_flight) => return Decided::answer(in_flight.into_reply(), "in_flight"),
    };
    match slot.previous(&hash) {
        Some(Previous::Replay(reply)) => return Decided::answer(reply, "replayed"),
        Some(Previous::Conflict(problem)) => {
            return Decided::answer(problem.into_reply(), "conflict");
        }
        None => {}
    }
    let sale = match request::parse(body, state) {
        Ok(sale) => sale,
        Err(problem) => {
            let reply = problem.into_reply();
            slot.remember(hash, reply.clone());
            return Decided::answer(reply, "bad_request");
        }
    };
    let transport = outcome::transport_for(sale.amount);
    if transport == Transport::FailFirstAttempt && !slot.failed_once {
        slot.failed_once = true;
        return Decided::Unprocessed;
    }
    // The key stays taken while the sale is processed: a resend meanwhile gets 409.
    let processing = match transport {
        Transport::SlowProcessing => Some(state.slow_delay),
        _ => hold,
    };
    if let Some(delay) = processing {
        tokio::time::sleep(delay).await;
    }
    let (payment, outcome) = book(state, key, &sale);
    let reply = Reply::new(
        StatusCode::CREATED,
        "application/json",
        payment.to_json_bytes(state.result_field).into(),
    );
    slot.remember(hash, reply.clone());
    Decided::Answer {
        reply,
        result: outcome.label(),
        transport,
    }
}

/// Authorises the sale and writes the payment (and ledger entry if charged).
fn book(state: &PayrocState, key: Uuid, sale: &SaleRequest) -> (Payment, Outcome) {
    let (token_use, token) = state
        .tokens
        .begin_sale(&sale.token)
        .expect("validated tokens exist; tokens are never deleted");
    let outcome = outcome::decide(token_use, sale.amount);
    let payment = state.payments.create(outcome, |id| {
        Payment::new(id, sale, &token, outcome, state.clock.now_rfc3339())
    });
    if outcome.charges() {
        state.ledger.record(LedgerEntry {
            payment_id: payment.payment_id.clone(),
            order_id: sale.order_id.clone(),
            idempotency_key: key.to_string(),
            amount: sale.amount,
            currency: sale.currency.clone(),
            token: sale.token.clone(),
            processing_terminal_id: sale.processing_terminal_id.clone(),
            sequence: sale.sequence.clone(),
            processing_model: sale.processing_model.clone(),
            first_payment_id: sale.first_payment_id.clone(),
            card_scheme_reference_id: sale.card_scheme_reference_id.clone(),
            at: payment.order.date_time.clone(),
        });
    }
    tracing::info!(
        payment_id = %payment.payment_id,
        order_id = %sale.order_id,
        amount = sale.amount,
        sequence = %sale.sequence,
        result = outcome.label(),
        "payroc: sale processed"
    );
    (payment, outcome)
}
