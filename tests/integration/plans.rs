//! The statements on the hot path keep their plans: on a database seeded large enough that the
//! planner weighs indexes against scans (50,000 subscriptions, 51,000 charges), and analyzed,
//! the due scan, the claim's window (read alone, and with what requests are built from), the
//! claim itself and the claim that writes its requests down are planned through the indexes they
//! were written for. A change to the SQL, the indexes or their predicates that makes one of them
//! scan a table fails here rather than in production, where it shows as a tick that takes
//! seconds.

use crate::support::*;
use billingd::store::claim_writes::{CLAIM_WRITE_SQL, WINDOW_CHARGES_SQL};
use billingd::store::claims::{CLAIM_SQL, CLAIM_WINDOW_SQL};
use billingd::store::materialize::due_scan_sql;
use billingd::store::{Store, db_min, to_db};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

const SUBSCRIPTIONS: i64 = 50_000;
/// One subscription in this many has its second cycle open (`due`); every first cycle is
/// approved.
const OPEN_EVERY: i64 = 50;

/// Accounts, then subscriptions spread over them — due one a minute from an hour ago, so 60
/// are due now — each with its approved first cycle, and one in `OPEN_EVERY` with its second
/// cycle open since yesterday.
async fn seed(pool: &PgPool, now: Timestamp) {
    let first_due = now - SignedDuration::from_hours(1);
    seed_book(pool, now, (500, SUBSCRIPTIONS), 3, first_due).await;
    let now = to_db(now);
    sqlx::query(
        "INSERT INTO charges (id, subscription_id, account_id, cycle, due_at, amount_minor, \
           currency, processing_model, status, idempotency_key, order_id, next_attempt_at, \
           created_at, settled_at) \
         SELECT gen_random_uuid(), s.id, s.account_id, c, $1 - make_interval(days => 60 - c), \
           1500, 'USD', 'recurring', CASE WHEN c = 1 THEN 'approved' ELSE 'due' END, \
           gen_random_uuid(), left(md5(random()::text), 16) || '-1', \
           $1 - make_interval(days => 2 - c), $1, CASE WHEN c = 1 THEN $1 END \
         FROM (SELECT s.*, row_number() OVER (ORDER BY s.id) AS n FROM subscriptions s) s \
         CROSS JOIN generate_series(1, CASE WHEN s.n % $2 = 0 THEN 2 ELSE 1 END) c",
    )
    .bind(now)
    .bind(OPEN_EVERY)
    .execute(pool)
    .await
    .unwrap();
    sqlx::raw_sql("ANALYZE payment_accounts, subscriptions, charges")
        .execute(pool)
        .await
        .unwrap();
}

/// Every (node type, relation, index) in a JSON plan, sub-plans and init-plans included.
fn nodes(plan: &Value, out: &mut Vec<(String, String, String)>) {
    let text = |key: &str| plan[key].as_str().unwrap_or_default().to_owned();
    if plan.get("Node Type").is_some() {
        out.push((text("Node Type"), text("Relation Name"), text("Index Name")));
    }
    for child in plan["Plans"].as_array().into_iter().flatten() {
        nodes(child, out);
    }
}

fn plan_nodes(explained: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    nodes(&explained[0]["Plan"], &mut out);
    out
}

/// Whether any node reads `index` (of `table`; a bitmap index scan names only the index, and
/// index names are unique in the schema).
fn uses_index(nodes: &[(String, String, String)], table: &str, index: &str) -> bool {
    nodes
        .iter()
        .any(|(_, t, i)| i == index && (t == table || t.is_empty()))
}

/// Fails on any sequential scan of the tables that grow.
fn assert_no_scan_of_big_tables(what: &str, nodes: &[(String, String, String)]) {
    for (kind, table, _) in nodes {
        assert!(
            !(kind == "Seq Scan" && (table == "charges" || table == "subscriptions")),
            "{what} scans {table} whole: {nodes:#?}"
        );
    }
}

