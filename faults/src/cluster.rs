//! The processes under test: the gateway simulator, three `billingd serve` replicas (each on
//! its own API port, all on one database), and the hook that restarts Postgres. Replicas are
//! killed, terminated, stalled and restarted here; everything they print goes to a log file.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, watch};
use uuid::Uuid;

pub const ADMIN_TOKEN: &str = "faults-admin-token";
pub const PAYROC_KEY: &str = "sim-payroc-key";
pub const CERTITRADE_KEY: &str = "sim-certitrade-key";

/// A free TCP port on the loopback (bound, then released).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Copies a child's output into a log file, line by line; `on_line` sees each line.
fn pump(
    stream: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    log: PathBuf,
    on_line: impl Fn(&str) + Send + 'static,
) {
    tokio::spawn(async move {
        let Ok(mut file) = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .await
        else {
            return;
        };
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            on_line(&line);
            let _ = file.write_all(line.as_bytes()).await;
            let _ = file.write_all(b"\n").await;
        }
    });
}

pub struct Sim {
    child: Child,
    pub base: String,
}

impl Sim {
    pub async fn start(bin_dir: &Path, out: &Path) -> anyhow::Result<Sim> {
        let port = free_port()?;
        let mut child = Command::new(bin_dir.join("gateway-sim"))
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                // The …97 trigger answers after 3 s: past billingd's 2 s timeout.
                "--slow-delay-ms",
                "3000",
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting gateway-sim (built?)")?;
        pump(child.stdout.take().unwrap(), out.join("sim.log"), |_| {});
        pump(child.stderr.take().unwrap(), out.join("sim.log"), |_| {});
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while http
            .get(format!("{base}/_sim/faults"))
            .send()
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                bail!("gateway-sim did not come up on {base}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Sim { child, base })
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Running,
    /// Killed or terminated, not yet restarted.
    Down,
    /// SIGSTOPped: alive, holding leases, doing nothing.
    Stalled,
}

pub struct Replica {
    pub index: usize,
    pub port: u16,
    pub state: State,
    child: Option<Child>,
    /// The worker id it writes on its leases, read from its start-up log line.
    worker: watch::Receiver<Option<Uuid>>,
    pub starts: u32,
}

impl Replica {
    pub fn worker(&self) -> Option<Uuid> {
        *self.worker.borrow()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.id())
    }
}

pub struct Cluster {
    pub replicas: Vec<Arc<Mutex<Replica>>>,
    /// API port of each replica (fixed across restarts).
    pub ports: Vec<u16>,
    bin_dir: PathBuf,
    repo: PathBuf,
    out: PathBuf,
    http: reqwest::Client,
}

/// What the daemons are told: short leases and retry delays so that a campaign of minutes
/// sees many claims, expiries and resends. `billing.lease` must outlast a send with its
/// resends on either gateway (billingd refuses the config otherwise).
pub fn replica_config(database_url: &str, port: u16, callback_port: u16, sim: &str) -> String {
    format!(
        r#"# Written by the crash-and-fault campaign (faults/).
[database]
url = "{database_url}"
max_connections = 6
acquire_timeout = "3s"

[api]
listen = "127.0.0.1:{port}"

[scheduler]
billing_cron = "* * * * * *"

[billing]
max_in_flight = 16
claim_batch = 64
lease = "10s"
soft_decline_retries = ["1s", "1s", "1s"]
unknown_resends = 1
unknown_backoff_min = "100ms"
unknown_backoff_max = "500ms"
unknown_retry_after = "2s"
pending_recheck_after = "2s"
shutdown_grace = "4s"

[payroc]
api_url = "{sim}/payroc/v1"
identity_url = "{sim}/payroc-identity"
request_timeout = "2s"
connect_timeout = "1s"
token_refresh_margin = "1s"

[certitrade]
enabled = true
api_url = "{sim}/certitrade/ctpsp/ws/2.0"
merchant_id = 1234
return_url = "http://127.0.0.1:{callback_port}/healthz"
callback_url = "http://127.0.0.1:{callback_port}/certitrade/callback"
poll_initializing_after = "2s"
resend_window = "4s"
request_timeout = "2s"
connect_timeout = "1s"

[log]
format = "json"
level = "info,sqlx=warn,tokio_cron_scheduler=warn"
"#
    )
}

impl Cluster {
    pub fn new(
        bin_dir: &Path,
        repo: &Path,
        out: &Path,
        database_url: &str,
        sim: &str,
        count: usize,
    ) -> anyhow::Result<Cluster> {
        let ports: Vec<u16> = (0..count).map(|_| free_port()).collect::<Result<_, _>>()?;
        let mut replicas = Vec::new();
        for (index, port) in ports.iter().enumerate() {
            let config = replica_config(database_url, *port, ports[0], sim);
            std::fs::write(out.join(format!("replica-{index}.toml")), config)?;
            let (_, worker) = watch::channel(None);
            replicas.push(Arc::new(Mutex::new(Replica {
                index,
                port: *port,
                state: State::Down,
                child: None,
                worker,
                starts: 0,
            })));
        }
        Ok(Cluster {
            replicas,
            ports,
            bin_dir: bin_dir.to_owned(),
            repo: repo.to_owned(),
            out: out.to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()?,
        })
    }

