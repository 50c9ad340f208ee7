//! The console over plain HTTP: every page needs a session, every form its CSRF token, the
//! session cookie's attributes, only the session id's hash stored, expiry by the clock, sign-out,
//! and an action going through the API's handler under its idempotency key.

use jiff::SignedDuration;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use sha2::{Digest, Sha256};

use crate::support::{ADMIN_TOKEN, Api, CARD_OK, Harness};

/// A client that shows redirects instead of following them, with an optional session cookie.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

impl Browser {
    fn new(api: &Api) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: format!("{}/console", api.base),
            cookie: None,
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, String, String) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        answer(req.send().await.unwrap()).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String, String) {
        let mut req = self.http.post(format!("{}{path}", self.base)).form(form);
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        answer(req.send().await.unwrap()).await
    }

    /// The sign-in form's token and the cookie that goes with it, as a browser gets them.
    async fn sign_in_form(&self) -> (String, String) {
        let r = self
            .http
            .get(format!("{}/sign-in", self.base))
            .send()
            .await
            .unwrap();
        let cookie = r.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let page = r.text().await.unwrap();
        (hidden(&page, "csrf"), cookie)
    }

    /// Signs in through the form; returns the session's Set-Cookie header as sent.
    async fn sign_in(&mut self, extra: Option<(&str, &str)>) -> String {
        let (csrf, form_cookie) = self.sign_in_form().await;
        let mut req = self
            .http
            .post(format!("{}/sign-in", self.base))
            .header(COOKIE, form_cookie)
            .form(&[("token", ADMIN_TOKEN), ("csrf", csrf.as_str())]);
        if let Some((name, value)) = extra {
            req = req.header(name, value);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let set = r.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        self.cookie = Some(set.split(';').next().unwrap().to_owned());
        set
    }
}

async fn answer(r: reqwest::Response) -> (StatusCode, String, String) {
    let status = r.status();
    let location = r
        .headers()
        .get(LOCATION)
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, location, r.text().await.unwrap())
}

/// The value of the hidden input `name` in a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn without_a_session_every_page_and_action_sends_to_sign_in_and_shows_nothing() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let sub = api.monthly(&account, 1000, "2027-01-01T00:00:00").await;
    let sub = sub["id"].as_str().unwrap().to_owned();
    let browser = Browser::new(&api);
    for path in [
        String::new(),
        format!("/accounts/{account}"),
        format!("/subscriptions/{sub}"),
        "/webhooks".into(),
        format!("/search?q={account}"),
        format!("/subscriptions/{sub}/pause"),
    ] {
        let (status, location, body) = browser.get(&path).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location, "/console/sign-in", "{path}");
        assert!(!body.contains(&account), "{path} leaked: {body}");
    }
    let (status, location, _) = browser
        .post(
            &format!("/subscriptions/{sub}/pause"),
            &[("csrf", "x"), ("key", "y")],
        )
        .await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/console/sign-in")
    );
    let forged = Browser {
        cookie: Some(format!("billingd_console={}", "a".repeat(64))),
        ..browser
    };
    assert_eq!(
        forged.get("").await.0,
        StatusCode::SEE_OTHER,
        "an unknown session id"
    );
    assert_eq!(
        api.get(&format!("/v1/subscriptions/{sub}")).await.body["status"],
        "active"
    );

    // Through the form (its token and cookie), a wrong admin token is refused.
    let (csrf, form_cookie) = forged.sign_in_form().await;
    let r = forged
        .http
        .post(format!("{}/sign-in", forged.base))
        .header(COOKIE, form_cookie)
        .form(&[("token", "not-the-token"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let (status, _, body) = answer(r).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("not accepted"));
}

#[tokio::test]
async fn a_session_is_a_strict_http_only_cookie_whose_id_only_postgres_hashes_and_it_expires() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let mut browser = Browser::new(&api);
    let set = browser.sign_in(None).await;
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console",
        "Max-Age=28800",
    ] {
        assert!(set.contains(attribute), "{attribute} missing: {set}");
    }
    assert!(!set.contains("Secure"), "plain http: {set}");
    let id = browser
        .cookie
        .clone()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let stored: Vec<(Vec<u8>, String)> =
        sqlx::query_as("SELECT id_hash, csrf_token FROM console_sessions")
            .fetch_all(h.store().pool())
            .await
            .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].0, Sha256::digest(id.as_bytes()).to_vec());
    assert_ne!(stored[0].1, id);

    let (status, _, body) = browser.get("").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Next 30 days"), "{body}");
    assert!(!body.contains(ADMIN_TOKEN) && !body.contains(&id));

    // Behind a TLS proxy the cookie is Secure.
    let mut proxied = Browser::new(&api);
    let set = proxied.sign_in(Some(("X-Forwarded-Proto", "https"))).await;
    assert!(set.contains("; Secure"), "{set}");

    h.clock.advance(SignedDuration::from_hours(8));
    let (status, location, _) = browser.get("").await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/console/sign-in")
    );
}

