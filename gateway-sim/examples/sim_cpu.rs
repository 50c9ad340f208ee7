//! CPU cost of the simulator per charge, for before/after comparisons.
//!
//! Starts the simulator in-process on a runtime of its own (threads named `sim`), fires N
//! Payroc sales (`subsequent` on one secure token, each with a fresh Idempotency-Key) and N
//! CertiTrade recurring charges (signed, each with a fresh message_id) over loopback from a
//! separate client runtime (threads named `client`), at a fixed concurrency, and prints the
//! CPU time per request of the simulator's threads and of the whole process.
//!
//! CPU time is read per thread from `/proc/self/task/*/schedstat` (nanoseconds on the CPU), so
//! the client's own cost can be told apart from the simulator's. Linux only.
//!
//! ```text
//! cargo run --release -p gateway-sim --example sim_cpu -- [N] [CONCURRENCY]
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Instant, SystemTime};

use gateway_sim::SimConfig;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

const PAYROC_KEY: &str = "sim-payroc-key";
const TERMINAL: &str = "3204001";
const VISA: &str = "4539858876047062";
const CT_KEY: &str = "sim-certitrade-key";
const CT_MERCHANT: &str = "1234";
const CT_CARD: &str = "123456789000";

/// Nanoseconds on the CPU, summed per thread name.
fn cpu_by_thread_name() -> HashMap<String, u64> {
    let mut out = HashMap::new();
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let dir = task.expect("task entry").path();
        let (Ok(comm), Ok(stat)) = (
            std::fs::read_to_string(dir.join("comm")),
            std::fs::read_to_string(dir.join("schedstat")),
        ) else {
            continue;
        };
        let ns: u64 = stat
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        *out.entry(comm.trim().to_owned()).or_default() += ns;
    }
    out
}

/// Whole-process CPU (user + system) from `/proc/self/stat`, in nanoseconds (tick resolution).
fn process_cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // USER_HZ is 100 on every Linux this runs on.
    ticks * 10_000_000
}

struct Sample {
    sim_ns: u64,
    process_ns: u64,
    at: Instant,
}

fn sample() -> Sample {
    let by_name = cpu_by_thread_name();
    Sample {
        sim_ns: by_name.get("sim").copied().unwrap_or(0),
        process_ns: process_cpu_ns(),
        at: Instant::now(),
    }
}

fn report(label: &str, n: usize, before: &Sample, after: &Sample) {
    let per = |ns: u64| ns as f64 / 1000.0 / n as f64;
    let wall = after.at - before.at;
    println!(
        "{label:<11} n={n:<6} sim CPU {:>6.1} µs/req   process CPU {:>6.1} µs/req   wall {:>6.2} s ({:.0} req/s)",
        per(after.sim_ns - before.sim_ns),
        per(after.process_ns - before.process_ns),
        wall.as_secs_f64(),
        n as f64 / wall.as_secs_f64()
    );
}

async fn post_json(req: reqwest::RequestBuilder, body: &Value) -> (u16, Value) {
    let resp = req
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).unwrap())
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

struct Payroc {
    http: reqwest::Client,
    api: String,
    bearer: String,
    token: String,
    first_payment_id: String,
}

impl Payroc {
    async fn setup(http: reqwest::Client, base: &str) -> Payroc {
        let auth = http
            .post(format!("{base}/payroc-identity/authorize"))
            .header("x-api-key", PAYROC_KEY)
            .send()
            .await
            .unwrap();
        let auth: Value = serde_json::from_slice(&auth.bytes().await.unwrap()).unwrap();
        let bearer = auth["access_token"].as_str().unwrap().to_owned();
        let api = format!("{base}/payroc/v1");
        let card = json!({
            "mitAgreement": "recurring",
            "source": {"type": "card", "cardDetails": {"entryMethod": "keyed",
                "keyedData": {"dataFormat": "plainText", "cardNumber": VISA, "expiryDate": "1230", "cvv": "123"},
                "cardholderName": "Sally Test"}}
        });
        let req = http
            .post(format!(
                "{api}/processing-terminals/{TERMINAL}/secure-tokens"
            ))
            .bearer_auth(&bearer)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string());
        let (status, token) = post_json(req, &card).await;
        assert_eq!(status, 201, "{token}");
        let token = token["token"].as_str().unwrap().to_owned();
        let mut me = Payroc {
            http,
            api,
            bearer,
            token,
            first_payment_id: String::new(),
        };
        let (status, first) = me.sale(0, None).await;
        assert_eq!(status, 201, "{first}");
        me.first_payment_id = first["paymentId"].as_str().unwrap().to_owned();
        me
    }

    fn body(&self, i: usize, first: Option<&str>) -> Value {
        let standing = match first {
            None => json!({"sequence": "first", "processingModel": "recurring"}),
            Some(id) => json!({"sequence": "subsequent", "processingModel": "recurring",
                "referenceDataOfFirstTxn": {"paymentId": id}}),
        };
        json!({
            "channel": "web",
            "processingTerminalId": TERMINAL,
            "order": {
                "orderId": format!("ord-{i:016}"),
                "amount": 1000,
                "currency": "USD",
                "description": "Monthly plan",
                "standingInstructions": standing
            },
            "paymentMethod": {"type": "secureToken", "token": self.token}
        })
    }

    async fn sale(&self, i: usize, first: Option<&str>) -> (u16, Value) {
        let req = self
            .http
            .post(format!("{}/payments", self.api))
            .bearer_auth(&self.bearer)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string());
        post_json(req, &self.body(i, first)).await
    }

    async fn subsequent(&self, i: usize) {
        let (status, body) = self.sale(i, Some(&self.first_payment_id)).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["transactionResult"]["status"], "ready", "{body}");
    }
}

