//! Classification of Payroc answers, on fixtures shaped like the API's (docs/gateways.md,
//! "Payroc: the payment answer").

use super::transformers::{classify, problem_message};
use crate::domain::outcome::{Outcome, OutcomeTable};

fn payment(result_key: &str, status: &str, code: &str, processor: &str) -> Vec<u8> {
    format!(
        r#"{{"paymentId":"F1I17KBL0E","processingTerminalId":"3204001",
            "order":{{"orderId":"Test_001","amount":4000,"currency":"USD"}},
            "someFieldFromTheFuture":{{"x":1}},
            "{result_key}":{{"type":"sale","status":"{status}","responseCode":"{code}",
              "processorResponseCode":"{processor}","responseMessage":"m","authorizedAmount":4000,
              "approvalCode":"OK14472","cardSchemeReferenceId":"MCC123456789"}}}}"#
    )
    .into_bytes()
}

fn outcome(status: u16, body: &[u8]) -> Outcome {
    classify(status, body, &OutcomeTable::default()).outcome
}

#[test]
fn an_approval_carries_the_series_reference() {
    let a = classify(
        201,
        &payment("transactionResult", "ready", "A", "00"),
        &OutcomeTable::default(),
    );
    assert_eq!(a.outcome, Outcome::Approved);
    assert_eq!(a.payment_id.as_deref(), Some("F1I17KBL0E"));
    assert_eq!(a.scheme_reference.as_deref(), Some("MCC123456789"));
    assert_eq!(a.http_status, Some(201));
}

#[test]
fn the_seed_documents_payment_result_name_is_accepted() {
    assert_eq!(
        outcome(201, &payment("paymentResult", "ready", "A", "00")),
        Outcome::Approved
    );
}

/// A sale answer's `transactionResult` (status, responseCode, processorResponseCode) and what
/// it means for billing: one row a case, so a new code is one line.
const CLASSIFIED: &[(&str, &str, &str, Outcome)] = &[
    // Declines are classified by the processor code.
    ("declined", "D", "05", Outcome::DeclinedSoft),
    ("declined", "D", "54", Outcome::DeclinedHard),
    ("declined", "D", "46", Outcome::AccountTerminated),
    ("referral", "R", "01", Outcome::DeclinedSoft),
    ("declined", "D", "R1", Outcome::AccountTerminated),
    // Pickup and keep-card mean the account is terminated.
    ("pickup", "C", "43", Outcome::AccountTerminated),
    ("pickup", "D", "", Outcome::AccountTerminated),
    // Pending is neither approved nor declined.
    ("pending", "E", "", Outcome::Pending),
    // A response code we do not know is unknown, never a decline.
    ("ready", "Z", "00", Outcome::Unknown),
];

#[test]
fn results_are_classified_by_status_and_codes() {
    for &(status, code, processor, expected) in CLASSIFIED {
        let body = payment("transactionResult", status, code, processor);
        assert_eq!(
            outcome(201, &body),
            expected,
            "{status} / {code} / {processor}"
        );
    }
}

#[test]
fn garbage_and_server_errors_are_unknown_never_declines() {
    assert_eq!(outcome(201, b"<html>oops</html>"), Outcome::Unknown);
    assert_eq!(outcome(201, br#"{"paymentId":"X"}"#), Outcome::Unknown);
    assert_eq!(
        outcome(500, b"<html><body>Internal Server Error</body></html>"),
        Outcome::Unknown
    );
    assert_eq!(outcome(502, b""), Outcome::Unknown);
    assert_eq!(outcome(429, b""), Outcome::Unknown);
}

#[test]
fn problem_details_become_a_clear_message() {
    let body = br#"{"type":"https://docs.payroc.com/api/errors#bad-request","title":"Bad request",
        "status":400,"detail":"One or more validation errors occurred",
        "errors":[{"parameter":"order.amount","detail":"x","message":"must be positive"}]}"#;
    let a = classify(400, body, &OutcomeTable::default());
    assert_eq!(a.outcome, Outcome::RequestError);
    let msg = a.fields.error.unwrap();
    assert!(
        msg.contains("400")
            && msg.contains("bad-request")
            && msg.contains("order.amount: must be positive"),
        "{msg}"
    );
    let html = problem_message(500, b"<html>\n<body>Service   offline</body></html>");
    assert!(
        html.contains("without problem details") && html.contains("Service offline"),
        "{html}"
    );
}

#[test]
fn an_idempotency_key_in_use_leaves_the_charge_unknown() {
    // The first request with this key may still be processing and then be approved.
    let body = br#"{"type":"https://docs.payroc.com/api/errors#idempotency-key-in-use","title":"Idempotency key in use","status":409}"#;
    assert_eq!(outcome(409, body), Outcome::Unknown);
}
