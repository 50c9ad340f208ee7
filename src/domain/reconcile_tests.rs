use super::*;

fn sale(payment_id: &str, order: &str, outcome: Outcome) -> LedgerSale {
    LedgerSale {
        payment_id: payment_id.into(),
        order_ref: order.into(),
        amount_minor: Some(1000),
        currency: Some("USD".into()),
        outcome,
    }
}

fn charge(status: BookStatus, orders: &[&str]) -> BookCharge {
    BookCharge {
        charge_id: Uuid::new_v4(),
        status,
        current_order: orders.last().unwrap().to_string(),
        sent_orders: orders.iter().map(|o| o.to_string()).collect(),
        payment_id: None,
        approved_in_window: true,
    }
}

fn kinds(actions: &[Action]) -> Vec<&'static str> {
    actions
        .iter()
        .map(|a| match a {
            Action::RecordApproved { .. } => "record_approved",
            Action::Report(f) => f.kind.as_str(),
        })
        .collect()
}

#[test]
fn an_open_charge_whose_current_request_was_approved_is_recorded() {
    let c = charge(BookStatus::Open, &["o1"]);
    let actions = reconcile(
        std::slice::from_ref(&c),
        &[sale("P1", "o1", Outcome::Approved)],
    );
    assert_eq!(
        actions,
        [Action::RecordApproved {
            charge_id: c.charge_id,
            sale: sale("P1", "o1", Outcome::Approved)
        }]
    );
}

#[test]
fn an_approval_of_an_earlier_attempt_is_a_finding_not_a_recording() {
    let c = charge(BookStatus::Open, &["o1", "o2"]);
    let actions = reconcile(&[c], &[sale("P1", "o1", Outcome::Approved)]);
    assert_eq!(kinds(&actions), ["approved_not_recorded"]);
}

#[test]
fn a_failed_or_closed_charge_approved_at_the_gateway_is_a_finding() {
    for status in [BookStatus::Failed, BookStatus::Closed] {
        let c = charge(status, &["o1"]);
        let actions = reconcile(&[c], &[sale("P1", "o1", Outcome::Approved)]);
        assert_eq!(kinds(&actions), ["approved_not_recorded"], "{status:?}");
    }
}

#[test]
fn two_approvals_for_one_charge_are_a_finding() {
    let c = charge(BookStatus::Approved, &["o1", "o2"]);
    let ledger = [
        sale("P1", "o1", Outcome::Approved),
        sale("P2", "o2", Outcome::Approved),
    ];
    let actions = reconcile(&[c], &ledger);
    assert_eq!(kinds(&actions), ["duplicate_approval"]);
    let Action::Report(f) = &actions[0] else {
        panic!()
    };
    assert_eq!(f.payment_ids, "P1,P2");
}

#[test]
fn the_same_sale_listed_twice_is_one_approval() {
    let c = charge(BookStatus::Approved, &["o1"]);
    let p = sale("P1", "o1", Outcome::Approved);
    assert!(reconcile(&[c], &[p.clone(), p]).is_empty());
}

#[test]
fn an_approved_charge_missing_or_declined_at_the_gateway_is_a_finding() {
    let c = charge(BookStatus::Approved, &["o1"]);
    assert_eq!(
        kinds(&reconcile(std::slice::from_ref(&c), &[])),
        ["missing_at_gateway"]
    );
    let declined = [sale("P1", "o1", Outcome::DeclinedHard)];
    assert_eq!(
        kinds(&reconcile(std::slice::from_ref(&c), &declined)),
        ["not_approved_at_gateway"]
    );
    // Still pending there: given time.
    assert!(reconcile(&[c], &[sale("P1", "o1", Outcome::Pending)]).is_empty());
}

#[test]
fn an_approved_charge_near_the_window_edge_is_not_called_missing() {
    let mut c = charge(BookStatus::Approved, &["o1"]);
    c.approved_in_window = false;
    assert!(reconcile(&[c], &[]).is_empty());
}

#[test]
fn a_sale_billingd_never_asked_for_is_a_finding_when_it_moved_money() {
    let ledger = [
        sale("P9", "stranger", Outcome::Approved),
        sale("P8", "stranger-2", Outcome::Pending),
        sale("P7", "stranger-3", Outcome::DeclinedHard),
    ];
    let actions = reconcile(&[], &ledger);
    assert_eq!(kinds(&actions), ["unknown_sale", "unknown_sale"]);
}

#[test]
fn agreeing_books_give_nothing_to_do() {
    let mut approved = charge(BookStatus::Approved, &["o1"]);
    approved.payment_id = Some("P1".into());
    let failed = charge(BookStatus::Failed, &["o2"]);
    let open = charge(BookStatus::Open, &["o3"]);
    let ledger = [
        sale("P1", "o1", Outcome::Approved),
        sale("P2", "o2", Outcome::DeclinedHard),
    ];
    assert!(reconcile(&[approved, failed, open], &ledger).is_empty());
}

#[test]
fn a_finding_found_again_has_the_same_fingerprint() {
    let c = charge(BookStatus::Failed, &["o1"]);
    let ledger = [sale("P1", "o1", Outcome::Approved)];
    let first = reconcile(std::slice::from_ref(&c), &ledger);
    let again = reconcile(&[c], &ledger);
    let print = |a: &[Action]| match &a[0] {
        Action::Report(f) => f.fingerprint(),
        _ => panic!(),
    };
    assert_eq!(print(&first), print(&again));
}

#[test]
fn finding_kinds_round_trip_through_their_names() {
    for kind in FindingKind::ALL {
        assert_eq!(FindingKind::parse(kind.as_str()), Some(kind));
    }
}
