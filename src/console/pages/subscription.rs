//! A subscription: its schedule with the next cycles and the preview's explanations (the API's
//! own preview), its charges, and the actions its state accepts (the domain's lifecycle rule).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use uuid::Uuid;

use super::super::Console;
use super::super::format;
use super::super::render::{self, Layout};
use super::super::signed_in::Session;
use super::ChargeRow;
use crate::domain::lifecycle::{Command, decide};
use crate::store::{StoreError, from_db_local};

pub struct CycleRow {
    pub cycle: u32,
    pub due: String,
    pub sequence: String,
    pub is_last: bool,
    pub notes: Vec<String>,
}

#[derive(Template)]
#[template(path = "console/subscription.html")]
struct SubscriptionPage {
    layout: Layout,
    id: Uuid,
    account_id: Uuid,
    status: String,
    amount: String,
    schedule: String,
    anchor: String,
    next_cycle: i32,
    next_due: String,
    reference: String,
    series: String,
    cancel_at_period_end: bool,
    paused: String,
    cancelled: String,
    cycles: Vec<CycleRow>,
    charges: Vec<ChargeRow>,
    actions: Vec<(&'static str, &'static str)>,
}

pub async fn page(State(c): State<Console>, session: Session, Path(id): Path<String>) -> Response {
    render::record_page(&c, &session, &id, "No such subscription.", async |id| {
        load(&c, &session, id).await
    })
    .await
}

/// The actions a subscription in this state accepts, as (path segment, label).
fn actions(status: crate::domain::states::SubscriptionStatus) -> Vec<(&'static str, &'static str)> {
    [
        (Command::Pause, "pause", "Pause…"),
        (Command::Resume, "resume", "Resume…"),
        (Command::Cancel, "cancel", "Cancel…"),
    ]
    .into_iter()
    .filter(|(command, _, _)| decide(status, *command).is_ok())
    .map(|(_, action, label)| (action, label))
    .collect()
}

async fn load(c: &Console, session: &Session, id: Uuid) -> Result<SubscriptionPage, StoreError> {
    let s = c.api.store.subscription(id).await?;
    let schedule = s.schedule()?;
    let zone = s.time_zone.clone();
    let from = if s.next_due_at.is_some() {
        s.next_cycle as u32
    } else {
        u32::MAX
    };
    let preview = crate::api::preview::preview(&schedule, from, 12);
    let cycles = preview
        .cycles
        .into_iter()
        .map(|p| CycleRow {
            cycle: p.cycle,
            due: format::both(p.due_at, &zone),
            sequence: format!("{} · {}", p.sequence, p.processing_model),
            is_last: p.is_last,
            notes: p.notes,
        })
        .collect();
    let charges = c
        .api
        .store
        .charges(Some(id), 500)
        .await?
        .into_iter()
        .rev()
        .map(|ch| ChargeRow {
            id: ch.id,
            cycle: ch.cycle,
            due: format::both(ch.due_at, &zone),
            amount: format::money(ch.amount_minor, &ch.currency),
            status: ch.status.to_string(),
            attempts: ch.attempt_no,
            outcome: format::opt(ch.last_outcome),
        })
        .collect();
    Ok(SubscriptionPage {
        layout: Layout::new(c, Some(session), format!("Subscription {id}")),
        id,
        account_id: s.account_id,
        status: s.status.to_string(),
        amount: format::money(s.amount_minor, &s.currency),
        schedule: format!(
            "every {} {}(s){}",
            s.interval_count,
            s.interval_unit,
            s.total_cycles
                .map(|t| format!(", {t} cycles"))
                .unwrap_or_default()
        ),
        anchor: format!("{} {}", from_db_local(s.anchor_local), s.time_zone),
        next_cycle: s.next_cycle,
        next_due: s
            .next_due_at
            .map(|at| format::both(at, &zone))
            .unwrap_or_else(|| "—".into()),
        reference: format::opt(s.merchant_reference),
        series: match &s.series_payment_id {
            Some(p) => format!(
                "opened by payment {p} ({})",
                format::opt(s.series_processing_model.as_deref())
            ),
            None => "none yet: the next charge opens one as `first`".into(),
        },
        cancel_at_period_end: s.cancel_at_period_end,
        paused: format::utc_opt(s.paused_at),
        cancelled: format::utc_opt(s.cancelled_at),
        cycles,
        charges,
        actions: actions(s.status),
    })
}
