//! `POST /certitrade/callback`: CertiTrade tells billingd that a customer finished the payment
//! window. The form's `sha256code` proves it came from CertiTrade; the payment is then read
//! back from the API (the callback alone is not trusted for the outcome) and settled.

use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::ApiState;
use crate::billing::initialization::{Settled, settle};
use crate::gateway::certitrade::sign::{callback_code, codes_match};

pub fn routes() -> Router<ApiState> {
    Router::new().route("/certitrade/callback", post(certitrade_callback))
}

#[derive(Deserialize)]
struct Callback {
    paymentid: String,
    merchantid: String,
    function: String,
    #[serde(default)]
    description: String,
    timestamp: String,
    sha256code: String,
}

async fn certitrade_callback(
    State(state): State<ApiState>,
    Form(cb): Form<Callback>,
) -> impl IntoResponse {
    let Some(client) = state.gateways.certitrade.as_ref() else {
        return (StatusCode::NOT_FOUND, "CertiTrade is not enabled").into_response();
    };
    // During a key rotation the callback may be signed with the old key or the new one.
    let signed = client.api_keys().iter().any(|key| {
        let expected = callback_code(
            key.expose_secret(),
            &cb.paymentid,
            &cb.merchantid,
            &cb.function,
            &cb.description,
            &cb.timestamp,
        );
        codes_match(&cb.sha256code, &expected)
    });
    if cb.merchantid != client.merchant_id().to_string() || !signed {
        tracing::warn!(payment_id = %cb.paymentid, "CertiTrade callback with a wrong sha256code refused");
        return (StatusCode::FORBIDDEN, "sha256code does not match").into_response();
    }
    match settle(
        &state.store,
        &state.gateways,
        &cb.paymentid,
        state.settings.billing.refused_cycles,
        state.clock.now(),
    )
    .await
    {
        Ok(settled) => {
            tracing::info!(payment_id = %cb.paymentid, function = %cb.function, settled = ?matches!(settled, Settled::Completed(_)),
                "CertiTrade callback handled");
            (StatusCode::OK, "OK").into_response()
        }
        Err(e) => {
            // 503: CertiTrade (or the poll) tries again; nothing was changed.
            tracing::warn!(payment_id = %cb.paymentid, error = %e, "CertiTrade callback could not be settled yet");
            (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
        }
    }
}
