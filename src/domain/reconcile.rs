//! Reconciliation with a gateway's ledger: what the gateway holds for a window of time, matched
//! against what billingd recorded, by the merchant reference of each request (Payroc `orderId`,
//! CertiTrade `reference`). Pure: the store loads both sides and applies the actions.
//!
//! Only the charge's *current* request can be recorded approved from the ledger: that is the one
//! billingd is still waiting to hear about. An approval of any other request, two approvals for
//! one charge, an approval billingd does not have, or a sale billingd never asked for is a
//! finding for a person: money moved in a way billingd did not decide, and no rule here can
//! know whether to refund, re-bill or accept it.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::outcome::Outcome;

/// One sale on the gateway's books, in billingd's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerSale {
    pub payment_id: String,
    /// The merchant reference the request carried.
    pub order_ref: String,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    /// What the sale's state means (approved, declined, pending …), read as a sale answer is.
    pub outcome: Outcome,
}

/// Where a charge stands in billingd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookStatus {
    /// Due: its current request's outcome is still open.
    Open,
    Approved,
    Failed,
    /// Held, skipped or cancelled.
    Closed,
}

/// One charge as billingd recorded it, with every reference it sent.
#[derive(Debug, Clone)]
pub struct BookCharge {
    pub charge_id: Uuid,
    pub status: BookStatus,
    pub current_order: String,
    pub sent_orders: Vec<String>,
    pub payment_id: Option<String>,
    /// Approved well inside the listed window, so its sale must be in the listing: a charge
    /// approved near an edge could have been processed just outside it.
    pub approved_in_window: bool,
}

/// Stored as text (`as_str`), with a CHECK constraint naming the same set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The gateway approved a request of the charge that billingd no longer waits for (an
    /// earlier attempt), or one of a charge billingd records as failed or closed.
    ApprovedNotRecorded,
    /// billingd records the charge approved; the gateway has no sale for it.
    MissingAtGateway,
    /// billingd records the charge approved; the gateway's sale for it is not approved.
    NotApprovedAtGateway,
    /// More than one approved sale for one charge.
    DuplicateApproval,
    /// An approved or pending sale whose reference billingd never sent.
    UnknownSale,
}

impl FindingKind {
    pub const ALL: [FindingKind; 5] = [
        FindingKind::ApprovedNotRecorded,
        FindingKind::MissingAtGateway,
        FindingKind::NotApprovedAtGateway,
        FindingKind::DuplicateApproval,
        FindingKind::UnknownSale,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::ApprovedNotRecorded => "approved_not_recorded",
            FindingKind::MissingAtGateway => "missing_at_gateway",
            FindingKind::NotApprovedAtGateway => "not_approved_at_gateway",
            FindingKind::DuplicateApproval => "duplicate_approval",
            FindingKind::UnknownSale => "unknown_sale",
        }
    }

    pub fn parse(text: &str) -> Option<FindingKind> {
        FindingKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Something a person must look at.
// Stored as found and listed by the API as stored (`store::reconcile::StoredFinding`), so the
// doc comments here are the API's (OpenAPI descriptions).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Finding {
    /// `approved_not_recorded`: the gateway approved a request billingd records as failed,
    /// closed, or superseded by a later attempt. `missing_at_gateway` /
    /// `not_approved_at_gateway`: billingd records an approval the gateway does not list, or
    /// lists as not approved. `duplicate_approval`: two approved sales for one charge.
    /// `unknown_sale`: an approved or pending sale under a reference billingd never sent.
    #[schema(value_type = String)]
    pub kind: FindingKind,
    pub charge_id: Option<Uuid>,
    /// The merchant reference of the sale (Payroc orderId, CertiTrade reference).
    pub order_ref: String,
    /// The gateway's payment ids concerned, comma-separated (empty when none).
    pub payment_ids: String,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub detail: String,
}

