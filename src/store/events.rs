//! The `data` of each event, built in one place so every emission point says the same thing the
//! same way: ids, amounts in minor units with their currency, cycles, outcomes and reasons —
//! never a token, card data or a gateway request body.

use crate::domain::states::GatewayKind;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::config::RefusedCycles;
use crate::domain::charge::ClaimedCharge;
use crate::gateway::GatewayAnswer;
use crate::gateway::reinitialization_needed;

/// `charge.approved`, `charge.declined`, `charge.failed`: the charge and the gateway's answer.
/// `attempt` is the attempt the answer is about (a retry after a decline is a new attempt).
/// Typed rather than a `Value`: the recorder serializes thousands a second, straight to text.
#[derive(serde::Serialize)]
pub struct ChargeData<'a> {
    charge_id: Uuid,
    subscription_id: Uuid,
    account_id: Uuid,
    cycle: i32,
    due_at: chrono::DateTime<chrono::Utc>,
    amount: i64,
    currency: &'a str,
    attempt: i32,
    sequence: Option<&'a str>,
    processing_model: &'a str,
    gateway: GatewayKind,
    outcome: &'static str,
    reason: Option<&'a str>,
    gateway_payment_id: Option<&'a str>,
    processor_response_code: Option<&'a str>,
}

pub fn charge_data<'a>(
    c: &'a ClaimedCharge,
    a: &'a GatewayAnswer,
    reason: Option<&'a str>,
) -> ChargeData<'a> {
    ChargeData {
        charge_id: c.id,
        subscription_id: c.subscription_id,
        account_id: c.account_id,
        cycle: c.cycle,
        due_at: c.due_at,
        amount: c.amount_minor,
        currency: &c.currency,
        attempt: c.attempt_no,
        sequence: c.sequence.as_deref(),
        processing_model: &c.processing_model,
        gateway: c.gateway,
        outcome: a.outcome.as_str(),
        reason,
        gateway_payment_id: a.payment_id.as_deref(),
        processor_response_code: a.processor_response_code.as_deref(),
    }
}

/// `charge_data` as a document, for the events that add to it.
pub fn charge(c: &ClaimedCharge, a: &GatewayAnswer, reason: Option<&str>) -> Value {
    serde_json::to_value(charge_data(c, a, reason)).expect("a charge event serializes")
}

/// `subscription.completed` (its last installment approved) and `subscription.past_due` (a
/// charge failed; nothing more is billed until the merchant resumes it).
pub fn subscription(c: &ClaimedCharge, reason: Option<&str>) -> Value {
    json!({
        "subscription_id": c.subscription_id,
        "account_id": c.account_id,
        "charge_id": c.id,
        "cycle": c.cycle,
        "amount": c.amount_minor,
        "currency": c.currency,
        "reason": reason,
    })
}

/// Why an account was suspended: the gateway said the card account is gone, or the merchant
/// asked.
#[derive(Debug, Clone, Copy)]
pub enum SuspendedBy {
    Gateway,
    Merchant,
}

/// `account.suspended`. `charge` is the charge whose answer terminated the account, if any.
pub fn account_suspended(
    account_id: Uuid,
    gateway: GatewayKind,
    by: SuspendedBy,
    reason: &str,
    subscriptions_held: u64,
    charge: Option<(&ClaimedCharge, &GatewayAnswer)>,
) -> Value {
    json!({
        "account_id": account_id,
        "gateway": gateway,
        "suspended_by": match by { SuspendedBy::Gateway => "gateway", SuspendedBy::Merchant => "merchant" },
        "reason": reason,
        "subscriptions_held": subscriptions_held,
        "charge_id": charge.map(|(c, _)| c.id),
        "cycle": charge.map(|(c, _)| c.cycle),
        "processor_response_code": charge.and_then(|(_, a)| a.processor_response_code.as_deref()),
        "reinitialization_needed": reinitialization_needed(gateway),
    })
}

/// `account.reinitialization_requested`: `link` is where the customer registers a new card
/// (CertiTrade's payment window); Payroc has none — the merchant collects new card details.
pub fn reinitialization_requested(
    account_id: Uuid,
    gateway: GatewayKind,
    link: Option<&str>,
    payment_id: Option<&str>,
) -> Value {
    json!({
        "account_id": account_id,
        "gateway": gateway,
        "link": link,
        "payment_id": payment_id,
        "reinitialization_needed": reinitialization_needed(gateway),
    })
}

/// `account.reactivated`: held subscriptions resumed; the cycles the terminated account refused
/// are charged once more or skipped, by policy. `payment_id` is the customer's initializing
/// payment when that is what brought the account back.
pub fn reactivated(
    account_id: Uuid,
    gateway: GatewayKind,
    payment_id: Option<&str>,
    subscriptions_resumed: u64,
    refused_cycles: usize,
    policy: RefusedCycles,
) -> Value {
    json!({
        "account_id": account_id,
        "gateway": gateway,
        "payment_id": payment_id,
        "subscriptions_resumed": subscriptions_resumed,
        "refused_cycles": refused_cycles,
        "refused_cycles_policy": policy,
    })
}
