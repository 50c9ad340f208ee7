//! Actions, each behind a confirmation page: pause, resume and cancel a subscription; suspend
//! an account, or request a CertiTrade re-initialization link. The confirmation's form carries
//! the session's CSRF token and a fresh idempotency key; the POST runs the API's own handler
//! under that key (`api::idempotency::once`), so validation, idempotency and the account
//! history's audit are the API's, and a form sent twice acts once.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::Console;
use super::render::{self, Layout};
use super::signed_in::Session;
use crate::api::accounts::{
    ReinitializeAccount, SuspendAccount, reinitialize_account, suspend_account,
};
use crate::api::charges::retry_charge;
use crate::api::extract::{ApiJson, ApiJsonOrEmpty, ApiPath};
use crate::api::subscriptions::{
    CancelSubscription, ResumeSubscription, cancel_subscription, pause_subscription,
    resume_subscription,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Pause,
    Resume,
    Cancel,
    Suspend,
    Reinitialize,
    Retry,
}

impl Action {
    fn parse(kind: &str, action: &str) -> Option<Action> {
        Some(match (kind, action) {
            ("subscriptions", "pause") => Action::Pause,
            ("subscriptions", "resume") => Action::Resume,
            ("subscriptions", "cancel") => Action::Cancel,
            ("accounts", "suspend") => Action::Suspend,
            ("accounts", "reinitialize") => Action::Reinitialize,
            ("charges", "retry") => Action::Retry,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::Cancel => "cancel",
            Action::Suspend => "suspend",
            Action::Reinitialize => "reinitialize",
            Action::Retry => "retry",
        }
    }

    fn area(self) -> &'static str {
        match self {
            Action::Pause | Action::Resume | Action::Cancel => "subscriptions",
            Action::Suspend | Action::Reinitialize => "accounts",
            Action::Retry => "charges",
        }
    }

    /// What the confirmation page says will happen.
    fn consequence(self) -> &'static str {
        match self {
            Action::Pause => {
                "Billing stops now; charges not yet sent are skipped. Resume bills again from the next cycle due after then."
            }
            Action::Resume => {
                "Billing starts again: from the next cycle due after now (paused), or where it stopped, with the cycles that fell due meanwhile (past due)."
            }
            Action::Cancel => {
                "Nothing more is billed. Now: the subscription ends at once; at period end: it ends when its next cycle would fall due. This cannot be undone."
            }
            Action::Suspend => {
                "Nothing is charged on this account until it is re-initialized; its active and past-due subscriptions are held."
            }
            Action::Reinitialize => {
                "A new initializing payment is started at CertiTrade; its link is for the customer to register a card again."
            }
            Action::Retry => {
                "The failed charge is sent again on the next billing run, as a new attempt (a new key and order id), if nothing about it is in doubt and the card has reattempts left; a past-due subscription becomes active again."
            }
        }
    }
}

#[derive(Template)]
#[template(path = "console/confirm.html")]
struct Confirm {
    layout: Layout,
    action: &'static str,
    back: String,
    post_to: String,
    consequence: &'static str,
    key: String,
    cancel: bool,
    suspend: bool,
}

pub async fn confirm(
    State(c): State<Console>,
    session: Session,
    Path((kind, id, action)): Path<(String, String, String)>,
) -> Response {
    let (Some(action), Ok(id)) = (Action::parse(&kind, &action), Uuid::parse_str(&id)) else {
        return render::failure(&c, Some(&session), StatusCode::NOT_FOUND, "No such action.");
    };
    let what = match action.area() {
        "accounts" => "account",
        "charges" => "charge",
        _ => "subscription",
    };
    let back = c.url(&format!("/{}/{id}", action.area()));
    let page = Confirm {
        layout: Layout::new(
            &c,
            Some(&session),
            format!("{} {what} {id}?", title(action)),
        ),
        action: action.name(),
        post_to: format!("{back}/{}", action.name()),
        back,
        consequence: action.consequence(),
        key: Uuid::new_v4().to_string(),
        cancel: action == Action::Cancel,
        suspend: action == Action::Suspend,
    };
    render::page(StatusCode::OK, &page)
}

