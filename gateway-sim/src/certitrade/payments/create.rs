//! `POST /payment`. The order of checks is the contract billingd's tests rely
//! on: Date and signature → body is JSON with a usable `message_id` → replay
//! of `(Date, message_id)` → field validation → account checks → amount
//! trigger …96 → processing → trigger …99 on the way out.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use super::super::accounts::AccountState;
use super::super::auth;
use super::super::hal::{self, Origin};
use super::super::idempotency::Scope;
use super::super::lenient;
use super::super::problem::Problem;
use super::super::request_log::Arrival;
use super::super::state::CertiTradeState;
use super::outcome;
use super::record::{Payment, PaymentState};
use super::request::{self, PaymentRequest};
use crate::support::chaos::RandomFault;
use crate::support::reply::{Reply, dropped};

/// What the simulator decided to answer, before delivery.
struct Decided {
    reply: Reply,
    result: &'static str,
    /// Remembered for a resend with the same `(Date, message_id)`; false for
    /// the …96 failure, which by design did not happen as far as the books go.
    storable: bool,
    /// The …99 trigger: booked, but the answer dies in transit.
    drop: bool,
}

impl Decided {
    fn answer(reply: Reply, result: &'static str) -> Self {
        Decided {
            reply,
            result,
            storable: true,
            drop: false,
        }
    }

    fn problem(problem: Problem) -> Self {
        Decided::answer(problem.into_reply(), "bad_request")
    }
}

pub async fn create(
    State(state): State<Arc<CertiTradeState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // A gateway finishes a request it has received even when the client stops waiting (a
    // timeout, a dropped connection): the work runs in a task of its own, which the closing
    // connection does not cancel.
    tokio::spawn(handle(state, method, uri, headers, body))
        .await
        .unwrap_or_else(|_| {
            Problem::server_error("the simulator failed while processing the request")
                .into_response()
        })
}

async fn handle(
    state: Arc<CertiTradeState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let entry = Arrival::new(&headers, &body);
    let date = match auth::verify(&state, &method, &uri, &headers, &body) {
        Ok(date) => date,
        Err(problem) => {
            state
                .requests
                .record(entry, problem.http_status, "unauthorized");
            return problem.into_response();
        }
    };
    let mut answer_after = None;
    let mut drop_answer = false;
    match state.faults.take_payment() {
        Some(RandomFault::Fail) => {
            state.requests.record(entry, 500, "server_error");
            return Problem::server_error("Simulated server error; the request was not processed")
                .into_response();
        }
        Some(RandomFault::Drop) => drop_answer = true,
        Some(RandomFault::Slow(delay)) => answer_after = Some(delay),
        // Held before processing (and before its (Date, message_id) slot is taken): a
        // client's resend may be processed first; this one then replays it.
        Some(RandomFault::Timeout(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }
    let origin = Origin::from_headers(&headers);
    let decided = match lenient::object(&body).and_then(|root| {
        let message_id = lenient::message_id(&root)?;
        Ok((root, message_id))
    }) {
        Err(problem) => Decided::problem(problem),
        Ok((root, None)) => decide(&state, &root, &date, None, &origin),
        Ok((root, Some(message_id))) => {
            let mut slot = state
                .messages
                .lock(Scope::Payment, &date, &message_id)
                .await;
            match slot.previous() {
                Some(reply) => Decided::answer(reply, "replayed"),
                None => {
                    let decided = decide(&state, &root, &date, Some(message_id), &origin);
                    if decided.storable {
                        slot.remember(decided.reply.clone());
                    }
                    decided
                }
            }
        }
    };
    let status = decided.reply.status.as_u16();
    if let Some(delay) = answer_after {
        tokio::time::sleep(delay).await;
    }
    if decided.drop || drop_answer {
        state.requests.record(entry, status, "dropped");
        return dropped(decided.reply);
    }
    state.requests.record(entry, status, decided.result);
    decided.reply.into_response()
}

fn decide(
    state: &CertiTradeState,
    root: &Value,
    date: &str,
    message_id: Option<String>,
    origin: &Origin,
) -> Decided {
    let request = match request::parse(root, message_id) {
        Ok(request) => request,
        Err(problem) => return Decided::problem(problem),
    };
    let trigger = request.amount % 100;
    let message_id = request.message_id.as_deref();
    if trigger == 96 && state.messages.first_trip(date, message_id) {
        // Checked after validation so a bad body cannot use up the trigger.
        let problem = Problem::server_error(
            "Simulated server error (amount trigger …96); the request was not processed",
        );
        return Decided {
            storable: false,
            ..Decided::answer(problem.into_reply(), "server_error")
        };
    }
    let (payment, result) = match book(state, &request) {
        Ok(booked) => booked,
        Err(problem) => return Decided::problem(problem),
    };
    let reply = Reply::new(
        StatusCode::CREATED,
        hal::CONTENT_TYPE,
        payment.to_json_bytes(&state.merchant(), origin).into(),
    );
    Decided {
        drop: trigger == 99 && state.messages.first_trip(date, message_id),
        ..Decided::answer(reply, result)
    }
}

/// Creates the payment: `CREATED` for an initializing one (the payment
/// window decides it later), settled at once for a subsequent charge.
fn book(
    state: &CertiTradeState,
    request: &PaymentRequest,
) -> Result<(Payment, &'static str), Problem> {
    let account_id = &request.payment_account;
    let unknown = || {
        Problem::bad_request(format!(
            "data.RECURRING.payment_account {account_id} does not exist"
        ))
    };
    if request.initialize {
        let account = state.accounts.get(account_id).ok_or_else(unknown)?;
        if account.state == AccountState::Closed {
            return Err(Problem::bad_request(format!(
                "data.RECURRING.payment_account {account_id} is CLOSED and cannot be initialized again"
            )));
        }
        let payment = state.payments.create(|id| {
            Payment::new(id, request, PaymentState::Created, state.clock.now_spaced())
        });
        tracing::info!(payment_id = %payment.id, payment_account = %account_id, "certitrade: initializing payment created");
        return Ok((payment, "created"));
    }
    let (charge, attempt) = state
        .accounts
        .update(account_id, |account| {
            outcome::decide(account, request.amount).map(|charge| (charge, charge.attempt(account)))
        })
        .ok_or_else(unknown)??;
    let payment = state.payments.create(|id| {
        let mut payment =
            Payment::new(id, request, PaymentState::Created, state.clock.now_spaced());
        payment.settle(attempt);
        payment
    });
    if charge == outcome::Charge::Approved {
        state.ledger.record(&payment);
    }
    tracing::info!(
        payment_id = %payment.id,
        payment_account = %account_id,
        amount = request.amount,
        result = charge.label(),
        "certitrade: recurring charge processed"
    );
    Ok((payment, charge.label()))
}
