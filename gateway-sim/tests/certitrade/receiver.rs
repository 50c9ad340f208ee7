//! A tiny merchant endpoint for callbacks: records every form it receives
//! and answers with scripted statuses (then 200 once the script runs out).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use bytes::Bytes;

#[derive(Default)]
struct Inner {
    forms: Vec<HashMap<String, String>>,
    script: VecDeque<u16>,
}

#[derive(Clone, Default)]
pub struct Receiver {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
}

async fn callback(State(receiver): State<Receiver>, body: Bytes) -> StatusCode {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).expect("form body");
    let mut inner = receiver.inner.lock().unwrap();
    inner.forms.push(form.into_iter().collect());
    let status = inner.script.pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}

impl Receiver {
    /// Listens on an ephemeral port; answers `script` statuses in order.
    pub async fn start(script: &[u16]) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut receiver = Receiver::default();
        receiver.inner.lock().unwrap().script = script.iter().copied().collect();
        receiver.url = format!(
            "http://{}/certitrade/callback",
            listener.local_addr().unwrap()
        );
        let app = Router::new()
            .route("/certitrade/callback", post(callback))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        receiver
    }

    pub fn forms(&self) -> Vec<HashMap<String, String>> {
        self.inner.lock().unwrap().forms.clone()
    }

    /// Waits (up to 5 s) until `n` callbacks arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<HashMap<String, String>> {
        for _ in 0..100 {
            let forms = self.forms();
            if forms.len() >= n {
                return forms;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} callbacks, got {:?}", self.forms());
    }
}