impl Finding {
    /// The same discrepancy found again (by a later run, or another replica) is the same
    /// finding: stored once, announced once.
    pub fn fingerprint(&self) -> String {
        let charge = self.charge_id.map(|c| c.to_string()).unwrap_or_default();
        format!(
            "{}|{charge}|{}|{}",
            self.kind.as_str(),
            self.order_ref,
            self.payment_ids
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The charge's current request was approved: record it as if the answer had arrived.
    RecordApproved {
        charge_id: Uuid,
        sale: LedgerSale,
    },
    Report(Finding),
}

/// What the ledger says about the book.
pub fn reconcile(book: &[BookCharge], ledger: &[LedgerSale]) -> Vec<Action> {
    let mut charge_of: HashMap<&str, usize> = HashMap::new();
    for (i, c) in book.iter().enumerate() {
        for order in &c.sent_orders {
            charge_of.insert(order.as_str(), i);
        }
    }
    let mut actions = Vec::new();
    let mut sales_of: Vec<Vec<&LedgerSale>> = vec![Vec::new(); book.len()];
    for sale in ledger {
        match charge_of.get(sale.order_ref.as_str()) {
            Some(&i) => sales_of[i].push(sale),
            // A declined sale nobody asked for moved no money; an approved or pending one did
            // (or may).
            None if moved_money(sale) => actions.push(Action::Report(unknown_sale(sale))),
            None => {}
        }
    }
    for (charge, sales) in book.iter().zip(&sales_of) {
        actions.extend(judge(charge, sales));
    }
    actions
}

fn moved_money(sale: &LedgerSale) -> bool {
    matches!(sale.outcome, Outcome::Approved | Outcome::Pending)
}

/// The actions for one charge, given the sales made under its references.
fn judge(charge: &BookCharge, sales: &[&LedgerSale]) -> Vec<Action> {
    let approvals: Vec<&LedgerSale> = dedup(
        sales
            .iter()
            .copied()
            .filter(|s| s.outcome == Outcome::Approved),
    );
    let mut actions = Vec::new();
    if approvals.len() > 1 {
        actions.push(Action::Report(finding(
            FindingKind::DuplicateApproval,
            charge,
            &approvals,
            format!("{} approved sales for one charge", approvals.len()),
        )));
    }
    match charge.status {
        BookStatus::Open => {
            if let Some(sale) = approvals
                .iter()
                .find(|s| s.order_ref == charge.current_order)
            {
                actions.push(Action::RecordApproved {
                    charge_id: charge.charge_id,
                    sale: (*sale).clone(),
                });
            } else if !approvals.is_empty() {
                let why = "an earlier attempt of this open charge was approved".to_owned();
                actions.push(Action::Report(finding(
                    FindingKind::ApprovedNotRecorded,
                    charge,
                    &approvals,
                    why,
                )));
            }
        }
        BookStatus::Failed | BookStatus::Closed if !approvals.is_empty() => {
            let why = match charge.status {
                BookStatus::Failed => "approved at the gateway, failed in billingd",
                _ => "approved at the gateway, held, skipped or cancelled in billingd",
            };
            actions.push(Action::Report(finding(
                FindingKind::ApprovedNotRecorded,
                charge,
                &approvals,
                why.to_owned(),
            )));
        }
        BookStatus::Approved if approvals.is_empty() && charge.approved_in_window => {
            actions.extend(missing(charge, sales));
        }
        _ => {}
    }
    actions
}

/// An approved charge with no approved sale: declined (or otherwise not approved) at the
/// gateway, or not there at all. A sale still pending there is given time.
fn missing(charge: &BookCharge, sales: &[&LedgerSale]) -> Option<Action> {
    if sales.iter().any(|s| s.outcome == Outcome::Pending) {
        return None;
    }
    let (kind, why) = if sales.is_empty() {
        (
            FindingKind::MissingAtGateway,
            "approved in billingd; the gateway lists no sale for it".to_owned(),
        )
    } else {
        let states: Vec<&str> = sales.iter().map(|s| s.outcome.as_str()).collect();
        (
            FindingKind::NotApprovedAtGateway,
            format!(
                "approved in billingd; the gateway's sale is {}",
                states.join(", ")
            ),
        )
    };
    Some(Action::Report(finding(kind, charge, sales, why)))
}

fn dedup<'a>(sales: impl Iterator<Item = &'a LedgerSale>) -> Vec<&'a LedgerSale> {
    let mut seen = HashSet::new();
    sales.filter(|s| seen.insert(&s.payment_id)).collect()
}

fn finding(
    kind: FindingKind,
    charge: &BookCharge,
    sales: &[&LedgerSale],
    detail: String,
) -> Finding {
    let mut ids: Vec<&str> = sales.iter().map(|s| s.payment_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let first = sales.first();
    Finding {
        kind,
        charge_id: Some(charge.charge_id),
        order_ref: first.map_or(charge.current_order.clone(), |s| s.order_ref.clone()),
        payment_ids: ids.join(","),
        amount_minor: first.and_then(|s| s.amount_minor),
        currency: first.and_then(|s| s.currency.clone()),
        detail,
    }
}

fn unknown_sale(sale: &LedgerSale) -> Finding {
    Finding {
        kind: FindingKind::UnknownSale,
        charge_id: None,
        order_ref: sale.order_ref.clone(),
        payment_ids: sale.payment_id.clone(),
        amount_minor: sale.amount_minor,
        currency: sale.currency.clone(),
        detail: format!(
            "a {} sale under a reference billingd never sent",
            sale.outcome.as_str()
        ),
    }
}

#[cfg(test)]
#[path = "reconcile_tests.rs"]
mod tests;
