//! Child processes measured the way the kernel sees them: wall time, peak RSS and CPU time from
//! `wait4`, Postgres' CPU from /proc (the postmaster's own time plus its children's, reaped or
//! live), the bench process' own CPU (the in-process simulator) from `getrusage`, and the load
//! average the other tenants of the machine put on it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// What a finished child cost.
#[derive(Debug, Clone, Copy)]
pub struct Finished {
    pub exit_code: i32,
    pub wall: Duration,
    /// Peak resident set size, KiB: the child's own high-water mark (`VmHWM`), read from
    /// /proc every 20 ms until it exits. Not `ru_maxrss`: Linux carries the parent's
    /// high-water mark over a fork + exec into it, so it would show the bench's own size.
    pub max_rss_kib: i64,
    /// User + system CPU, seconds.
    pub cpu_s: f64,
}

impl Finished {
    pub fn max_rss_mib(&self) -> f64 {
        self.max_rss_kib as f64 / 1024.0
    }
}

/// A started child: its pid and when it started.
pub struct Running {
    pub pid: i32,
    pub started: Instant,
}

/// Starts `cmd` with stdout and stderr going to `out` and `err`.
pub fn start(cmd: &mut Command, out: &Path, err: &Path) -> anyhow::Result<Running> {
    let stdout =
        std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let stderr =
        std::fs::File::create(err).with_context(|| format!("creating {}", err.display()))?;
    let started = Instant::now();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr))
        .spawn()
        .with_context(|| format!("starting {:?}", cmd.get_program()))?;
    Ok(Running {
        pid: child.id() as i32,
        started,
    })
    // `child` is dropped without waiting: `finish` reaps it with wait4, which std's `wait`
    // cannot do (it does not return the rusage).
}

impl Running {
    /// Waits for the child (on a blocking thread) and returns its wall time, peak RSS and CPU.
    pub async fn finish(self) -> anyhow::Result<Finished> {
        Ok(self.finish_within(None).await?.0)
    }

    /// Like `finish`, but sends SIGTERM once `limit` has passed; true if it had to.
    pub async fn finish_within(self, limit: Option<Duration>) -> anyhow::Result<(Finished, bool)> {
        let pid = self.pid;
        let started = self.started;
        let mut waited = tokio::task::spawn_blocking(move || wait4(pid, started));
        let mut hwm = 0;
        let mut stopped = false;
        let mut finished = loop {
            // Until the child is reaped its pid cannot be reused; a zombie has no VmHWM line.
            if let Some(kib) = vm_hwm_kib(pid) {
                hwm = hwm.max(kib);
            }
            if !stopped && limit.is_some_and(|l| started.elapsed() > l) {
                self.signal(libc::SIGTERM);
                stopped = true;
            }
            tokio::select! {
                done = &mut waited => break done??,
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        };
        finished.max_rss_kib = hwm;
        Ok((finished, stopped))
    }

    /// Sends a signal (SIGTERM to stop `billingd serve`, SIGINT to stop `perf record`).
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on the pid of a child we started and have not reaped yet.
        unsafe {
            libc::kill(self.pid, sig);
        }
    }
}

fn wait4(pid: i32, started: Instant) -> anyhow::Result<Finished> {
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: waiting for our own child, with valid pointers to locals.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            bail!("wait4({pid}): {e}");
        }
    }
    let wall = started.elapsed();
    let exit_code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    Ok(Finished {
        exit_code,
        wall,
        max_rss_kib: usage.ru_maxrss,
        cpu_s: tv(usage.ru_utime) + tv(usage.ru_stime),
    })
}

fn vm_hwm_kib(pid: i32) -> Option<i64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn tv(t: libc::timeval) -> f64 {
    t.tv_sec as f64 + t.tv_usec as f64 / 1e6
}

/// This process' own CPU so far (user + system), seconds: the in-process simulator.
pub fn self_cpu() -> f64 {
    // SAFETY: getrusage fills a zeroed struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe {
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
    }
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The 1-, 5- and 15-minute load averages.
pub fn load() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut it = text
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(f64::NAN));
    [
        it.next().unwrap_or(f64::NAN),
        it.next().unwrap_or(f64::NAN),
        it.next().unwrap_or(f64::NAN),
    ]
}

/// CPU used by one Postgres cluster: its postmaster and every process it forked (backends,
/// WAL writer, checkpointer …), including those already gone — the kernel adds a reaped
/// child's time to its parent's `cutime`/`cstime`.
pub struct PgCpu {
    postmaster: i32,
    ticks_per_s: f64,
}

impl PgCpu {
    /// `data_directory` as the server reports it; the postmaster's pid is the first line of
    /// its postmaster.pid. None when the file cannot be read (not the same host / user).
    pub fn new(data_directory: &str) -> Option<PgCpu> {
        let text =
            std::fs::read_to_string(Path::new(data_directory).join("postmaster.pid")).ok()?;
        let postmaster = text.lines().next()?.trim().parse().ok()?;
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        Some(PgCpu {
            postmaster,
            ticks_per_s: if ticks > 0.0 { ticks } else { 100.0 },
        })
    }

    /// Seconds of CPU the cluster has used since its postmaster started.
    pub fn total(&self) -> f64 {
        let mut ticks = stat(self.postmaster).map(|s| s.all_ticks()).unwrap_or(0);
        if let Ok(dir) = std::fs::read_dir("/proc") {
            for entry in dir.flatten() {
                let Some(pid) = entry
                    .file_name()
                    .to_str()
                    .and_then(|n| n.parse::<i32>().ok())
                else {
                    continue;
                };
                if let Some(s) = stat(pid)
                    && s.ppid == self.postmaster
                {
                    ticks += s.all_ticks();
                }
            }
        }
        ticks as f64 / self.ticks_per_s
    }
}

struct Stat {
    ppid: i32,
    utime: u64,
    stime: u64,
    cutime: u64,
    cstime: u64,
}

impl Stat {
    fn all_ticks(&self) -> u64 {
        self.utime + self.stime + self.cutime + self.cstime
    }
}

fn stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // f[0] is field 3 (state): field n is f[n - 3].
    Some(Stat {
        ppid: f.get(1)?.parse().ok()?,
        utime: f.get(11)?.parse().ok()?,
        stime: f.get(12)?.parse().ok()?,
        cutime: f.get(13)?.parse().ok()?,
        cstime: f.get(14)?.parse().ok()?,
    })
}

/// CPU seconds by who used them, over one measured run.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuSplit {
    /// The process under test (billingd, or pgbench for the baseline).
    pub client: f64,
    pub postgres: f64,
    /// The bench process: the in-process gateway simulator (idle during the baseline).
    pub simulator: f64,
}

impl CpuSplit {
    pub fn total(&self) -> f64 {
        self.client + self.postgres + self.simulator
    }
}

/// Takes the "before" readings of a CpuSplit; `end` takes the "after" ones.
pub struct CpuMeter<'a> {
    pg: Option<&'a PgCpu>,
    pg0: f64,
    self0: f64,
}

impl<'a> CpuMeter<'a> {
    pub fn start(pg: Option<&'a PgCpu>) -> Self {
        CpuMeter {
            pg,
            pg0: pg.map(PgCpu::total).unwrap_or(0.0),
            self0: self_cpu(),
        }
    }

    pub fn end(self, client_cpu: f64) -> CpuSplit {
        CpuSplit {
            client: client_cpu,
            postgres: self.pg.map(|p| p.total() - self.pg0).unwrap_or(f64::NAN),
            simulator: self_cpu() - self.self0,
        }
    }
}
