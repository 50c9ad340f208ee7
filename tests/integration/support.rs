//! The test harness: a fresh Postgres database per test, the gateway simulator on an ephemeral
//! port, and the real `App` driven by a manual clock.

pub use crate::claim_helpers::TestClaims;
use billingd::billing::RunSummary;
use billingd::clock::{Clock, ManualClock};
use billingd::config::{self, Delay, Settings};
use billingd::domain::credential::{CardOnFile, Credential, PayrocToken};
use billingd::domain::money::Money;
use billingd::domain::schedule::{IntervalUnit, Schedule};
use billingd::gateway::payroc::CardDetails;
use billingd::startup::App;
use billingd::store::Store;
use billingd::store::accounts::Account;
use billingd::store::charges::Charge;
use billingd::store::subscriptions::{NewSubscription, Subscription};
use gateway_sim::{RunningSim, SimConfig};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use std::sync::Arc;
use uuid::Uuid;

pub const API_KEY: &str = "sim-payroc-key";
pub const ADMIN_TOKEN: &str = "test-admin-token";
pub const CARD_OK: &str = "4539858876047062";
/// First two sales on its token are soft declines (51), then approvals.
pub const CARD_SOFT_TWICE: &str = "4000000000000051";
/// First sale approves, every later one is a closed account (46).
pub const CARD_CLOSES: &str = "4000000000000046";

/// Admin URL on which CREATE DATABASE works; scripts/test exports it.
pub fn admin_url() -> String {
    std::env::var("BILLINGD_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database of its own for one test, dropped when the test ends.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub async fn create() -> TestDb {
        let name = format!("billingd_t_{}", &Uuid::new_v4().simple().to_string()[..12]);
        let admin = sqlx::PgPool::connect(&admin_url())
            .await
            .expect("admin connection");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .expect("create test database");
        admin.close().await;
        let mut url = reqwest::Url::parse(&admin_url()).unwrap();
        url.set_path(&name);
        TestDb {
            name,
            url: url.to_string(),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside async context; a throwaway runtime on its own thread does it.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(admin) = sqlx::PgPool::connect(&admin_url()).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&admin)
                    .await;
                }
            })
        })
        .join();
    }
}

/// Settings for a test: the simulator's URLs, quick resends, a short request timeout.
pub fn test_settings(db_url: &str, sim: &RunningSim) -> Settings {
    let mut s = Settings::default();
    s.database.url = db_url.to_owned();
    s.database.max_connections = 8;
    s.api.listen = "127.0.0.1:0".into();
    s.api.admin_token = Some(config::secret(ADMIN_TOKEN));
    s.payroc.api_url = sim.payroc_api_url();
    s.payroc.identity_url = sim.payroc_identity_url();
    s.payroc.api_key = Some(config::secret(API_KEY));
    s.payroc.request_timeout = Delay::secs(2);
    s.billing.unknown_backoff_min = Delay::millis(10);
    s.billing.unknown_backoff_max = Delay::millis(50);
    s.billing.lease = Delay::secs(60);
    s
}

pub struct Harness {
    pub sim: RunningSim,
    pub db: TestDb,
    pub clock: ManualClock,
    pub app: App,
    pub http: reqwest::Client,
}

pub fn ts(text: &str) -> Timestamp {
    text.parse().expect("timestamp literal")
}

impl Harness {
    pub async fn start() -> Harness {
        Harness::with(SimConfig::default(), |_| {}).await
    }

