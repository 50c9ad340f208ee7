//! Reconciliation's reads and writes: the book of charges a gateway listing is matched against,
//! the findings (stored once, announced once, whichever replica finds them), the turn-taking of
//! periodic runs, and making a charge claimable so the approval found can be recorded through
//! the ordinary, fenced recording path.

use chrono::{DateTime, Utc};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use uuid::Uuid;

use super::claims::lease_is_free;
use super::credential::LEDGER_SCOPE;
use super::outbox::{EventKind, enqueue};
use super::{Store, StoreError, charge_is_due, from_db, to_db};
use crate::domain::reconcile::{BookCharge, BookStatus, Finding, FindingKind};
use crate::domain::states::GatewayKind;

/// A charge approved this close to an edge of the window may have been processed just outside
/// it (the gateway stamps its own processing time): it is not called missing.
const EDGE: SignedDuration = SignedDuration::from_mins(10);

/// Charges of one gateway that the listing concerns: those with a request sent in the window
/// ($2, $3), approved in it, or sent under one of the listed references ($4).
const BOOK_SQL: &str = "SELECT c.id, c.status, c.order_id, c.gateway_payment_id, c.settled_at, \
       (SELECT array_agg(DISTINCT t.order_id) FROM charge_attempts t WHERE t.charge_id = c.id) \
     FROM charges c JOIN payment_accounts a ON a.id = c.account_id \
     WHERE a.gateway = $1 AND c.id IN ( \
       SELECT t.charge_id FROM charge_attempts t WHERE t.order_id = ANY($4) \
       UNION SELECT c2.id FROM charges c2 WHERE c2.status = 'approved' \
         AND c2.settled_at >= $2 AND c2.settled_at < $3 \
       UNION SELECT t.charge_id FROM charge_attempts t \
         WHERE t.sent_at >= $2 AND t.sent_at < $3 AND t.order_id <> ALL ($4))";

type BookRow = (
    Uuid,
    String,
    String,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<Vec<String>>,
);

/// A finding, as the API lists it (newest first).
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StoredFinding {
    pub id: i64,
    /// `payroc` | `certitrade`
    #[schema(value_type = String)]
    pub gateway: GatewayKind,
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub finding: Finding,
    pub found_at: DateTime<Utc>,
}

