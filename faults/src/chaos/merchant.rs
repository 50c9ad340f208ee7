//! The merchant's own actions during the run: cancelling subscriptions, suspending accounts.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use uuid::Uuid;

use super::Ctx;

/// The merchant cancels a subscription, or suspends an account, `after` from now.
pub async fn merchant_action(
    ctx: Arc<Ctx>,
    action: crate::seed::Action,
    subscription: Uuid,
    account: Uuid,
    after: Duration,
) {
    tokio::time::sleep(after).await;
    let (path, body) = match action {
        crate::seed::Action::Cancel => (
            format!("/v1/subscriptions/{subscription}/cancel"),
            json!({}),
        ),
        crate::seed::Action::SuspendAccount => (
            format!("/v1/accounts/{account}/suspend"),
            json!({"reason": "faults campaign"}),
        ),
    };
    // A request cut off by a kill leaves its key "in progress" for minutes: ask again under
    // a new key (a second cancel or suspend of the same thing is a harmless 409).
    let mut result = Err(crate::api::ApiError::InProgress);
    for _ in 0..3 {
        result = ctx
            .api
            .post(&path, &body, &Uuid::new_v4().to_string())
            .await;
        if !matches!(result, Err(crate::api::ApiError::InProgress)) {
            break;
        }
    }
    let mut stats = ctx.stats.lock().unwrap();
    match (action, result) {
        (crate::seed::Action::Cancel, Ok(_)) => stats.cancels += 1,
        (crate::seed::Action::SuspendAccount, Ok(_)) => {
            stats.merchant_suspended.insert(account);
        }
        // 409: already cancelled / completed / suspended (by the gateway) — nothing to do.
        (_, Err(crate::api::ApiError::Refused(409, _))) => {}
        (_, Err(e)) => {
            drop(stats);
            ctx.note(format!("merchant action {action:?} failed: {e}"));
        }
    }
}