    pub async fn with(sim_config: SimConfig, tweak: impl FnOnce(&mut Settings)) -> Harness {
        let sim = gateway_sim::spawn(sim_config, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("simulator");
        let db = TestDb::create().await;
        let mut settings = test_settings(&db.url, &sim);
        settings.certitrade.api_url = sim.certitrade_api_url();
        tweak(&mut settings);
        let clock = ManualClock::new(ts("2027-01-01T00:00:00Z"));
        let app = App::build(settings, Arc::new(clock.clone()))
            .await
            .expect("app");
        Harness {
            sim,
            db,
            clock,
            app,
            http: reqwest::Client::new(),
        }
    }

    /// A harness whose daemon also speaks CertiTrade to the simulator; the API listens on a
    /// port chosen up front, because CertiTrade must be told the callback URL.
    pub async fn certitrade(tweak: impl FnOnce(&mut Settings)) -> Harness {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Harness::with(SimConfig::default(), |s| {
            s.api.listen = format!("127.0.0.1:{port}");
            s.certitrade.enabled = true;
            s.certitrade.merchant_id = 1234;
            s.certitrade.api_key = Some(config::secret("sim-certitrade-key"));
            s.certitrade.callback_url = format!("http://127.0.0.1:{port}/certitrade/callback");
            s.certitrade.return_url = "http://merchant.test/registered".into();
            s.certitrade.initializing_currency = "SEK".into();
            tweak(s);
        })
        .await
        .with_sim_on_the_manual_clock()
    }

    /// The simulator's clock follows the manual one, however a test moves it: CertiTrade judges
    /// a request's signed `Date` (billingd's "now") against the simulator's clock.
    fn with_sim_on_the_manual_clock(self) -> Harness {
        let set = self.sim.clock_setter();
        self.clock.follow(move |now| set(now.as_millisecond()));
        self
    }

    /// A second daemon on the same database and simulator (its own pool and worker id).
    pub async fn replica(&self) -> App {
        let settings = test_settings(&self.db.url, &self.sim);
        App::build(settings, Arc::new(self.clock.clone()))
            .await
            .expect("replica")
    }

    pub fn store(&self) -> &Store {
        &self.app.store
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn advance_days(&self, days: i64) {
        self.clock.advance(SignedDuration::from_hours(24 * days));
    }

    pub async fn run(&self) -> RunSummary {
        self.app
            .billing
            .run_once(self.clock.now())
            .await
            .expect("billing run")
    }

    /// Tokenizes a card at the simulator, as `--card-stdin` does.
    pub async fn tokenize(&self, card: &str) -> CardOnFile {
        let details: CardDetails = serde_json::from_value(
            serde_json::json!({"number": card, "expiry": "1230", "cvv": "123"}),
        )
        .unwrap();
        let payroc = self.app.gateways.payroc.as_ref().unwrap();
        let created = payroc
            .create_secure_token("3204001", &details)
            .await
            .expect("secure token");
        created.on_file("3204001")
    }

    /// Registers an account for a freshly tokenized card.
    pub async fn account(&self, card: &str) -> Account {
        let cred = self.tokenize(card).await;
        self.store()
            .insert_account(&cred, self.now())
            .await
            .expect("account")
    }

    pub async fn subscription(
        &self,
        account: &Account,
        amount: i64,
        anchor: &str,
        tz: &str,
        unit: IntervalUnit,
        total: Option<u32>,
    ) -> Subscription {
        let new = NewSubscription {
            account_id: account.id,
            price: Money::charge(amount, "USD").unwrap(),
            schedule: Schedule::new(anchor.parse().unwrap(), tz, unit, 1, total).unwrap(),
            merchant_reference: None,
            metadata: serde_json::json!({}),
            series: None,
            imported: None,
            catch_up: Default::default(),
        };
        self.store()
            .insert_subscription(&new, self.now())
            .await
            .expect("subscription")
    }

    /// An agreement's first payment made by a merchant's previous system, with the token of
    /// `account` (an API id): the series a subscription taken over continues. Approved.
    pub async fn legacy_first_payment(&self, account: &str) -> billingd::gateway::GatewayAnswer {
        let token = self
            .store()
            .account(account.parse().unwrap())
            .await
            .unwrap()
            .credential
            .secret()
            .unwrap()
            .to_owned();
        let payroc = self.app.gateways.payroc.as_ref().unwrap();
        let body = serde_json::json!({"channel": "web", "processingTerminalId": "3204001",
            "order": {"orderId": "legacy-first-1", "amount": 2500, "currency": "USD",
                "standingInstructions": {"sequence": "first", "processingModel": "recurring"}},
            "paymentMethod": {"type": "secureToken", "token": token}});
        let legacy = payroc
            .send_sale(uuid::Uuid::new_v4(), &body.to_string())
            .await;
        assert_eq!(
            legacy.outcome,
            billingd::domain::outcome::Outcome::Approved,
            "{legacy:?}"
        );
        legacy
    }

    pub async fn monthly(&self, account: &Account, amount: i64, anchor: &str) -> Subscription {
        self.subscription(account, amount, anchor, "UTC", IntervalUnit::Month, None)
            .await
    }

    pub async fn charges(&self, sub: &Subscription) -> Vec<Charge> {
        self.store().charges(Some(sub.id), 1000).await.unwrap()
    }

    async fn sim_get(&self, path: &str) -> Vec<Value> {
        self.http
            .get(format!("{}{path}", self.sim.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Approved sales at the simulator.
    pub async fn ledger(&self) -> Vec<Value> {
        self.sim_get("/_sim/ledger").await
    }

    /// How many POST /payments the simulator received for one secure token.
    pub async fn requests_for_token(&self, token: &str) -> usize {
        let requests = self.requests().await;
        requests.iter().filter(|r| r["token"] == token).count()
    }

    /// Every POST /payments the simulator received.
    pub async fn requests(&self) -> Vec<Value> {
        self.sim_get("/_sim/requests").await
    }

    pub async fn sim_post(&self, path: &str, body: Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.sim.base_url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }
}

/// A credential for a token the test already knows (or a bogus one).
pub fn existing_token(token: &str) -> CardOnFile {
    CardOnFile {
        credential: Credential::Payroc(PayrocToken {
            terminal_id: Some("3204001".into()),
            secure_token_id: None,
            token: Some(token.into()),
        }),
        card_masked: None,
        card_expiry: None,
    }
}

/// The admin API of a harness's app, over real HTTP.
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
    pub token: Option<String>,
}

pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Harness {
    /// Starts serving the admin API and returns a client with the admin token.
    pub fn serve_api(&mut self) -> Api {
        self.app.start_api().expect("api enabled");
        Api {
            base: format!("http://{}", self.app.api_addr().unwrap()),
            http: reqwest::Client::new(),
            token: Some(ADMIN_TOKEN.into()),
        }
    }
}

impl Api {
    pub fn without_token(&self) -> Api {
        Api {
            base: self.base.clone(),
            http: self.http.clone(),
            token: None,
        }
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> Answer {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("api request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            body,
            headers,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(reqwest::Method::GET, path, None, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(reqwest::Method::POST, path, Some(body), None)
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.send(reqwest::Method::PATCH, path, Some(body), None)
            .await
    }

    /// Creates an account for a card through the API; returns its id.
    pub async fn account(&self, card: &str) -> String {
        let a = self
            .post(
                "/v1/accounts",
                serde_json::json!({"gateway": "payroc", "processing_terminal_id": "3204001",
                    "card": {"number": card, "expiry": "1230", "cvv": "123"}}),
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.body);
        a.body["id"].as_str().unwrap().to_owned()
    }

    /// Creates a monthly subscription through the API; returns its body.
    pub async fn monthly(&self, account: &str, amount: i64, anchor: &str) -> Value {
        let s = self
            .post(
                "/v1/subscriptions",
                serde_json::json!({"account_id": account, "amount": amount, "currency": "USD",
                    "schedule": {"anchor": anchor, "time_zone": "UTC", "interval": "month"}}),
            )
            .await;
        assert_eq!(s.status, 201, "{}", s.body);
        s.body
    }
}

/// A problem document names the field it is about.
pub fn assert_problem(a: &Answer, status: u16, field: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    let content_type = a.headers.get("content-type").unwrap().to_str().unwrap();
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(a.body["status"], status);
    assert!(
        a.body["title"].is_string() && a.body["detail"].is_string(),
        "{}",
        a.body
    );
    if !field.is_empty() {
        let fields: Vec<&str> = a.body["errors"]
            .as_array()
            .map(|e| e.iter().filter_map(|x| x["field"].as_str()).collect())
            .unwrap_or_default();
        assert!(
            fields.contains(&field),
            "expected a problem with field {field}: {}",
            a.body
        );
    }
}

/// A book written straight into the tables, for tests that need thousands of rows: `accounts`
/// active Payroc accounts, then `subscriptions` monthly ones spread over them, at `next_cycle`,
/// the first due at `first_due` and one a minute after it. Created at `now`.
pub async fn seed_book(
    pool: &sqlx::PgPool,
    now: Timestamp,
    (accounts, subscriptions): (i64, i64),
    next_cycle: i32,
    first_due: Timestamp,
) {
    let (now, first_due) = (
        billingd::store::to_db(now),
        billingd::store::to_db(first_due),
    );
    sqlx::query(
        "INSERT INTO payment_accounts (id, gateway, state, payroc_terminal_id, payroc_token, \
           created_at, updated_at) \
         SELECT gen_random_uuid(), 'payroc', 'active', '3204001', 'tok' || i, $1, $1 \
         FROM generate_series(1, $2) i",
    )
    .bind(now)
    .bind(accounts)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "WITH a AS (SELECT array_agg(id ORDER BY id) AS ids FROM payment_accounts) \
         INSERT INTO subscriptions (id, account_id, amount_minor, currency, anchor_local, \
           time_zone, interval_unit, interval_count, status, next_cycle, next_due_at, \
           created_at, updated_at) \
         SELECT gen_random_uuid(), a.ids[1 + i % cardinality(a.ids)], 1500, 'USD', \
           '2026-01-01T00:00:00', 'UTC', 'month', 1, 'active', $4, \
           $2 + make_interval(mins => i::int), $1, $1 \
         FROM generate_series(0, $3 - 1) i, a",
    )
    .bind(now)
    .bind(first_due)
    .bind(subscriptions)
    .bind(next_cycle)
    .execute(pool)
    .await
    .unwrap();
}