struct CertiTrade {
    http: reqwest::Client,
    base: String,
    api: String,
    account: String,
}

impl CertiTrade {
    async fn setup(http: reqwest::Client, base: &str) -> CertiTrade {
        let api = format!("{base}/certitrade/ctpsp/ws/2.0");
        let mut me = CertiTrade {
            http,
            base: base.to_owned(),
            api,
            account: String::new(),
        };
        let (status, account) = me
            .post("/payment_account", &json!({"type": "RECURRING"}))
            .await;
        assert_eq!(status, 201, "{account}");
        me.account = account["id"].as_str().unwrap().to_owned();
        let init = json!({
            "amount": "1000", "currency": "SEK", "method": "RECURRING", "reference": "init",
            "return_url": "https://shop.example/return", "callback_url": "http://127.0.0.1:9/unused",
            "data": {"RECURRING": {"initialize": "1", "payment_account": me.account}}
        });
        let (status, init) = me.post("/payment", &init).await;
        assert_eq!(status, 201, "{init}");
        let req = me.http.post(format!(
            "{}/_sim/certitrade/paywin/{}",
            me.base,
            init["id"].as_str().unwrap()
        ));
        let (status, done) =
            post_json(req, &json!({"card": CT_CARD, "send_callback": false})).await;
        assert_eq!(status, 200, "{done}");
        me
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let url = format!("{}{path}", self.api);
        let bytes = serde_json::to_vec(body).unwrap();
        #[allow(clippy::disallowed_methods)]
        let date = httpdate::fmt_http_date(SystemTime::now());
        let mut mac = Hmac::<Sha256>::new_from_slice(CT_KEY.as_bytes()).unwrap();
        for part in [b"POST".as_slice(), url.as_bytes(), date.as_bytes(), &bytes] {
            mac.update(part);
        }
        let digest = hex::encode(mac.finalize().into_bytes());
        let resp = self
            .http
            .post(&url)
            .header("Date", date)
            .header(
                "Authorization",
                format!("CertiTrade m{CT_MERCHANT}:{digest}"),
            )
            .header("Content-Type", "application/json; charset=utf-8")
            .body(bytes)
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.expect("body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn charge(&self, i: usize) {
        let body = json!({
            "amount": "1000", "currency": "SEK", "method": "RECURRING",
            "reference": format!("ref-{i:016}"), "message_id": (i + 1).to_string(),
            "data": {"RECURRING": {"payment_account": self.account}}
        });
        let (status, body) = self.post("/payment", &body).await;
        assert_eq!(status, 201, "{body}");
    }
}

/// Runs `job(i)` for i in 0..n with `concurrency` workers on the client runtime.
async fn fire<F, Fut>(n: usize, concurrency: usize, job: F)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let next = next.clone();
            let job = job.clone();
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    job(i).await;
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("worker");
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(20_000, |a| a.parse().expect("N"));
    let concurrency: usize = args.next().map_or(32, |a| a.parse().expect("CONCURRENCY"));

    let sim_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sim")
        .enable_all()
        .build()
        .unwrap();
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("client")
        .enable_all()
        .build()
        .unwrap();
    let sim = sim_rt
        .block_on(gateway_sim::spawn(
            SimConfig::default(),
            "127.0.0.1:0".parse().unwrap(),
        ))
        .expect("spawn sim");
    let base = sim.base_url();

    client_rt.block_on(async move {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency)
            .build()
            .unwrap();

        let payroc = Arc::new(Payroc::setup(http.clone(), &base).await);
        // Warm up connections and allocator.
        let p = payroc.clone();
        fire(n / 10, concurrency, move |i| {
            let p = p.clone();
            async move { p.subsequent(1_000_000 + i).await }
        })
        .await;
        let before = sample();
        let p = payroc.clone();
        fire(n, concurrency, move |i| {
            let p = p.clone();
            async move { p.subsequent(i + 1).await }
        })
        .await;
        report("payroc", n, &before, &sample());

        let ct = Arc::new(CertiTrade::setup(http.clone(), &base).await);
        let c = ct.clone();
        fire(n / 10, concurrency, move |i| {
            let c = c.clone();
            async move { c.charge(1_000_000 + i).await }
        })
        .await;
        let before = sample();
        let c = ct.clone();
        fire(n, concurrency, move |i| {
            let c = c.clone();
            async move { c.charge(i).await }
        })
        .await;
        report("certitrade", n, &before, &sample());
    });
    drop(sim);
}
