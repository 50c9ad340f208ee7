//! Validation of `POST /payments` bodies into a `SaleRequest`.
//!
//! Beyond shape checks this enforces the two cross-references a recurring
//! biller can get wrong: the secure token must exist, and a `subsequent` MIT
//! must point at an approved first payment made with that same token.

use serde_json::Value;

use super::super::problem::Problem;
use super::super::state::PayrocState;
use super::super::validate::{Checker, parse_object};

const CHANNELS: &[&str] = &["pos", "web", "moto"];
const SEQUENCES: &[&str] = &["first", "subsequent"];
const MODELS: &[&str] = &["unscheduled", "recurring", "installment"];
const SI: &str = "order.standingInstructions";
const FIRST_TXN: &str = "order.standingInstructions.referenceDataOfFirstTxn";

#[derive(Debug, Clone)]
pub struct SaleRequest {
    pub processing_terminal_id: String,
    pub order_id: String,
    pub description: Option<String>,
    pub amount: u64,
    pub currency: String,
    pub token: String,
    pub sequence: String,
    pub processing_model: String,
    pub first_payment_id: Option<String>,
    pub card_scheme_reference_id: Option<String>,
    /// Echoed verbatim in `order.standingInstructions` of the response.
    pub standing_instructions: Value,
}

pub fn parse(body: &[u8], state: &PayrocState) -> Result<SaleRequest, Problem> {
    let root = parse_object(body)?;
    let mut c = Checker::default();
    c.one_of(&root, "", "channel", true, CHANNELS);
    let terminal = c.sized_string(&root, "", "processingTerminalId", true, (1, 50));
    let token = payment_method(&mut c, &root, state);

    let order = c.object(&root, "", "order", true);
    let mut order_fields = None;
    let mut standing = None;
    if let Some(order) = order {
        let order_id = c.sized_string(order, "order", "orderId", true, (1, 24));
        let description = c.string(order, "order", "description", false);
        let amount = c.positive_integer(order, "order", "amount", true);
        let currency = c.string(order, "order", "currency", true);
        if currency
            .is_some_and(|cur| cur.len() != 3 || !cur.bytes().all(|b| b.is_ascii_uppercase()))
        {
            c.fail(
                "order.currency",
                "order.currency must be a 3-letter ISO 4217 code in upper case",
            );
        }
        order_fields = Some((order_id, description, amount, currency));
        standing = standing_instructions(&mut c, order);
    }
    c.finish()?;

    // Every Option below is Some: a None would have recorded an error above.
    let (order_id, description, amount, currency) = order_fields.expect("order validated");
    let (sequence, model, first_payment_id, scheme_ref, raw) = standing.expect("validated");
    let token = token.expect("validated");
    if sequence == "subsequent" {
        check_first_payment(state, first_payment_id, &token)?;
    }
    Ok(SaleRequest {
        processing_terminal_id: terminal.expect("validated").to_owned(),
        order_id: order_id.expect("validated").to_owned(),
        description: description.map(str::to_owned),
        amount: amount.expect("validated"),
        currency: currency.expect("validated").to_owned(),
        token,
        sequence: sequence.to_owned(),
        processing_model: model.to_owned(),
        first_payment_id: first_payment_id.map(str::to_owned),
        card_scheme_reference_id: scheme_ref.map(str::to_owned),
        standing_instructions: raw.clone(),
    })
}

fn payment_method(c: &mut Checker, root: &Value, state: &PayrocState) -> Option<String> {
    let method = c.object(root, "", "paymentMethod", true)?;
    let kind = c.string(method, "paymentMethod", "type", true)?;
    if kind != "secureToken" {
        c.fail(
            "paymentMethod.type",
            format!(
                "paymentMethod.type {kind:?} is not supported by simulator (use \"secureToken\")"
            ),
        );
        return None;
    }
    let token = c.string(method, "paymentMethod", "token", true)?;
    if state.tokens.get(token).is_none() {
        c.fail(
            "paymentMethod.token",
            "paymentMethod.token is not a known secure token",
        );
        return None;
    }
    Some(token.to_owned())
}

type Standing<'v> = (
    &'v str,
    &'v str,
    Option<&'v str>,
    Option<&'v str>,
    &'v Value,
);

fn standing_instructions<'v>(c: &mut Checker, order: &'v Value) -> Option<Standing<'v>> {
    let si = c.object(order, "order", "standingInstructions", true)?;
    let sequence = c.one_of(si, SI, "sequence", true, SEQUENCES);
    let model = c.one_of(si, SI, "processingModel", true, MODELS);
    let first = c.object(si, SI, "referenceDataOfFirstTxn", false);
    let (payment_id, scheme_ref) = match first {
        Some(first) => (
            c.string(first, FIRST_TXN, "paymentId", false),
            c.string(first, FIRST_TXN, "cardSchemeReferenceId", false),
        ),
        None => (None, None),
    };
    Some((sequence?, model?, payment_id, scheme_ref, si))
}

fn check_first_payment(
    state: &PayrocState,
    payment_id: Option<&str>,
    token: &str,
) -> Result<(), Problem> {
    let param = format!("{FIRST_TXN}.paymentId");
    let Some(payment_id) = payment_id else {
        return Err(Problem::invalid(
            &param,
            "a subsequent payment must reference the first payment's paymentId",
        ));
    };
    if !state.payments.is_approved_with_token(payment_id, token) {
        return Err(Problem::invalid(
            &param,
            "paymentId must be an approved payment made with the same secure token",
        ));
    }
    Ok(())
}