#[tokio::test]
async fn an_action_needs_its_csrf_token_runs_once_per_form_and_sign_out_ends_the_session() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let sub = api.monthly(&account, 1000, "2027-01-01T00:00:00").await;
    let sub = sub["id"].as_str().unwrap().to_owned();
    let mut browser = Browser::new(&api);
    browser.sign_in(None).await;
    let (status, _, confirm) = browser.get(&format!("/subscriptions/{sub}/pause")).await;
    assert_eq!(status, StatusCode::OK);
    let (csrf, key) = (hidden(&confirm, "csrf"), hidden(&confirm, "key"));
    let path = format!("/subscriptions/{sub}/pause");

    let wrong = "0".repeat(64);
    for form in [
        vec![("key", key.as_str())],
        vec![("csrf", wrong.as_str()), ("key", &key)],
    ] {
        let (status, _, body) = browser.post(&path, &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    assert_eq!(
        api.get(&format!("/v1/subscriptions/{sub}")).await.body["status"],
        "active"
    );

    let form = [("csrf", csrf.as_str()), ("key", key.as_str())];
    let (status, location, _) = browser.post(&path, &form).await;
    assert_eq!(
        (status, location.clone()),
        (
            StatusCode::SEE_OTHER,
            format!("/console/subscriptions/{sub}")
        )
    );
    let paused = api.get(&format!("/v1/subscriptions/{sub}")).await.body;
    assert_eq!(paused["status"], "paused");
    // The same form again is the same request under the same key: the stored answer, no change.
    let (status, _, _) = browser.post(&path, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        api.get(&format!("/v1/subscriptions/{sub}")).await.body["updated_at"],
        paused["updated_at"]
    );
    // A cancelled subscription cannot be resumed: the API's rule, in the API's words.
    let (_, _, confirm) = browser.get(&format!("/subscriptions/{sub}/cancel")).await;
    let cancel = format!("/subscriptions/{sub}/cancel");
    let key = hidden(&confirm, "key");
    let form = [
        ("csrf", csrf.as_str()),
        ("key", key.as_str()),
        ("when", "now"),
    ];
    assert_eq!(browser.post(&cancel, &form).await.0, StatusCode::SEE_OTHER);
    let (_, _, confirm) = browser.get(&format!("/subscriptions/{sub}/resume")).await;
    let key = hidden(&confirm, "key");
    let (status, _, body) = browser
        .post(
            &format!("/subscriptions/{sub}/resume"),
            &[("csrf", &csrf), ("key", &key)],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("cancelled"), "{body}");

    let (status, location, _) = browser.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/console/sign-in")
    );
    let (status, location, _) = browser.get("").await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/console/sign-in")
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM console_sessions")
        .fetch_one(h.store().pool())
        .await
        .unwrap();
    assert_eq!(left, 0);
}

/// A failed charge's page offers a retry; confirmed, it goes through the API's retry (its
/// checks, its refusal in its words).
#[tokio::test]
async fn a_failed_charge_is_retried_from_its_page_through_the_api() {
    let mut h = Harness::with(gateway_sim::SimConfig::default(), |s| {
        s.billing.soft_decline_retries = vec![];
    })
    .await;
    let api = h.serve_api();
    let account = api.account(CARD_OK).await;
    let soft = api.monthly(&account, 1001, "2027-01-01T00:00:00").await; // 05: soft
    let hard = api.monthly(&account, 1014, "2027-01-01T00:00:00").await; // 14: for good
    h.run().await;
    let charge_of = |sub: &serde_json::Value| {
        let id = sub["id"].as_str().unwrap().to_owned();
        let api = &api;
        async move {
            let list = api.get(&format!("/v1/subscriptions/{id}/charges")).await;
            list.body["data"][0]["id"].as_str().unwrap().to_owned()
        }
    };
    let (soft, hard) = (charge_of(&soft).await, charge_of(&hard).await);
    let mut browser = Browser::new(&api);
    browser.sign_in(None).await;
    let (_, _, page) = browser.get(&format!("/charges/{soft}")).await;
    assert!(page.contains("action-retry"), "{page}");

    let (status, _, confirm) = browser.get(&format!("/charges/{soft}/retry")).await;
    assert_eq!(status, StatusCode::OK);
    let form = [
        ("csrf", hidden(&confirm, "csrf")),
        ("key", hidden(&confirm, "key")),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, location, _) = browser.post(&format!("/charges/{soft}/retry"), &form).await;
    assert_eq!(
        (status, location),
        (StatusCode::SEE_OTHER, format!("/console/charges/{soft}"))
    );
    let retried = api.get(&format!("/v1/charges/{soft}")).await.body;
    assert_eq!(retried["charge"]["status"], "due", "{retried}");

    let (_, _, confirm) = browser.get(&format!("/charges/{hard}/retry")).await;
    let form = [
        ("csrf", hidden(&confirm, "csrf")),
        ("key", hidden(&confirm, "key")),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, body) = browser.post(&format!("/charges/{hard}/retry"), &form).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("declined for good"), "{body}");
}

/// The sign-in form is a state-changing form too: without its token (the value of the cookie
/// set with the form) a sign-in is refused and no session is made, whatever the admin token.
#[tokio::test]
async fn a_sign_in_without_the_forms_token_is_refused() {
    let mut h = Harness::start().await;
    let api = h.serve_api();
    let browser = Browser::new(&api);
    let (csrf, form_cookie) = browser.sign_in_form().await;
    let attempts = [
        (None, vec![("token", ADMIN_TOKEN)]),
        (None, vec![("token", ADMIN_TOKEN), ("csrf", csrf.as_str())]),
        (Some(form_cookie.as_str()), vec![("token", ADMIN_TOKEN)]),
    ];
    for (cookie, form) in attempts {
        let mut req = browser
            .http
            .post(format!("{}/sign-in", browser.base))
            .form(&form);
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let made_session = r
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("billingd_console="));
        assert!(!made_session);
    }
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM console_sessions")
        .fetch_one(h.store().pool())
        .await
        .unwrap();
    assert_eq!(sessions, 0);
}
