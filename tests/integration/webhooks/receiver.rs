//! The other side of a webhook: a merchant's receiver that checks signatures independently of
//! billingd (with the hmac crate), a dead one that never answers, and driving the manual clock
//! until deliveries settle.

use crate::support::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use billingd::config::{self, Delay, Settings};
use hmac::{Hmac, Mac};
use jiff::SignedDuration;
use serde_json::Value;
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

pub const SECRET: &str = "whsec-test-0123456789abcdef";

pub fn webhooks_to(s: &mut Settings, url: &str) {
    s.webhooks.enabled = true;
    s.webhooks.endpoints = vec![url.to_owned()];
    s.webhooks.secret = Some(config::secret(SECRET));
    s.webhooks.poll_interval = Delay::millis(20);
    s.webhooks.backoff_min = Delay::secs(5);
    s.webhooks.backoff_max = Delay::secs(10);
    s.webhooks.request_timeout = Delay::secs(1);
}

/// One POST as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub event_id: String,
    pub kind: String,
    pub signature_ok: bool,
    pub body: Value,
    pub answered: u16,
}

/// A merchant's receiver: refuses its first `fail_first` POSTs with a 500, then accepts any
/// correctly signed one. Signatures are checked here with the hmac crate, not billingd's code.
pub struct Receiver {
    pub url: String,
    log: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub async fn start(fail_first: usize) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Receiver::serve(listener, fail_first)
    }

    /// On a port that was just used by something else (the address is reused).
    pub async fn start_on(port: u16, fail_first: usize) -> Receiver {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(([127, 0, 0, 1], port).into()).unwrap();
        Receiver::serve(socket.listen(128).unwrap(), fail_first)
    }

    fn serve(listener: tokio::net::TcpListener, fail_first: usize) -> Receiver {
        let port = listener.local_addr().unwrap().port();
        let log: Arc<Mutex<Vec<Received>>> = Arc::default();
        let app = axum::Router::new()
            .route("/hooks", axum::routing::post(receive))
            .with_state((log.clone(), fail_first));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            url: format!("http://127.0.0.1:{port}/hooks"),
            log,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }

    /// Accepted (2xx) POSTs per event id: what a de-duplicating receiver acts on.
    pub fn accepted(&self) -> HashMap<String, usize> {
        let mut ids = HashMap::new();
        for r in self.received().iter().filter(|r| r.answered == 200) {
            *ids.entry(r.event_id.clone()).or_default() += 1;
        }
        ids
    }
}

async fn receive(
    State((log, fail_first)): State<(Arc<Mutex<Vec<Received>>>, usize)>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{}.", header("billingd-timestamp")).as_bytes());
    mac.update(&body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // One signature per secret in force, comma-separated: the receiver's secret verifies one.
    let signature_ok = header("billingd-signature")
        .split(',')
        .any(|s| s.trim() == format!("v1={expected}"));
    let mut log = log.lock().unwrap();
    let answered = if !signature_ok {
        401
    } else if log.len() < fail_first {
        500
    } else {
        200
    };
    log.push(Received {
        event_id: header("billingd-event-id"),
        kind: header("billingd-event-type"),
        signature_ok,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        answered,
    });
    StatusCode::from_u16(answered).unwrap()
}

/// Waits (real time) until no delivery is in flight and none is due at the manual clock's now,
/// then moves the clock a minute on — past any backoff in these tests, never past a lease of a
/// POST in flight (so nothing is POSTed twice) — until `done` or 20 s pass.
pub async fn deliver_until(h: &Harness, what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        let (busy,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM webhook_deliveries WHERE lease_until IS NOT NULL \
             OR (status = 'pending' AND next_attempt_at <= $1)",
        )
        .bind(billingd::store::to_db(h.now()))
        .fetch_one(h.store().pool())
        .await
        .unwrap();
        if busy == 0 {
            h.clock.advance(SignedDuration::from_mins(1));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn event_ids(h: &Harness) -> Vec<(String, String)> {
    let rows: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("SELECT id, kind FROM webhook_events ORDER BY created_at, id")
            .fetch_all(h.store().pool())
            .await
            .unwrap();
    rows.into_iter()
        .map(|(id, k)| (id.to_string(), k))
        .collect()
}

/// Accepts connections and never answers: the worst receiver (every POST runs to its timeout).
pub struct Blackhole {
    pub port: u16,
    pub connections: Arc<Mutex<usize>>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Blackhole {
    pub async fn start() -> Blackhole {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (connections, stop) = (Arc::new(Mutex::new(0)), CancellationToken::new());
        let (count, stopped) = (connections.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                tokio::select! {
                    _ = stopped.cancelled() => break,
                    Ok((socket, _)) = listener.accept() => {
                        held.push(socket);
                        *count.lock().unwrap() += 1;
                    }
                }
            }
        });
        Blackhole {
            port,
            connections,
            stop,
            task,
        }
    }

    /// Closes the port and every connection held; returns the port.
    pub async fn stop(self) -> u16 {
        self.stop.cancel();
        self.task.await.unwrap();
        self.port
    }
}

pub async fn seed(h: &Harness, subscriptions: usize) {
    let mut accounts = Vec::new();
    for _ in 0..20 {
        accounts.push(h.account(CARD_OK).await);
    }
    for i in 0..subscriptions {
        h.monthly(&accounts[i % accounts.len()], 1000, "2027-01-01T00:00")
            .await;
    }
}
