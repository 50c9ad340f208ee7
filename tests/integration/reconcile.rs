//! `billingd reconcile` against the simulator's ledger: a sale planted behind billingd's back is
//! a finding (stored once, announced once, listed by the API), and a charge whose approval
//! answer was lost is healed — recorded approved without a second sale.

use crate::support::*;
use billingd::domain::states::GatewayKind;
use serde_json::{Value, json};
use std::process::Command;

/// The binary, pointed at the harness's database and simulator.
fn reconcile_cli(h: &Harness, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_billingd"))
        .arg("reconcile")
        .args(args)
        .env_remove("BILLINGD_CONFIG")
        .env("BILLINGD_LOG__FORMAT", "json")
        .env("BILLINGD_DATABASE__URL", &h.db.url)
        .env("BILLINGD_PAYROC__API_URL", h.sim.payroc_api_url())
        .env("BILLINGD_PAYROC__IDENTITY_URL", h.sim.payroc_identity_url())
        .env("BILLINGD_PAYROC__API_KEY", API_KEY)
        .output()
        .expect("billingd runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"))
}

/// The simulator stamps sales with the harness's (manual) time.
async fn align_clocks(h: &Harness) {
    h.sim_post("/_sim/clock", json!({"now": h.now().to_string()}))
        .await;
}

const WINDOW: [&str; 4] = [
    "--since",
    "2026-12-31T00:00:00Z",
    "--until",
    "2027-01-02T00:00:00Z",
];

// Multi-threaded: the test waits on a child process while the in-process simulator serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_finds_a_sale_planted_behind_billingds_back() {
    let mut h = Harness::start().await;
    align_clocks(&h).await;
    let cred = h.tokenize(CARD_OK).await;
    let account = h.store().insert_account(&cred, h.now()).await.unwrap();
    let sub = h.monthly(&account, 1000, "2027-01-01T00:00").await;
    assert_eq!(h.run().await.approved, 1);
    // Someone charges the same card on the same terminal, under an order billingd never sent.
    let planted = json!({
        "channel": "web", "processingTerminalId": "3204001",
        "order": {"orderId": "planted-1", "amount": 4242, "currency": "USD",
            "standingInstructions": {"sequence": "first", "processingModel": "unscheduled"}},
        "paymentMethod": {"type": "secureToken", "token": cred.credential.secret()},
    });
    let answer = h
        .app
        .gateways
        .send_sale(
            GatewayKind::Payroc,
            uuid::Uuid::new_v4(),
            &planted.to_string(),
        )
        .await;
    let planted_id = answer
        .payment_id
        .clone()
        .unwrap_or_else(|| panic!("{answer:?}"));

    let reports = reconcile_cli(&h, &WINDOW);
    let report = &reports[0];
    assert_eq!(report["gateway"], "payroc");
    assert_eq!(report["listed"], 2, "{report}");
    let findings = report["new_findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report}");
    assert_eq!(findings[0]["kind"], "unknown_sale");
    assert_eq!(findings[0]["order_ref"], "planted-1");
    assert_eq!(findings[0]["payment_ids"], planted_id.as_str());
    assert_eq!(findings[0]["amount_minor"], 4242);
    assert_eq!(h.charges(&sub).await[0].status, "approved", "untouched");

    // Found again (another run, another replica): stored and announced once.
    let again = h
        .app
        .billing
        .reconcile(
            GatewayKind::Payroc,
            ts("2026-12-31T00:00:00Z"),
            ts("2027-01-02T00:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!((again.new_findings.len(), again.known_findings), (0, 1));
    let events = h
        .store()
        .list_webhook_events(Some("reconciliation.finding"), None, 10)
        .await
        .unwrap();
    assert_eq!(events.items.len(), 1);
    assert_eq!(events.items[0].payload["data"]["order_ref"], "planted-1");

    let api = h.serve_api();
    let listed = api.get("/v1/reconciliation/findings").await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    assert_eq!(listed.body["data"][0]["kind"], "unknown_sale");
    assert_eq!(listed.body["data"][0]["gateway"], "payroc");
    let none = api
        .get("/v1/reconciliation/findings?kind=duplicate_approval")
        .await;
    assert_eq!(none.body["data"], json!([]));
    let bad = api.get("/v1/reconciliation/findings?kind=oops").await;
    assert_problem(&bad, 422, "kind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_heals_a_charge_whose_approval_answer_was_lost() {
    // No resend in the run itself: the lost answer leaves the charge unknown until the
    // reconciliation finds the sale in Payroc's ledger.
    let h = Harness::with(Default::default(), |s| s.billing.unknown_resends = 0).await;
    align_clocks(&h).await;
    let account = h.account(CARD_OK).await;
    let sub = h.monthly(&account, 1099, "2027-01-01T00:00").await; // …99: answer dropped
    h.run().await;
    let charge = &h.charges(&sub).await[0];
    assert_eq!(
        (charge.status.as_str(), charge.last_outcome.as_deref()),
        ("due", Some("unknown"))
    );
    let sale = h.ledger().await;
    assert_eq!(sale.len(), 1, "approved at the gateway");

    let reports = reconcile_cli(&h, &WINDOW);
    assert_eq!(reports[0]["recorded_approved"], 1, "{reports}");
    assert_eq!(reports[0]["new_findings"], json!([]));
    let charge = &h.charges(&sub).await[0];
    assert_eq!(charge.status, "approved");
    assert_eq!(
        charge.gateway_payment_id.as_deref(),
        sale[0]["paymentId"].as_str()
    );
    assert_eq!(h.requests().await.len(), 1, "healed without a second sale");
    assert_eq!(h.ledger().await.len(), 1);
    // The series was opened by the healed approval: the next cycle goes out as `subsequent`.
    h.advance_days(31);
    h.run().await;
    let next = &h.charges(&sub).await[1];
    assert_eq!(next.sequence.as_deref(), Some("subsequent"), "{next:?}");
}
