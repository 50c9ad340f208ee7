//! The container image's settings, read from the Dockerfile itself: with the image's environment
//! the API is reachable beyond loopback (here: on 127.0.0.2, which a server bound to 127.0.0.1
//! does not answer), on the port the image EXPOSEs. Only loopback addresses are used.

use crate::support::*;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `ENV KEY=VALUE` and `EXPOSE PORT` lines of the runtime stage.
fn dockerfile() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile")).expect("Dockerfile")
}

fn image_settings() -> (Vec<(String, String)>, Vec<u16>) {
    let text = dockerfile();
    let runtime = text.rsplit_once("\nFROM ").expect("a runtime stage").1;
    let mut env = Vec::new();
    let mut exposed = Vec::new();
    for line in runtime.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("ENV ") {
            let (k, v) = rest.split_once('=').expect("ENV KEY=VALUE");
            env.push((k.to_owned(), v.to_owned()));
        } else if let Some(port) = line.strip_prefix("EXPOSE ") {
            exposed.push(port.trim().parse().expect("EXPOSE a port number"));
        }
    }
    (env, exposed)
}

fn answers(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

#[test]
fn a_loopback_bound_server_does_not_answer_on_127_0_0_2() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    assert!(answers(SocketAddr::from(([127, 0, 0, 1], port))));
    assert!(!answers(SocketAddr::from(([127, 0, 0, 2], port))));
}

#[tokio::test]
async fn the_image_environment_makes_the_api_reachable_beyond_loopback() {
    let (image_env, exposed) = image_settings();
    let text = dockerfile();
    let listen = image_env
        .iter()
        .find(|(k, _)| k == "BILLINGD_API__LISTEN")
        .map(|(_, v)| v.parse::<SocketAddr>().expect("a socket address"))
        .expect("the image sets BILLINGD_API__LISTEN");
    assert!(!listen.ip().is_loopback(), "the image listens on {listen}");
    assert!(
        exposed.contains(&listen.port()),
        "EXPOSE {exposed:?} vs {listen}"
    );

    // The image's host, on a free port (8080 may be taken on a test machine).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let db = TestDb::create().await;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_billingd"));
    cmd.arg("serve")
        .env_remove("BILLINGD_CONFIG")
        .env_remove("RUST_LOG");
    for (k, v) in &image_env {
        cmd.env(k, v);
    }
    let mut daemon = cmd
        .env(
            "BILLINGD_API__LISTEN",
            SocketAddr::new(listen.ip(), port).to_string(),
        )
        .env("BILLINGD_DATABASE__URL", &db.url)
        .env("BILLINGD_API__ADMIN_TOKEN", ADMIN_TOKEN)
        .env("BILLINGD_PAYROC__API_KEY", API_KEY)
        .env("BILLINGD_PAYROC__IDENTITY_URL", "http://127.0.0.1:1")
        .env("BILLINGD_PAYROC__API_URL", "http://127.0.0.1:1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let beyond = SocketAddr::new(IpAddr::from([127, 0, 0, 2]), port);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut status = None;
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(format!("http://{beyond}/healthz")).await {
            status = Some(r.status());
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The image's HEALTHCHECK: the binary probing itself with the image's environment.
    let probe = Command::new(env!("CARGO_BIN_EXE_billingd"))
        .arg("healthcheck")
        .envs(image_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env(
            "BILLINGD_API__LISTEN",
            SocketAddr::new(listen.ip(), port).to_string(),
        )
        .env_remove("BILLINGD_CONFIG")
        .output()
        .unwrap();
    let _ = daemon.kill();
    let _ = daemon.wait();
    assert_eq!(
        status,
        Some(reqwest::StatusCode::OK),
        "/healthz on {beyond}"
    );
    assert!(
        probe.status.success(),
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    assert!(text.contains("HEALTHCHECK") && text.contains("\"healthcheck\""));
}