/// The plan's nodes of `sql` EXPLAINed with these parameters.
macro_rules! explain {
    ($pool:expr, $sql:expr $(, $param:expr)* $(,)?) => {{
        let explained: (Value,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "EXPLAIN (FORMAT JSON) {}",
            $sql
        )))
        $(.bind($param))*
        .fetch_one($pool)
        .await
        .unwrap();
        plan_nodes(&explained.0)
    }};
}

#[tokio::test]
async fn the_due_scan_and_the_claim_keep_their_indexes() {
    let db = TestDb::create().await;
    let store = Store::new(PgPool::connect(&db.url).await.unwrap());
    store.migrate().await.unwrap();
    let now = ts("2026-06-01T12:00:00Z");
    seed(store.pool(), now).await;
    let pool = store.pool();

    let due = explain!(pool, due_scan_sql(), to_db(now), 100_i64);
    assert!(
        uses_index(&due, "subscriptions", "subscriptions_due"),
        "the due scan reads subscriptions_due: {due:#?}"
    );
    assert_no_scan_of_big_tables("the due scan", &due);

    let start = db_min();
    let window = explain!(
        pool,
        CLAIM_WINDOW_SQL,
        to_db(now),
        start,
        start,
        Uuid::nil(),
        256_i64
    );
    assert!(
        uses_index(&window, "charges", "charges_claim_order"),
        "the claim's window reads charges_claim_order: {window:#?}"
    );
    assert_no_scan_of_big_tables("the claim's window", &window);

    // The claim's rules among a real window of open charges (reconciliation's claim of one
    // charge runs them alone).
    let ids: Vec<Uuid> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM ({CLAIM_WINDOW_SQL}) w"
    )))
    .bind(to_db(now))
    .bind(start)
    .bind(start)
    .bind(Uuid::nil())
    .bind(256_i64)
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(ids.len(), 256, "the seed leaves a full window open");
    let until = now + SignedDuration::from_mins(5);
    let claim = explain!(
        pool,
        CLAIM_SQL,
        to_db(now),
        256_i64,
        Uuid::new_v4(),
        to_db(until),
        &ids
    );
    assert!(
        uses_index(&claim, "charges", "charges_pkey"),
        "the claim reaches its window's charges by primary key: {claim:#?}"
    );
    assert!(
        uses_index(&claim, "charges", "one_charge_per_cycle"),
        "the claim's series rules probe one_charge_per_cycle: {claim:#?}"
    );
    assert_no_scan_of_big_tables("the claim", &claim);

    // The window as billing reads it (with what its requests are built from), and the claim
    // that writes them down: the same indexes.
    let read = explain!(
        pool,
        WINDOW_CHARGES_SQL,
        to_db(now),
        start,
        start,
        Uuid::nil(),
        256_i64
    );
    assert!(
        uses_index(&read, "charges", "charges_claim_order"),
        "the window with its requests reads charges_claim_order: {read:#?}"
    );
    assert_no_scan_of_big_tables("the window with its requests", &read);

    let none: Vec<Option<String>> = vec![None; ids.len()];
    let write = explain!(
        pool,
        CLAIM_WRITE_SQL,
        to_db(now),
        256_i64,
        Uuid::new_v4(),
        to_db(until),
        &ids,
        vec![0_i64; ids.len()],
        &none,
        vec![Some("recurring_first".to_owned()); ids.len()],
        vec![Some("{}".to_owned()); ids.len()],
        vec![false; ids.len()]
    );
    assert!(
        uses_index(&write, "charges", "charges_pkey"),
        "the writing claim reaches its charges by primary key: {write:#?}"
    );
    assert!(
        uses_index(&write, "charges", "one_charge_per_cycle"),
        "the writing claim's series rules probe one_charge_per_cycle: {write:#?}"
    );
    assert_no_scan_of_big_tables("the writing claim", &write);
}
