//! The transactional outbox of merchant webhooks: an event is written in the same transaction
//! as the change it announces — so there is an event if and only if the change committed — with
//! one delivery row per configured endpoint. `webhooks::worker` delivers them.

use jiff::Timestamp;
use serde_json::Value;
use uuid::Uuid;

use super::to_db;

/// What an event announces (its `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    ChargeApproved,
    ChargeDeclined,
    ChargeFailed,
    SubscriptionCompleted,
    SubscriptionPastDue,
    AccountSuspended,
    AccountReinitializationRequested,
    AccountReactivated,
    ReconciliationFinding,
    ChargeUpcoming,
    AccountCardExpiring,
    SubscriptionCancelled,
    SubscriptionPaused,
}

impl EventKind {
    pub const ALL: [EventKind; 13] = [
        EventKind::ChargeApproved,
        EventKind::ChargeDeclined,
        EventKind::ChargeFailed,
        EventKind::SubscriptionCompleted,
        EventKind::SubscriptionPastDue,
        EventKind::AccountSuspended,
        EventKind::AccountReinitializationRequested,
        EventKind::AccountReactivated,
        EventKind::ReconciliationFinding,
        EventKind::ChargeUpcoming,
        EventKind::AccountCardExpiring,
        EventKind::SubscriptionCancelled,
        EventKind::SubscriptionPaused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::ChargeApproved => "charge.approved",
            EventKind::ChargeDeclined => "charge.declined",
            EventKind::ChargeFailed => "charge.failed",
            EventKind::SubscriptionCompleted => "subscription.completed",
            EventKind::SubscriptionPastDue => "subscription.past_due",
            EventKind::AccountSuspended => "account.suspended",
            EventKind::AccountReinitializationRequested => "account.reinitialization_requested",
            EventKind::AccountReactivated => "account.reactivated",
            EventKind::ReconciliationFinding => "reconciliation.finding",
            EventKind::ChargeUpcoming => "charge.upcoming",
            EventKind::AccountCardExpiring => "account.card_expiring",
            EventKind::SubscriptionCancelled => "subscription.cancelled",
            EventKind::SubscriptionPaused => "subscription.paused",
        }
    }

    pub fn parse(text: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Records an event inside the caller's transaction, with a pending delivery to each endpoint
/// (none when `endpoints` is empty: the event is still kept, as the audit trail). `data` must
/// hold ids, amounts and reasons only — never a token, card data or a request body. Returns
/// the event id.
pub async fn enqueue(
    tx: &mut sqlx::PgConnection,
    endpoints: &[String],
    kind: EventKind,
    data: Value,
    now: Timestamp,
) -> Result<Uuid, sqlx::Error> {
    let ids = enqueue_many(tx, endpoints, vec![(kind, data)], now).await?;
    Ok(ids[0])
}

/// The event as its receivers get it: `id` (what they de-duplicate on), `type`, `created_at`
/// and the `data`.
#[derive(serde::Serialize)]
struct Event<'a, D> {
    id: Uuid,
    #[serde(rename = "type")]
    kind: &'a str,
    created_at: chrono::DateTime<chrono::Utc>,
    data: D,
}

impl<'a, D: serde::Serialize> Event<'a, D> {
    fn new(id: Uuid, kind: EventKind, data: D, now: Timestamp) -> Self {
        Event {
            id,
            kind: kind.as_str(),
            created_at: to_db(now),
            data,
        }
    }
}

/// The event written as the JSON text that is stored and sent.
pub(super) fn event_text<D: serde::Serialize>(
    id: Uuid,
    kind: EventKind,
    data: D,
    now: Timestamp,
) -> String {
    serde_json::to_string(&Event::new(id, kind, data, now)).expect("an event serializes")
}

