//! Rotating secrets without a restart: two admin tokens in force at once, a token file rewritten
//! under a running daemon, webhooks signed with two secrets during a secret's rotation.

use crate::support::*;
use crate::webhooks::receiver::{Receiver, SECRET, deliver_until, webhooks_to};
use billingd::config;

async fn status_with(api: &Api, token: &str) -> u16 {
    let api = Api {
        token: Some(token.to_owned()),
        ..api.without_token()
    };
    api.get("/v1/accounts").await.status
}

#[tokio::test]
async fn two_admin_tokens_are_accepted_and_a_rewritten_token_file_takes_effect_at_once() {
    let dir = std::env::temp_dir().join(format!("billingd-rotation-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("admin-token");
    // The new token and the old one, one per line, while clients move over.
    std::fs::write(&file, "token-new-1\ntoken-old-0\n").unwrap();
    let path = file.clone();
    let mut h = Harness::with(Default::default(), move |s| {
        s.api.admin_token = Some(config::secret("token-new-1\ntoken-old-0"));
        s.api.admin_token_file = Some(path);
    })
    .await;
    let api = h.serve_api();
    assert_eq!(status_with(&api, "token-new-1").await, 200);
    assert_eq!(status_with(&api, "token-old-0").await, 200);
    assert_eq!(status_with(&api, "token-other").await, 401);

    // The rotation ends: the old token is dropped from the file, no restart.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&file, "token-new-1\n").unwrap();
    assert_eq!(status_with(&api, "token-old-0").await, 401);
    assert_eq!(status_with(&api, "token-new-1").await, 200);
    // A half-written (empty) file locks nobody out.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&file, "").unwrap();
    assert_eq!(status_with(&api, "token-new-1").await, 200);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_signed_during_a_secret_rotation_verifies_with_the_old_secret() {
    // The daemon already signs with a new secret and still with the receiver's (old) one.
    let receiver = Receiver::start(0).await;
    let mut h = Harness::with(Default::default(), |s| {
        webhooks_to(s, &receiver.url);
        s.webhooks.secret = Some(config::secret(&format!(
            "whsec-new-9876543210fedcba\n{SECRET}"
        )));
    })
    .await;
    h.app.start_webhooks().expect("webhooks configured");
    let account = h.account(CARD_OK).await;
    h.monthly(&account, 1000, "2027-01-01T00:00").await;
    assert_eq!(h.run().await.approved, 1);
    deliver_until(&h, "the approval delivered", || {
        !receiver.accepted().is_empty()
    })
    .await;
    let got = receiver.received();
    assert!(got.iter().all(|r| r.signature_ok), "{got:?}");
}
