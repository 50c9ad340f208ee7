//! The series check of the oracle: a Payroc stored-credential series is one agreement (one
//! subscription). Its `first` sale opens it; every `subsequent` sale refers to that first
//! payment, carries the same processingModel, and belongs to the same subscription.

use std::collections::HashMap;

use serde_json::Value;
use uuid::Uuid;

/// One approved Payroc sale, as the simulator's ledger shows it.
pub struct SeriesSale<'a> {
    pub payment_id: &'a str,
    pub sequence: &'a str,
    pub processing_model: &'a str,
    pub first_payment_id: Option<&'a str>,
    /// The subscription of the charge the sale's orderId belongs to, if billingd knows it.
    pub subscription: Option<Uuid>,
}

impl<'a> SeriesSale<'a> {
    pub fn from_ledger(entry: &'a Value, subscription: Option<Uuid>) -> Self {
        let text = |k: &str| entry[k].as_str().unwrap_or_default();
        SeriesSale {
            payment_id: text("paymentId"),
            sequence: text("sequence"),
            processing_model: text("processingModel"),
            first_payment_id: entry["firstPaymentId"].as_str(),
            subscription,
        }
    }
}

/// Each series broken, in words: a processingModel that changes within it, a subsequent sale
/// referring to no first sale the gateway approved, or a series spanning two subscriptions.
pub fn broken(sales: &[SeriesSale<'_>]) -> Vec<String> {
    let firsts: HashMap<&str, &SeriesSale<'_>> = sales
        .iter()
        .filter(|s| s.sequence == "first")
        .map(|s| (s.payment_id, s))
        .collect();
    let mut problems = Vec::new();
    for s in sales.iter().filter(|s| s.sequence == "subsequent") {
        let Some(first) = s.first_payment_id.and_then(|id| firsts.get(id)) else {
            problems.push(format!(
                "Payroc sale {} refers to first payment {:?}, which the gateway never approved",
                s.payment_id, s.first_payment_id
            ));
            continue;
        };
        if first.processing_model != s.processing_model {
            problems.push(format!(
                "Payroc sale {} is {} in a series opened {} by {}",
                s.payment_id, s.processing_model, first.processing_model, first.payment_id
            ));
        }
        if first.subscription != s.subscription {
            problems.push(format!(
                "Payroc sale {} (subscription {:?}) refers to first payment {} of subscription {:?}",
                s.payment_id, s.subscription, first.payment_id, first.subscription
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sale<'a>(
        id: &'a str,
        seq: &'a str,
        model: &'a str,
        first: Option<&'a str>,
        sub: u128,
    ) -> SeriesSale<'a> {
        SeriesSale {
            payment_id: id,
            sequence: seq,
            processing_model: model,
            first_payment_id: first,
            subscription: Some(Uuid::from_u128(sub)),
        }
    }

    #[test]
    fn a_series_per_subscription_with_one_model_is_whole() {
        let sales = [
            sale("a", "first", "installment", None, 1),
            sale("b", "subsequent", "installment", Some("a"), 1),
            sale("c", "first", "recurring", None, 2),
            sale("d", "subsequent", "recurring", Some("c"), 2),
        ];
        assert!(broken(&sales).is_empty());
    }

    #[test]
    fn another_agreements_first_payment_breaks_the_series() {
        let sales = [
            sale("a", "first", "installment", None, 1),
            sale("d", "subsequent", "recurring", Some("a"), 2),
        ];
        let problems = broken(&sales);
        assert_eq!(problems.len(), 2, "{problems:?}");
        let orphan = [sale("d", "subsequent", "recurring", Some("zz"), 2)];
        assert_eq!(broken(&orphan).len(), 1);
    }
}
