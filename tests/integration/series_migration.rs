//! The series moves from the account to the subscription: a database at the schema before
//! (one series per account) migrates to one series per subscription, keeping each account's
//! series with the subscription that opened it and telling the account's history.

use crate::support::*;
use billingd::store::MIGRATOR;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

/// The last migration of the schema that kept the series on the account.
const BEFORE: i64 = 20261121000008;

async fn account(pool: &PgPool, series: Option<(&str, &str)>) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO payment_accounts (id, gateway, payroc_terminal_id, payroc_token, \
         series_payment_id, series_scheme_reference, created_at, updated_at) \
         VALUES ($1, 'payroc', '3204001', 'TOKEN', $2, $3, now(), now())",
    )
    .bind(id)
    .bind(series.map(|s| s.0))
    .bind(series.map(|s| s.1))
    .execute(pool)
    .await
    .unwrap();
    id
}

async fn subscription(pool: &PgPool, account: Uuid, total: Option<i32>, status: &str) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO subscriptions (id, account_id, amount_minor, currency, anchor_local, \
         time_zone, interval_unit, interval_count, total_cycles, status, next_cycle, created_at, \
         updated_at) VALUES ($1, $2, 1000, 'USD', '2026-01-01', 'UTC', 'month', 1, $3, $4, 3, \
         now(), now())",
    )
    .bind(id)
    .bind(account)
    .bind(total)
    .bind(status)
    .execute(pool)
    .await
    .unwrap();
    id
}

/// A charge as the old schema kept it: (cycle, status, sequence, gateway payment id).
async fn charge(pool: &PgPool, sub: Uuid, account: Uuid, model: &str, c: (i32, &str, &str, &str)) {
    let (cycle, status, sequence, payment) = c;
    sqlx::query(
        "INSERT INTO charges (id, subscription_id, account_id, cycle, due_at, amount_minor, \
         currency, processing_model, status, idempotency_key, order_id, sequence, request_body, \
         next_attempt_at, gateway_payment_id, created_at, settled_at) \
         VALUES ($1, $2, $3, $4, now(), 1000, 'USD', $5, $6, $1, $7, $8, '{}', now(), $9, now(), \
         CASE WHEN $6 = 'due' THEN NULL ELSE now() + make_interval(secs => $4) END)",
    )
    .bind(Uuid::new_v4())
    .bind(sub)
    .bind(account)
    .bind(cycle)
    .bind(model)
    .bind(status)
    .bind(format!("order-{}", Uuid::new_v4().simple()))
    .bind(sequence)
    .bind((!payment.is_empty()).then_some(payment))
    .execute(pool)
    .await
    .unwrap();
}

type SeriesRow = (Option<String>, Option<String>, Option<String>);

async fn series_of(pool: &PgPool, sub: Uuid) -> SeriesRow {
    sqlx::query_as(
        "SELECT series_payment_id, series_scheme_reference, series_processing_model \
         FROM subscriptions WHERE id = $1",
    )
    .bind(sub)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn an_accounts_series_stays_with_the_subscription_that_opened_it() {
    let db = TestDb::create().await;
    let pool = PgPool::connect(&db.url).await.unwrap();
    MIGRATOR.run_to(BEFORE, &pool).await.unwrap();

    // Account A: the installment plan opened the series (P1); the monthly plan's charges went
    // out as `subsequent` referring to it (the mistake); a plan never charged; a plan whose own
    // first payment (P0) belonged to the credential before a re-initialization.
    let a = account(&pool, Some(("P1", "S1"))).await;
    let opener = subscription(&pool, a, Some(2), "active").await;
    charge(
        &pool,
        opener,
        a,
        "installment",
        (1, "approved", "first", "P1"),
    )
    .await;
    charge(
        &pool,
        opener,
        a,
        "installment",
        (2, "approved", "subsequent", "P3"),
    )
    .await;
    let rider = subscription(&pool, a, None, "active").await;
    charge(
        &pool,
        rider,
        a,
        "recurring",
        (1, "approved", "subsequent", "P2"),
    )
    .await;
    charge(&pool, rider, a, "recurring", (2, "due", "subsequent", "")).await;
    let fresh = subscription(&pool, a, None, "active").await;
    let older = subscription(&pool, a, None, "past_due").await;
    charge(&pool, older, a, "recurring", (1, "approved", "first", "P0")).await;
    // Account B: a series imported with the account, opened by no charge of billingd's.
    let b = account(&pool, Some(("IMPORTED", "SI"))).await;
    let imported = subscription(&pool, b, None, "active").await;
    // Account C: no series yet, a first payment out.
    let c = account(&pool, None).await;
    let opening = subscription(&pool, c, None, "active").await;
    charge(&pool, opening, c, "recurring", (1, "due", "first", "")).await;

    MIGRATOR.run(&pool).await.unwrap();

    let kept = (
        Some("P1".to_owned()),
        Some("S1".to_owned()),
        Some("installment".to_owned()),
    );
    assert_eq!(series_of(&pool, opener).await, kept);
    for sub in [rider, fresh, older, imported, opening] {
        assert_eq!(series_of(&pool, sub).await, (None, None, None), "{sub}");
    }
    // The columns stay for the previous release's replicas during a rolling upgrade, emptied:
    // that binary then opens new series instead of continuing one across plans.
    let left: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM payment_accounts \
         WHERE series_payment_id IS NOT NULL OR series_scheme_reference IS NOT NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(left, 0, "the account keeps no series");

    let event = |account: Uuid| {
        let pool = pool.clone();
        async move {
            sqlx::query_as::<_, (String, serde_json::Value)>(
                "SELECT kind, detail FROM account_events WHERE account_id = $1",
            )
            .bind(account)
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };
    let a_events = event(a).await;
    assert_eq!(a_events.len(), 1);
    assert_eq!(a_events[0].0, "account.series_moved");
    let detail = &a_events[0].1;
    assert_eq!(detail["payment_id"], "P1");
    assert_eq!(detail["kept_by_subscription"], json!(opener));
    let mut renewed: Vec<String> =
        serde_json::from_value(detail["new_series_for_subscriptions"].clone()).unwrap();
    renewed.sort();
    let mut expected: Vec<String> = [rider, fresh, older].iter().map(Uuid::to_string).collect();
    expected.sort();
    assert_eq!(renewed, expected);
    let b_events = event(b).await;
    assert_eq!(b_events[0].1["payment_id"], "IMPORTED");
    assert!(b_events[0].1["kept_by_subscription"].is_null());
    assert_eq!(
        b_events[0].1["new_series_for_subscriptions"],
        json!([imported])
    );
    assert!(event(c).await.is_empty(), "no series, nothing moved");
    pool.close().await;
}