/// `enqueue` for many events at once: two statements whatever their number (a batch of
/// recorded charges announces its approvals together).
pub async fn enqueue_many(
    tx: &mut sqlx::PgConnection,
    endpoints: &[String],
    events: Vec<(EventKind, Value)>,
    now: Timestamp,
) -> Result<Vec<Uuid>, sqlx::Error> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let at = to_db(now);
    let mut ids = Vec::with_capacity(events.len());
    let mut kinds = Vec::with_capacity(events.len());
    let mut payloads = Vec::with_capacity(events.len());
    for (kind, data) in events {
        // Time-ordered: the events' primary key grows at its right edge.
        let id = crate::ids::time_ordered(now);
        payloads.push(event_text(id, kind, data, now));
        ids.push(id);
        kinds.push(kind.as_str());
    }
    sqlx::query(
        "INSERT INTO webhook_events (id, kind, payload, created_at) \
         SELECT id, kind, payload::json, $4 FROM unnest($1::uuid[], $2::text[], $3::text[]) \
           AS u(id, kind, payload)",
    )
    .bind(&ids)
    .bind(&kinds)
    .bind(&payloads)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    if !endpoints.is_empty() {
        sqlx::query(
            "INSERT INTO webhook_deliveries (event_id, endpoint, next_attempt_at, created_at) \
             SELECT ev, e, $2, $2 FROM unnest($1::uuid[]) AS ev CROSS JOIN unnest($3::text[]) AS e \
             ON CONFLICT DO NOTHING",
        )
        .bind(&ids)
        .bind(at)
        .bind(endpoints)
        .execute(&mut *tx)
        .await?;
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EventKind::parse("charge.refunded"), None);
    }

    /// The recorder's typed text and the document other emission points build are one event.
    #[test]
    fn an_event_as_text_is_the_event_as_a_document() {
        use crate::domain::charge::{ChargeTerms, ClaimedCharge};
        use crate::domain::credential::Credential;
        use crate::domain::outcome::Outcome;
        use crate::domain::states::GatewayKind;
        use crate::gateway::GatewayAnswer;
        use crate::store::events;
        let charge = ClaimedCharge {
            terms: ChargeTerms {
                id: Uuid::new_v4(),
                subscription_id: Uuid::new_v4(),
                account_id: Uuid::new_v4(),
                cycle: 3,
                due_at: to_db("2026-12-01T09:00:00Z".parse().unwrap()),
                amount_minor: 1999,
                currency: "EUR".into(),
                processing_model: "recurring".into(),
                is_last: false,
            },
            attempt_no: 2,
            idempotency_key: Uuid::new_v4(),
            order_id: "48473c40f6f54bb9-2".into(),
            sequence: Some("subsequent".into()),
            request_body: Some("{\"a\": \"quote \\\" and é\"}".into()),
            last_outcome: None,
            gateway_payment_id: None,
            sends_so_far: 0,
            first_sent_at: None,
            lease_token: 1,
            lease_expires_at: None,
            gateway: GatewayKind::Payroc,
            credential: Credential::empty(GatewayKind::Payroc),
            series_payment_id: None,
            series_scheme_reference: None,
            series_processing_model: None,
        };
        let mut answer = GatewayAnswer::unknown("ignored");
        answer.outcome = Outcome::Approved;
        answer.fields.payment_id = Some("PAY\"1".into());
        answer.fields.processor_response_code = None;
        let (id, now) = (
            Uuid::new_v4(),
            "2026-12-02T10:11:12.345678Z".parse().unwrap(),
        );
        let kind = EventKind::ChargeApproved;
        let text = event_text(
            id,
            kind,
            events::charge_data(&charge, &answer, Some("why")),
            now,
        );
        let document = serde_json::to_value(Event::new(
            id,
            kind,
            events::charge(&charge, &answer, Some("why")),
            now,
        ))
        .unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), document);
        assert_eq!(document["data"]["amount"], 1999);
        assert_eq!(document["data"]["gateway_payment_id"], "PAY\"1");
        assert_eq!(document["data"]["processor_response_code"], Value::Null);
    }
}