fn title(action: Action) -> &'static str {
    match action {
        Action::Pause => "Pause",
        Action::Resume => "Resume",
        Action::Cancel => "Cancel",
        Action::Suspend => "Suspend",
        Action::Reinitialize => "Request a re-initialization link for",
        Action::Retry => "Retry",
    }
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    when: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

pub async fn perform(
    State(c): State<Console>,
    session: Session,
    Path((kind, id, action)): Path<(String, String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    if let Some(refused) = super::csrf::refusal(&c, &session, &form.csrf) {
        return refused;
    }
    let (Some(action), Ok(id), Ok(key)) = (
        Action::parse(&kind, &action),
        Uuid::parse_str(&id),
        Uuid::parse_str(&form.key),
    ) else {
        return render::failure(&c, Some(&session), StatusCode::NOT_FOUND, "No such action.");
    };
    let (path, body) = request(action, id, &form);
    let api = c.api.clone();
    let run = async move {
        let state = State(api);
        match action {
            Action::Pause => pause_subscription(state, ApiPath(id)).await.into_response(),
            Action::Resume => {
                // The console's resume leaves a failed cycle as it is (the API's default); a
                // failed charge is retried from its own page.
                let body = ApiJsonOrEmpty(ResumeSubscription::default());
                resume_subscription(state, ApiPath(id), body)
                    .await
                    .into_response()
            }
            Action::Cancel => {
                let at_period_end = form.when.as_deref() == Some("period_end");
                let body = ApiJsonOrEmpty(CancelSubscription { at_period_end });
                cancel_subscription(state, ApiPath(id), body)
                    .await
                    .into_response()
            }
            Action::Suspend => {
                let reason = form.reason.clone().unwrap_or_default();
                let body = ApiJson(SuspendAccount { reason });
                suspend_account(state, ApiPath(id), body)
                    .await
                    .into_response()
            }
            Action::Retry => retry_charge(state, ApiPath(id)).await.into_response(),
            Action::Reinitialize => {
                let body = ApiJson(ReinitializeAccount::default());
                reinitialize_account(state, ApiPath(id), HeaderMap::new(), body)
                    .await
                    .into_response()
            }
        }
    };
    // The console's keys have a prefix of their own: they never meet a merchant's.
    let key = format!("console-{key}");
    match crate::api::idempotency::once(&c.api, &key, &path, body.as_bytes(), run).await {
        Ok((status, _, _)) if status.is_success() => {
            tracing::info!(event = "console.action", action = action.name(), id = %id, "console action done");
            Redirect::to(&c.url(&format!("/{}/{id}", action.area()))).into_response()
        }
        Ok((status, answer, _)) => {
            let detail = serde_json::from_slice::<serde_json::Value>(&answer)
                .ok()
                .and_then(|p| p["detail"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "The action was refused.".into());
            render::failure(&c, Some(&session), status, &detail)
        }
        Err(e) => {
            let status = e.status();
            render::failure(&c, Some(&session), status, &e.problem().detail)
        }
    }
}

/// The API request this action is: its path and JSON body (what the idempotency record
/// fingerprints).
fn request(action: Action, id: Uuid, form: &ActionForm) -> (String, String) {
    let path = format!("/v1/{}/{id}/{}", action.area(), action.name());
    let body = match action {
        Action::Cancel => {
            serde_json::json!({"at_period_end": form.when.as_deref() == Some("period_end")})
                .to_string()
        }
        Action::Suspend => {
            serde_json::json!({"reason": form.reason.as_deref().unwrap_or_default()}).to_string()
        }
        Action::Reinitialize => "{}".into(),
        Action::Pause | Action::Resume | Action::Retry => String::new(),
    };
    (path, body)
}
