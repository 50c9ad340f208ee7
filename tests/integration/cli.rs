//! The binary as an operator meets it: bad input gets a clear error and loses nothing, and
//! `serve` charges on its cron heartbeat and stops cleanly on SIGTERM.

use crate::support::*;
use gateway_sim::SimConfig;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn billingd(envs: &[(&str, String)], args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_billingd"));
    cmd.args(args).env("BILLINGD_LOG__FORMAT", "json");
    for key in [
        "BILLINGD_CONFIG",
        "BILLINGD_DATABASE__URL",
        "BILLINGD_PAYROC__API_KEY",
        "BILLINGD_API__ADMIN_TOKEN",
        "RUST_LOG",
    ] {
        cmd.env_remove(key);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

fn run(envs: &[(&str, String)], args: &[&str]) -> Output {
    billingd(envs, args).output().expect("billingd runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `billingd accounts register-payroc --card-stdin` with a test card (CVV 737) on its standard
/// input; the account it prints.
fn register_card_from_stdin(env: &[(&str, String)]) -> serde_json::Value {
    let args = [
        "accounts",
        "register-payroc",
        "--terminal",
        "3204001",
        "--card-stdin",
    ];
    let mut register = billingd(env, &args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    register
        .stdin
        .take()
        .unwrap()
        .write_all(format!(r#"{{"number":"{CARD_OK}","expiry":"1230","cvv":"737"}}"#).as_bytes())
        .unwrap();
    let out = register.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_malformed_config_names_the_key_and_what_is_allowed() {
    let dir = std::env::temp_dir().join(format!("billingd-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("[billing]\nmax_in_flite = 3\n", "billing.max_in_flite"),
        ("[billing]\ncatch_up = \"sometimes\"\n", "`all` or `latest`"),
        ("[billing]\nlease = \"soon\"\n", "billing.lease"),
        (
            "[payroc]\napi_key = \"sk_live\"\n",
            "secrets may not be written",
        ),
        (
            "[scheduler]\nbilling_cron = \"every minute\"\n",
            "scheduler.billing_cron",
        ),
        ("[billing\n", "TOML"),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        let path = dir.join(format!("bad{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let out = run(&[], &["--config", path.to_str().unwrap(), "check-config"]);
        assert!(!out.status.success(), "{text}");
        let err = stderr(&out);
        assert!(err.contains(expected), "{text:?} → {err}");
        assert!(!err.contains("sk_live"), "a secret was echoed: {err}");
    }
    let out = run(
        &[("BILLINGD_BILLING__MAX_IN_FLIGHT", "lots".into())],
        &["check-config"],
    );
    assert!(
        stderr(&out).contains("billing.max_in_flight"),
        "{}",
        stderr(&out)
    );
}

/// What `serve` would refuse, `check-config` refuses too, every problem at once, and `serve`
/// refuses it before connecting to the database (an unreachable URL is never tried).
#[test]
fn check_config_refuses_what_serve_refuses_all_at_once() {
    let env = [
        (
            "BILLINGD_DATABASE__URL",
            "postgres://postgres@127.0.0.1:1/billingd".to_string(),
        ),
        ("BILLINGD_CERTITRADE__ENABLED", "true".to_string()),
        ("BILLINGD_CERTITRADE__MERCHANT_ID", "1234".to_string()),
    ];
    for command in ["check-config", "serve"] {
        let out = run(&env, &[command]);
        assert_eq!(out.status.code(), Some(1), "{command}: {}", stderr(&out));
        let err = stderr(&out);
        for key in [
            "api.admin_token",
            "payroc.api_key",
            "certitrade.api_key",
            "certitrade.return_url",
            "certitrade.callback_url",
        ] {
            assert!(err.contains(key), "{command}: {key} not named in {err}");
        }
        assert!(!err.contains("configuration is valid"), "{err}");
        assert!(
            !err.contains("cannot connect"),
            "{command} touched the database: {err}"
        );
    }
}

#[test]
fn check_config_masks_secrets() {
    let out = run(
        &[
            ("BILLINGD_PAYROC__API_KEY", "super-secret-key".into()),
            ("BILLINGD_API__ADMIN_TOKEN", "an-admin-token".into()),
            (
                "BILLINGD_DATABASE__URL",
                "postgres://app:hunter2@db.internal/billing".into(),
            ),
        ],
        &["check-config"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        !shown.contains("super-secret-key") && !shown.contains("hunter2"),
        "{shown}"
    );
    assert!(shown.contains("payroc.api_key = ******** (set)"), "{shown}");
}

#[test]
fn an_unreachable_database_at_start_is_a_clear_error() {
    let out = run(
        &[
            (
                "BILLINGD_DATABASE__URL",
                "postgres://postgres:pw@127.0.0.1:1/billingd".into(),
            ),
            ("BILLINGD_DATABASE__ACQUIRE_TIMEOUT", "2s".into()),
            ("BILLINGD_PAYROC__API_KEY", "k".into()),
            ("BILLINGD_API__ADMIN_TOKEN", "an-admin-token".into()),
        ],
        &["serve"],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(
            "cannot connect to the database at postgres://postgres:********@127.0.0.1:1/billingd"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn unknown_ids_are_named_in_the_error() {
    let db = TestDb::create().await;
    let env = [("BILLINGD_DATABASE__URL", db.url.clone())];
    let out = run(&env, &["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = "0b8e4a1c-2f8e-4c1e-9d55-6a8f0c0e7d11";
    for args in [
        vec!["accounts", "show", id],
        vec!["subscriptions", "show", id],
        vec!["charges", "show", id],
        vec!["subscriptions", "list", "--account", id],
    ] {
        let out = run(&env, &args);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            stderr(&out).contains(&format!("{id} does not exist")),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let out = run(&env, &["accounts", "show", "not-a-uuid"]);
    assert!(!out.status.success() && stderr(&out).contains("not-a-uuid"));
}

/// `run-once` bills and exits without binding the API: it works beside a daemon holding the port.
#[tokio::test]
async fn run_once_does_not_bind_the_api() {
    let db = TestDb::create().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let env = [
        ("BILLINGD_DATABASE__URL", db.url.clone()),
        ("BILLINGD_PAYROC__API_KEY", "k".to_string()),
        (
            "BILLINGD_PAYROC__IDENTITY_URL",
            "http://127.0.0.1:1".to_string(),
        ),
        (
            "BILLINGD_API__LISTEN",
            taken.local_addr().unwrap().to_string(),
        ),
    ];
    let out = run(&env, &["run-once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary.is_object(), "{summary}");
}

/// Admin commands never migrate: against a schema with a pending migration (or one newer than
/// the binary) they refuse, name the command to run, and change nothing.
#[tokio::test]
async fn admin_commands_refuse_a_schema_other_than_their_own() {
    let db = TestDb::create().await;
    let env = [("BILLINGD_DATABASE__URL", db.url.clone())];
    let out = run(&env, &["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let last: i64 = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    // As if this binary were newer than the database: its last migration is pending.
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = $1")
        .bind(last)
        .execute(&pool)
        .await
        .unwrap();
    let versions = || async {
        sqlx::query_scalar::<_, i64>("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&pool)
            .await
            .unwrap()
    };
    let before = versions().await;
    for args in [vec!["accounts", "list"], vec!["charges", "list"]] {
        let out = run(&env, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("run `billingd migrate` first"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(versions().await, before, "an admin command migrated");
    // As if the database had been migrated by a newer billingd.
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES ($1, 'from the future', true, '\\x00', 0)",
    )
    .bind(last)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99991231000000, 'from the future', true, '\\x00', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let out = run(&env, &["accounts", "list"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("newer than this billingd"),
        "{}",
        stderr(&out)
    );
}

// Multi-threaded: the test blocks on child processes while the in-process simulator serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_charges_on_its_heartbeat_and_exits_cleanly_on_sigterm() {
    let sim = gateway_sim::spawn(SimConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let db = TestDb::create().await;
    let env = [
        ("BILLINGD_DATABASE__URL", db.url.clone()),
        ("BILLINGD_PAYROC__API_URL", sim.payroc_api_url()),
        ("BILLINGD_PAYROC__IDENTITY_URL", sim.payroc_identity_url()),
        ("BILLINGD_PAYROC__API_KEY", API_KEY.to_string()),
        (
            "BILLINGD_SCHEDULER__BILLING_CRON",
            "* * * * * *".to_string(),
        ),
        ("BILLINGD_API__LISTEN", "127.0.0.1:0".to_string()),
        ("BILLINGD_API__ADMIN_TOKEN", ADMIN_TOKEN.to_string()),
    ];
    let out = run(&env, &["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let account = register_card_from_stdin(&env);
    let shown = account.to_string();
    assert!(
        // The CVV as a JSON value ("737", quoted): bare digits can occur in ids and tokens.
        !shown.contains(CARD_OK) && !shown.contains("\"737\"") && !shown.contains("cvv"),
        "card data echoed: {shown}"
    );
    assert!(account["card_masked"].as_str().unwrap().ends_with("7062"));
    let account_id = account["id"].as_str().unwrap().to_string();

    // The binary reads the wall clock, not the harness's manual one.
    #[allow(clippy::disallowed_methods)]
    let anchor = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_mins(5))
        .unwrap();
    let anchor = anchor
        .to_zoned(jiff::tz::TimeZone::UTC)
        .datetime()
        .round(jiff::Unit::Second)
        .unwrap()
        .to_string();
    let out = run(
        &env,
        &[
            "subscriptions",
            "create",
            "--account",
            &account_id,
            "--amount",
            "4200",
            "--currency",
            "USD",
            "--anchor",
            &anchor,
            "--time-zone",
            "UTC",
            "--unit",
            "month",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let sub: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let out = run(
        &env,
        &[
            "subscriptions",
            "preview",
            sub["id"].as_str().unwrap(),
            "--count",
            "3",
        ],
    );
    let preview: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let positions: Vec<_> = preview
        .iter()
        .map(|p| p["position"]["sequence"].as_str().unwrap())
        .collect();
    assert_eq!(
        positions,
        ["first", "subsequent", "subsequent"],
        "{preview:?}"
    );

    let mut daemon = billingd(&env, &["serve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let store = billingd::store::Store::new(sqlx::PgPool::connect(&db.url).await.unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let charges = store.charges(None, 10).await.unwrap();
        if charges.iter().any(|c| c.status == "approved") {
            break;
        }
        if Instant::now() > deadline {
            let _ = daemon.kill();
            let out = daemon.wait_with_output().unwrap();
            panic!(
                "no approved charge within 30s: {charges:?}\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let status = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = daemon.wait().unwrap();
    assert!(exit.success(), "exit 0 after SIGTERM, got {exit:?}");
    let mut logs = String::new();
    std::io::Read::read_to_string(daemon.stdout.as_mut().unwrap(), &mut logs).unwrap();
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["event"] == "billing.run" && l["approved"] == 1),
        "{logs}"
    );
    assert!(lines.iter().any(|l| {
        l["message"]
            .as_str()
            .unwrap_or("")
            .contains("shutdown requested")
    }));
    assert!(!logs.contains(API_KEY), "the API key was logged");
    let token = store
        .account(account_id.parse().unwrap())
        .await
        .unwrap()
        .credential
        .secret()
        .unwrap()
        .to_owned();
    assert!(!logs.contains(&token), "the secure token was logged");
    assert_eq!(sim_ledger_len(&sim).await, 1);
}

async fn sim_ledger_len(sim: &gateway_sim::RunningSim) -> usize {
    let v: Vec<serde_json::Value> = reqwest::get(format!("{}/_sim/ledger", sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v.len()
}

#[test]
fn check_config_says_what_it_read_and_flags_a_setting_spelled_with_one_underscore() {
    let env = [
        (
            "BILLINGD_DATABASE_URL",
            "postgres://x@127.0.0.1/y".to_string(),
        ),
        ("BILLINGD_LOG__LEVEL", "info".to_string()),
    ];
    let out = run(&env, &["check-config"]);
    let err = stderr(&out);
    assert!(err.contains("files read: config/default.toml"), "{err}");
    assert!(
        err.contains("environment variables applied (values not shown): BILLINGD_LOG__FORMAT, BILLINGD_LOG__LEVEL"),
        "{err}"
    );
    assert!(
        err.contains(
            "warning: BILLINGD_DATABASE_URL is not a setting and is ignored (did you mean \
             BILLINGD_DATABASE__URL?"
        ),
        "{err}"
    );
    assert!(
        !err.contains("postgres://x@"),
        "values are not shown: {err}"
    );
}

#[test]
fn check_config_reports_every_bad_section_at_once_with_the_layer_it_came_from() {
    let dir = std::env::temp_dir().join(format!("billingd-cfg-all-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("two-bad.toml");
    std::fs::write(
        &path,
        "[api]\nlisten = \"nowhere\"\n[reconcile]\nevery = \"10s\"\n",
    )
    .unwrap();
    let env = [("BILLINGD_LOG__LEVEL", "=nonsense=".to_string())];
    let out = run(&env, &["--config", path.to_str().unwrap(), "check-config"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    let file = path.display().to_string();
    assert!(err.contains("api.listen") && err.contains(&file), "{err}");
    assert!(err.contains("reconcile.every"), "{err}");
    assert!(
        err.contains("log.level") && err.contains("environment"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `billingd forecast` prints what /v1/forecast answers, from the wall clock: a subscription
/// falling due in ten days is counted with 20 days ahead, not with 5.
#[tokio::test]
async fn forecast_prints_the_books_charges_per_day() {
    let h = Harness::start().await;
    let account = h.account(CARD_OK).await;
    // The binary reads the wall clock, not the harness's manual one.
    #[allow(clippy::disallowed_methods)]
    let in_ten_days = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(240))
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    h.monthly(&account, 4200, &format!("{in_ten_days}T12:00"))
        .await;
    let env = [("BILLINGD_DATABASE__URL", h.db.url.clone())];
    let out = run(&env, &["forecast", "--days", "20"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        printed["days"],
        serde_json::json!([{"date": in_ten_days.to_string(), "currency": "USD",
            "charges": 1, "amount_minor": 4200}])
    );
    let out = run(&env, &["forecast", "--days", "5"]);
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["days"], serde_json::json!([]));
    let out = run(&env, &["forecast", "--days", "0"]);
    assert!(!out.status.success() && stderr(&out).contains("--days"));
}

/// `billingd import FILE`: a dry run prints the report and writes nothing; a file with a bad row
/// exits 1 naming it; the real run imports.
#[tokio::test]
async fn import_checks_a_file_then_imports_it() {
    let h = Harness::start().await;
    let account = h.account(CARD_OK).await;
    let dir = std::env::temp_dir().join(format!("billingd-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("book.csv");
    let env = [("BILLINGD_DATABASE__URL", h.db.url.clone())];
    // Anchored 2020, yearly: only the import makes so old an anchor acceptable.
    std::fs::write(
        &file,
        format!(
            "merchant_reference,account_id,amount,currency,anchor,time_zone,interval,total_cycles,paid_through\n\
             cli-1,{},2000,USD,2020-01-01T00:00,UTC,year,20,2026-06-01T00:00:00Z\n",
            account.id
        ),
    )
    .unwrap();
    let out = run(&env, &["import", file.to_str().unwrap(), "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["accepted"], 1, "{report}");
    assert_eq!(report["imported"], false);
    assert!(
        h.store()
            .subscriptions_of(account.id)
            .await
            .unwrap()
            .is_empty()
    );

    let out = run(&env, &["import", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["rows"][0]["result"], "created", "{report}");
    assert_eq!(report["rows"][0]["imported_cycles"], 7);
    assert_eq!(
        h.store().subscriptions_of(account.id).await.unwrap().len(),
        1
    );

    let bad = dir.join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"merchant_reference\": \"x\", \"amount\": \"lots\"}\n",
    )
    .unwrap();
    let out = run(&env, &["import", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("1 of 1 rows rejected"),
        "{}",
        stderr(&out)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["rows"][0]["line"], 1);
    assert_eq!(report["rows"][0]["errors"][0]["field"], "amount");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `billingd accounts register-payroc --card-stdin` registers as `POST /v1/accounts` does: the
/// account is stored first and the secure token asked for under a secureTokenId named after
/// it, so a lost answer can be found again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_registration_takes_the_apis_path() {
    let sim = gateway_sim::spawn(SimConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let db = TestDb::create().await;
    let env = [
        ("BILLINGD_DATABASE__URL", db.url.clone()),
        ("BILLINGD_PAYROC__API_URL", sim.payroc_api_url()),
        ("BILLINGD_PAYROC__IDENTITY_URL", sim.payroc_identity_url()),
        ("BILLINGD_PAYROC__API_KEY", API_KEY.to_string()),
    ];
    let out = run(&env, &["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let account = register_card_from_stdin(&env);
    let id: uuid::Uuid = account["id"].as_str().unwrap().parse().unwrap();
    let named = format!("billingd-{}-", &id.simple().to_string()[..16]);
    assert!(
        account["secure_token_id"]
            .as_str()
            .is_some_and(|s| s.starts_with(&named)),
        "the token is named after the account stored before the call: {account}"
    );
    assert_eq!(account["state"], "active", "{account}");
    assert!(account["registration"].is_null(), "nothing owed: {account}");
}