impl Store {
    /// What splits `gateway`'s ledger among billingd's accounts, for listing it part by part
    /// (see `Gateways::list_sales`): the credential's `LEDGER_SCOPE` column, distinct — Payroc's
    /// terminals; none for a gateway whose ledger is listed whole.
    pub async fn ledger_scopes(&self, gateway: GatewayKind) -> Result<Vec<String>, StoreError> {
        let sql = format!(
            "SELECT DISTINCT {LEDGER_SCOPE} FROM payment_accounts \
             WHERE gateway = $1 AND {LEDGER_SCOPE} IS NOT NULL ORDER BY 1"
        );
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(gateway)
            .fetch_all(self.pool())
            .await?)
    }

    /// The charges a listing of `gateway` for [from, to) with these references concerns.
    pub async fn reconciliation_book(
        &self,
        gateway: &str,
        from: Timestamp,
        to: Timestamp,
        listed_refs: &[String],
    ) -> Result<Vec<BookCharge>, StoreError> {
        let rows: Vec<BookRow> = sqlx::query_as(BOOK_SQL)
            .bind(gateway)
            .bind(to_db(from))
            .bind(to_db(to))
            .bind(listed_refs)
            .fetch_all(self.pool())
            .await?;
        let (inner_from, inner_to) = (from + EDGE, to - EDGE);
        Ok(rows
            .into_iter()
            .map(
                |(id, status, order, payment_id, settled, sent)| BookCharge {
                    charge_id: id,
                    status: book_status(&status),
                    sent_orders: sent.unwrap_or_else(|| vec![order.clone()]),
                    current_order: order,
                    payment_id,
                    approved_in_window: settled
                        .map(from_db)
                        .is_some_and(|at| at >= inner_from && at < inner_to),
                },
            )
            .collect())
    }

    /// Stores the findings not stored before and announces each new one (webhook
    /// `reconciliation.finding`) in the same transaction; returns the new ones.
    pub async fn record_findings(
        &self,
        gateway: GatewayKind,
        findings: &[Finding],
        now: Timestamp,
    ) -> Result<Vec<Finding>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let mut new = Vec::new();
        for f in findings {
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO reconciliation_findings (fingerprint, gateway, kind, charge_id, \
                   order_ref, payment_ids, amount_minor, currency, detail, found_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (fingerprint) DO NOTHING RETURNING id",
            )
            .bind(format!("{gateway}|{}", f.fingerprint()))
            .bind(gateway)
            .bind(f.kind)
            .bind(f.charge_id)
            .bind(&f.order_ref)
            .bind(&f.payment_ids)
            .bind(f.amount_minor)
            .bind(&f.currency)
            .bind(&f.detail)
            .bind(to_db(now))
            .fetch_optional(&mut *tx)
            .await?;
            let Some(id) = id else { continue };
            let data = json!({
                "finding_id": id, "gateway": gateway, "kind": f.kind,
                "charge_id": f.charge_id, "order_ref": f.order_ref,
                "payment_ids": f.payment_ids, "amount_minor": f.amount_minor,
                "currency": f.currency, "detail": f.detail,
            });
            let hooks = self.webhook_endpoints();
            enqueue(&mut tx, hooks, EventKind::ReconciliationFinding, data, now).await?;
            new.push(f.clone());
        }
        tx.commit().await?;
        Ok(new)
    }

    /// Findings, newest first, after the keyset position `before` (an id).
    pub async fn list_findings(
        &self,
        kind: Option<FindingKind>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<StoredFinding>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, gateway, kind, charge_id, order_ref, payment_ids, amount_minor, \
               currency, detail, found_at FROM reconciliation_findings \
             WHERE ($1::text IS NULL OR kind = $1) AND ($2::bigint IS NULL OR id < $2) \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(kind.map(FindingKind::as_str))
        .bind(before)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// Takes this period's periodic run for `gateway` if no replica has taken it: true when
    /// the last run started `every` ago or more (or never).
    pub async fn take_reconciliation_turn(
        &self,
        gateway: &str,
        every: SignedDuration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let taken = sqlx::query(
            "INSERT INTO reconciliation_turns (gateway, started_at) VALUES ($1, $2) \
             ON CONFLICT (gateway) DO UPDATE SET started_at = $2 \
             WHERE reconciliation_turns.started_at <= $3",
        )
        .bind(gateway)
        .bind(to_db(now))
        .bind(to_db(now - every))
        .execute(self.pool())
        .await?;
        Ok(taken.rows_affected() == 1)
    }

    /// Makes a charge whose current request ($2) the gateway approved claimable now, so a
    /// claim can record the approval. Nothing if it moved on meanwhile (settled, a new
    /// attempt) or someone holds a live lease on it.
    pub async fn wake_for_reconciliation(
        &self,
        charge_id: Uuid,
        order_ref: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let woken = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE charges SET next_attempt_at = $3 WHERE id = $1 AND order_id = $2 \
             AND request_body IS NOT NULL AND {} AND {}",
            charge_is_due!(),
            lease_is_free!(row: "", at: "$3")
        )))
        .bind(charge_id)
        .bind(order_ref)
        .bind(to_db(now))
        .execute(self.pool())
        .await?;
        Ok(woken.rows_affected() == 1)
    }
}

fn book_status(status: &str) -> BookStatus {
    match status {
        "due" => BookStatus::Open,
        "approved" => BookStatus::Approved,
        "failed" => BookStatus::Failed,
        _ => BookStatus::Closed,
    }
}
