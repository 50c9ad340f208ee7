//! The console in a real headless browser (Debian's chromium, driven through chromedriver by
//! fantoccini) against the daemon and the simulator: sign in, find a suspended account, copy
//! its re-initialization link, pause and resume a subscription, see a failed charge's attempts,
//! sign out. Saves the screenshots the README shows (docs/img/). Without chromium and
//! chromedriver the test fails and says how to install them: it must never pass unseen.

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::certitrade::{customer_opens, wait_for_state};
use crate::support::{ADMIN_TOKEN, Api, CARD_OK, Harness};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const FRAUD_CARD: &str = "1123450000000002";

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_driver() -> Driver {
    for path in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            std::path::Path::new(path).exists(),
            "{path} is missing: the console's browser test needs Debian's chromium and \
             chromium-driver (apt-get install -y chromium chromium-driver; .ci/run does it)"
        );
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{}/status", driver.url))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not answer on port {port}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    driver
}

async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": CHROMIUM, "args": ["--headless=new", "--no-sandbox",
            "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1500"]}),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a chromium session")
}

async fn text(b: &Client, css: &str) -> String {
    let e = b
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await;
    e.unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn click(b: &Client, css: &str) {
    let e = b
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await;
    e.unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Waits until the element's text is `want` (a page loading after a click).
async fn wait_text(b: &Client, css: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = match b.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if got.trim() == want {
            return;
        }
        assert!(Instant::now() < deadline, "{css} is {got:?}, not {want:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn screenshot(b: &Client, name: &str) {
    let png = b.screenshot().await.expect("screenshot");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/img");
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(format!("{dir}/{name}"), png).unwrap();
}

/// A CertiTrade account whose card the fraud system terminates, with a monthly plan; a Payroc
/// account with a plan to pause and one whose amount (…54) the issuer refuses as expired.
async fn seed(h: &Harness, api: &Api) -> (String, String, String) {
    let created = api
        .post("/v1/accounts", json!({"gateway": "certitrade"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let fraud = created.body["id"].as_str().unwrap().to_owned();
    let link = created.body["initialization"]["link"]
        .as_str()
        .unwrap()
        .to_owned();
    api.monthly(&fraud, 2900, "2027-01-01T00:00:00").await;
    customer_opens(h, &link, FRAUD_CARD).await;
    wait_for_state(api, &fraud, "active").await;
    let payroc = api.account(CARD_OK).await;
    let plan = api.monthly(&payroc, 1000, "2027-01-01T00:00:00").await;
    api.monthly(&payroc, 1054, "2027-01-01T00:00:00").await;
    // A weekly plan for the overview's chart of the next 30 days.
    let weekly = api
        .post("/v1/subscriptions", json!({"account_id": payroc, "amount": 500, "currency": "EUR",
            "schedule": {"anchor": "2027-01-01T10:00:00", "time_zone": "Europe/Paris", "interval": "week"}}))
        .await;
    assert_eq!(weekly.status, 201, "{}", weekly.body);
    let run = h.run().await;
    assert_eq!((run.approved, run.suspended), (1, 1), "{run:?}");
    (fraud, payroc, plan["id"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_works_through_the_console_in_a_real_browser() {
    let driver = start_driver().await;
    let mut h = Harness::certitrade(|_| {}).await;
    let api = h.serve_api();
    let (fraud, _payroc, plan) = seed(&h, &api).await;
    let relink = api.get(&format!("/v1/accounts/{fraud}")).await.body["initialization"]["link"]
        .as_str()
        .expect("a re-initialization link")
        .to_owned();
    let console = format!("{}/console", api.base);
    let b = browser(&driver).await;

    // Signing in: the console sends a browser without a session to the sign-in page.
    b.goto(&console).await.unwrap();
    assert!(
        b.current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/console/sign-in")
    );
    b.find(Locator::Css("#token"))
        .await
        .unwrap()
        .send_keys(ADMIN_TOKEN)
        .await
        .unwrap();
    click(&b, "#sign-in").await;
    wait_text(&b, "h1", "Overview").await;
    assert!(text(&b, "#suspended").await.contains(&fraud));
    screenshot(&b, "console-overview.png").await;

    // Finding the suspended account and copying its re-initialization link.
    b.find(Locator::Css("#q"))
        .await
        .unwrap()
        .send_keys(&fraud)
        .await
        .unwrap();
    click(&b, "nav .search button").await;
    click(&b, "#results a").await;
    wait_text(&b, "#account-state", "suspended").await;
    let field = b.find(Locator::Css("#reinit-link")).await.unwrap();
    assert_eq!(
        field.prop("value").await.unwrap().as_deref(),
        Some(relink.as_str())
    );
    click(&b, "#copy-link").await;
    wait_text(&b, "#reinit-link-status", "Copied").await;
    let timeline = text(&b, "#timeline").await;
    assert!(timeline.contains("account.suspended"), "{timeline}");
    screenshot(&b, "console-account.png").await;

    // Pausing and resuming a subscription, each confirmed.
    b.goto(&format!("{console}/subscriptions/{plan}"))
        .await
        .unwrap();
    wait_text(&b, "#subscription-state", "active").await;
    for (action, state) in [("pause", "paused"), ("resume", "active")] {
        click(&b, &format!("#action-{action}")).await;
        click(&b, "#confirm").await;
        wait_text(&b, "#subscription-state", state).await;
        assert_eq!(
            api.get(&format!("/v1/subscriptions/{plan}")).await.body["status"],
            state
        );
    }

    // A failed charge's requests and the gateway's answers.
    b.goto(&console).await.unwrap();
    click(&b, "#failed a").await;
    wait_text(&b, "#charge-state", "failed").await;
    let attempts = text(&b, "#attempts").await;
    assert!(
        attempts.contains("declined_hard") && attempts.contains("54"),
        "{attempts}"
    );

    // Signing out ends the session: the console asks to sign in again.
    click(&b, "#sign-out").await;
    b.wait()
        .at_most(Duration::from_secs(10))
        .for_url(&reqwest::Url::parse(&format!("{console}/sign-in")).unwrap())
        .await
        .unwrap();
    b.goto(&console).await.unwrap();
    assert!(
        b.current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/console/sign-in")
    );
    b.close().await.unwrap();
}
