//! The series check of the oracle: a Payroc stored-credential series is one agreement (one
//! subscription). Its `first` sale opens it; every `subsequent` sale refers to that first
//! payment, carries the same processingModel, and belongs to the same subscription; and a
//! subscription opens one series per credential (secure token): a second approved `first` of
//! one subscription on one token is a second series for one agreement — what billingd's claim
//! rule "one first in flight per subscription" prevents. (billingd opens a new series on a
//! re-initialized credential; the campaign never re-initializes, and a re-initialization gives a
//! new token, so the check does not see it.)

use std::collections::HashMap;

use serde_json::Value;
use uuid::Uuid;

/// One approved Payroc sale, as the simulator's ledger shows it.
pub struct SeriesSale<'a> {
    pub payment_id: &'a str,
    pub sequence: &'a str,
    pub processing_model: &'a str,
    pub first_payment_id: Option<&'a str>,
    /// The secure token the sale was made with.
    pub token: &'a str,
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
            token: text("token"),
            subscription,
        }
    }
}

/// Each series broken, in words: a processingModel that changes within it, a subsequent sale
/// referring to no first sale the gateway approved, a series spanning two subscriptions, or a
/// subscription that opened two series on one token.
pub fn broken(sales: &[SeriesSale<'_>]) -> Vec<String> {
    let firsts: HashMap<&str, &SeriesSale<'_>> = sales
        .iter()
        .filter(|s| s.sequence == "first")
        .map(|s| (s.payment_id, s))
        .collect();
    let mut problems = Vec::new();
    let mut opened: HashMap<(Uuid, &str), &str> = HashMap::new();
    for s in sales.iter().filter(|s| s.sequence == "first") {
        // A sale billingd cannot place has no subscription to hold to the rule.
        let Some(sub) = s.subscription else { continue };
        if let Some(earlier) = opened.insert((sub, s.token), s.payment_id) {
            problems.push(format!(
                "Payroc sale {} opens a second series for subscription {sub} on one token \
                 (the first was {earlier})",
                s.payment_id
            ));
        }
    }
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
            token: "TOKEN",
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

    #[test]
    fn a_second_first_of_one_subscription_on_one_token_breaks_the_series() {
        let twice = [
            sale("a", "first", "recurring", None, 1),
            sale("b", "first", "recurring", None, 1),
            sale("c", "subsequent", "recurring", Some("b"), 1),
        ];
        let problems = broken(&twice);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("second series"), "{problems:?}");
        // A new credential (a re-initialization) opens a new series: whole.
        let mut renewed = twice;
        renewed[1].token = "NEWTOKEN";
        assert!(broken(&renewed).is_empty());
        // Sales billingd cannot place are left to the other checks.
        let unplaced = [
            SeriesSale {
                subscription: None,
                ..sale("a", "first", "recurring", None, 1)
            },
            SeriesSale {
                subscription: None,
                ..sale("b", "first", "recurring", None, 1)
            },
        ];
        assert!(broken(&unplaced).is_empty());
    }
}
