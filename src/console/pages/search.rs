//! Search by account id, subscription id (or a charge's id), merchant reference, or a card's
//! last four digits.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::super::Console;
use super::super::format;
use super::super::render::{self, Layout};
use super::super::signed_in::Session;
use crate::store::StoreError;

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

pub struct Hit {
    pub kind: &'static str,
    pub href: String,
    pub id: Uuid,
    pub summary: String,
}

#[derive(Template)]
#[template(path = "console/search.html")]
struct SearchPage {
    layout: Layout,
    q: String,
    hits: Vec<Hit>,
}

pub async fn page(
    State(c): State<Console>,
    session: Session,
    Query(q): Query<SearchQuery>,
) -> Response {
    let q = q.q.trim().to_owned();
    match hits(&c, &q).await {
        Ok(hits) => render::page(
            StatusCode::OK,
            &SearchPage {
                layout: Layout::new(&c, Some(&session), "Search"),
                q,
                hits,
            },
        ),
        Err(e) => render::store_failure(&c, &session, e),
    }
}

async fn hits(c: &Console, q: &str) -> Result<Vec<Hit>, StoreError> {
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let pool = c.api.store.pool();
    let mut hits = Vec::new();
    if let Ok(id) = Uuid::parse_str(q) {
        let account: Option<(String, String)> =
            sqlx::query_as("SELECT state, gateway FROM payment_accounts WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?;
        if let Some((state, gateway)) = account {
            hits.push(hit(
                c,
                "account",
                "accounts",
                id,
                format!("{gateway}, {state}"),
            ));
        }
        let sub: Option<(String, i64, String)> = sqlx::query_as(
            "SELECT status, amount_minor, currency FROM subscriptions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?;
        if let Some((status, amount, currency)) = sub {
            let summary = format!("{status}, {}", format::money(amount, &currency));
            hits.push(hit(c, "subscription", "subscriptions", id, summary));
        }
        let charge: Option<(String, i32)> =
            sqlx::query_as("SELECT status, cycle FROM charges WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?;
        if let Some((status, cycle)) = charge {
            hits.push(hit(
                c,
                "charge",
                "charges",
                id,
                format!("cycle {cycle}, {status}"),
            ));
        }
    }
    if q.len() == 4 && q.bytes().all(|b| b.is_ascii_digit()) {
        let accounts: Vec<(Uuid, String, Option<String>)> = sqlx::query_as(
            "SELECT id, state, card_masked FROM payment_accounts \
             WHERE right(regexp_replace(coalesce(card_masked, ''), '[^0-9]', '', 'g'), 4) = $1 \
             ORDER BY created_at DESC LIMIT 50",
        )
        .bind(q)
        .fetch_all(pool)
        .await?;
        for (id, state, card) in accounts {
            let summary = format!("card {}, {state}", format::last_four(card.as_deref()));
            hits.push(hit(c, "account", "accounts", id, summary));
        }
    }
    let by_reference: Vec<(Uuid, String, String)> = sqlx::query_as(
        "SELECT id, status, merchant_reference FROM subscriptions \
         WHERE merchant_reference = $1 OR merchant_reference ILIKE $2 \
         ORDER BY (merchant_reference = $1) DESC, created_at DESC LIMIT 50",
    )
    .bind(q)
    .bind(format!(
        "{}%",
        q.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    ))
    .fetch_all(pool)
    .await?;
    for (id, status, reference) in by_reference {
        let summary = format!("reference {reference}, {status}");
        hits.push(hit(c, "subscription", "subscriptions", id, summary));
    }
    Ok(hits)
}

fn hit(c: &Console, kind: &'static str, area: &str, id: Uuid, summary: String) -> Hit {
    Hit {
        kind,
        href: c.url(&format!("/{area}/{id}")),
        id,
        summary,
    }
}