    /// Starts a replica that is down and waits until it answers `/readyz`. A start during a
    /// Postgres restart fails (billingd refuses to start without its database): try again.
    pub async fn start(&self, r: &mut Replica) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            match self.try_start(r).await {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() < deadline => {
                    tracing_line(
                        &self.out,
                        &format!("replica {} start failed: {e:#}", r.index),
                    );
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn try_start(&self, r: &mut Replica) -> anyhow::Result<()> {
        let log = self.out.join(format!("replica-{}.log", r.index));
        let mut child = Command::new(self.bin_dir.join("billingd"))
            .arg("serve")
            .arg("--config")
            .arg(self.out.join(format!("replica-{}.toml", r.index)))
            .current_dir(&self.repo)
            .env("BILLINGD_API__ADMIN_TOKEN", ADMIN_TOKEN)
            .env("BILLINGD_PAYROC__API_KEY", PAYROC_KEY)
            .env("BILLINGD_CERTITRADE__API_KEY", CERTITRADE_KEY)
            .env_remove("RUST_LOG")
            .env_remove("BILLINGD_DATABASE__URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting billingd (built?)")?;
        let (tx, rx) = watch::channel(None);
        pump(child.stdout.take().unwrap(), log.clone(), move |line| {
            if line.contains("billingd running")
                && let Some(at) = line.find("\"worker_id\":\"")
            {
                let rest = &line[at + 13..];
                if let Some(id) = rest.get(..36).and_then(|s| s.parse().ok()) {
                    let _ = tx.send(Some(id));
                }
            }
        });
        pump(child.stderr.take().unwrap(), log, |_| {});
        r.starts += 1;
        let url = format!("http://127.0.0.1:{}/readyz", r.port);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait()? {
                bail!("billingd exited at start ({status})");
            }
            let ready =
                matches!(self.http.get(&url).send().await, Ok(resp) if resp.status().is_success());
            if ready && rx.borrow().is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.start_kill();
                let _ = child.wait().await;
                bail!("billingd not ready after 30 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        r.child = Some(child);
        r.worker = rx;
        r.state = State::Running;
        Ok(())
    }

    /// `kill -9`.
    pub async fn kill(&self, r: &mut Replica) {
        if let Some(mut child) = r.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        r.state = State::Down;
    }

    /// SIGTERM, then waits for the exit (at most `wait`). Returns the exit code.
    pub async fn terminate(&self, r: &mut Replica, wait: Duration) -> Option<i32> {
        let mut child = r.child.take()?;
        r.state = State::Down;
        signal(child.id()?, "-TERM").await;
        match tokio::time::timeout(wait, child.wait()).await {
            Ok(Ok(status)) => status.code(),
            _ => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                None
            }
        }
    }

    pub async fn stall(&self, r: &mut Replica) {
        if let Some(pid) = r.pid() {
            signal(pid, "-STOP").await;
            r.state = State::Stalled;
        }
    }

    pub async fn resume(&self, r: &mut Replica) {
        if let Some(pid) = r.pid() {
            signal(pid, "-CONT").await;
        }
        r.state = State::Running;
    }
}

async fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(sig)
        .arg(pid.to_string())
        .status()
        .await;
}

/// Restarts Postgres with the campaign's hook; returns how long it took.
pub async fn restart_postgres(command: &str, out: &Path, mode: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out.join("postgres-restarts.log"))?;
    let status = Command::new("bash")
        .arg("-c")
        .arg(command)
        .arg("restart-postgres")
        .arg(mode)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .await?;
    if !status.success() {
        bail!("the Postgres restart hook failed ({status})");
    }
    Ok(started.elapsed())
}

/// A line in the campaign's own log.
pub fn tracing_line(out: &Path, line: &str) {
    use std::io::Write;
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out.join("campaign.log"))
    {
        let _ = writeln!(f, "{} {line}", jiff::Timestamp::now());
    }
}
