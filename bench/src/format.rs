//! Plain-text formatting of the report: the machine, the commit, numbers and tables.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(str::trim)
        .unwrap_or("unknown CPU");
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem_kib: f64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    format!(
        "{cpus} CPUs ({model}), {:.1} GiB RAM",
        mem_kib / 1024.0 / 1024.0
    )
}

/// The commit measured, and whether billingd's sources differed from it.
pub fn source_state(repo: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(repo)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let Some(head) = git(&["rev-parse", "--short", "HEAD"]) else {
        return "not a git checkout".into();
    };
    let changed = git(&[
        "status",
        "--porcelain",
        "--",
        "src",
        "migrations",
        "Cargo.lock",
    ])
    .map(|s| s.lines().count())
    .unwrap_or(0);
    if changed == 0 {
        format!("git {head}, billingd's sources as committed")
    } else {
        format!("git {head} + {changed} uncommitted changes in src/, migrations/ or Cargo.lock")
    }
}

pub fn thousands(v: f64) -> String {
    let n = v.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// A plain-text table, columns padded to their widest cell.
pub fn table<const N: usize>(o: &mut String, head: &[&str; N], rows: &[[String; N]]) {
    let mut widths = head.map(|h| h.chars().count());
    for row in rows.iter() {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |o: &mut String, cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        let _ = writeln!(o, "{}", padded.join(" | ").trim_end());
    };
    line(o, head.to_vec());
    let _ = writeln!(
        o,
        "{}",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-+-")
    );
    for row in rows.iter() {
        line(o, row.iter().map(String::as_str).collect());
    }
}
