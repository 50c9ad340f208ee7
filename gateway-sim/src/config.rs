//! Simulator configuration shared by the library entry point and the binary.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Name of the outcome object inside a Payroc payment.
///
/// The OpenAPI-generated SDKs use `transactionResult`; the "use your own
/// software" guide's example uses `paymentResult`. Making it switchable lets
/// billingd prove it copes with either spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResultField {
    #[default]
    TransactionResult,
    PaymentResult,
}

impl ResultField {
    /// JSON key used for the outcome object.
    pub fn json_key(self) -> &'static str {
        match self {
            ResultField::TransactionResult => "transactionResult",
            ResultField::PaymentResult => "paymentResult",
        }
    }
}

impl fmt::Display for ResultField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json_key())
    }
}

impl FromStr for ResultField {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "transactionResult" => Ok(ResultField::TransactionResult),
            "paymentResult" => Ok(ResultField::PaymentResult),
            other => Err(format!(
                "unknown result field {other:?}; expected transactionResult or paymentResult"
            )),
        }
    }
}

/// Knobs for one simulator instance.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// API keys accepted by `POST /payroc-identity/authorize`.
    pub payroc_api_keys: Vec<String>,
    /// Lifetime of issued bearer tokens (`expires_in`).
    pub token_ttl: Duration,
    /// How long the "slow" amount triggers hold the response (…97) or the processing (…95).
    pub slow_delay: Duration,
    /// Key of the outcome object in payment responses.
    pub result_field: ResultField,
    /// The one CertiTrade merchant the simulator knows (`m<id>` in
    /// `Authorization`, `merchant` in resources, `merchantid` in callbacks).
    pub certitrade_merchant_id: u32,
    /// Shared secret for request signatures and callback `sha256code`s.
    pub certitrade_api_key: String,
    /// How far a request's `Date` header may be from the simulator's clock.
    /// CertiTrade does not publish its tolerance; five minutes is a guess.
    pub certitrade_date_skew: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            payroc_api_keys: vec!["sim-payroc-key".into()],
            token_ttl: Duration::from_secs(3600),
            slow_delay: Duration::from_secs(3),
            result_field: ResultField::TransactionResult,
            certitrade_merchant_id: 1234,
            certitrade_api_key: "sim-certitrade-key".into(),
            certitrade_date_skew: Duration::from_secs(300),
        }
    }
}
