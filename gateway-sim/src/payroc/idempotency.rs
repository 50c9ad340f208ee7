//! Idempotency-Key handling: per-key serialisation and stored answers.
//!
//! Semantics (Payroc's idempotency guidance): same key + byte-identical body
//! replays the stored answer; same key + different body is a 409. What Payroc
//! does with a concurrent duplicate is undocumented; the simulator takes the
//! least convenient reading: 409 `idempotency-key-in-use` while the first
//! request is still being processed, and that first request completes anyway.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};
use uuid::Uuid;

use super::problem::{FieldError, Problem};
use super::reply::Reply;

pub const HEADER: &str = "idempotency-key";

/// Keys are remembered per endpoint: a secure-token key cannot collide with a
/// payment key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Payments,
    SecureTokens,
}

pub type BodyHash = [u8; 32];

pub fn body_hash(body: &[u8]) -> BodyHash {
    Sha256::digest(body).into()
}

/// State remembered for one key. Holding its guard means "I own this key".
#[derive(Default)]
pub struct Slot {
    stored: Option<(BodyHash, Reply)>,
    /// Set once the "fail the first attempt" trigger has fired for this key,
    /// so the resend is processed instead of failing forever.
    pub failed_once: bool,
}

pub enum Previous {
    Replay(Reply),
    Conflict(Problem),
}

impl Slot {
    /// The answer for a key that was already processed, if any.
    pub fn previous(&self, hash: &BodyHash) -> Option<Previous> {
        let (stored_hash, reply) = self.stored.as_ref()?;
        Some(if stored_hash == hash {
            Previous::Replay(reply.clone())
        } else {
            Previous::Conflict(Problem::conflict(
                "idempotency-key-in-use",
                "Idempotency key in use",
                "The idempotency key was already used for a request with a different body",
            ))
        })
    }

    pub fn remember(&mut self, hash: BodyHash, reply: Reply) {
        self.stored = Some((hash, reply));
    }
}

type SharedSlot = Arc<AsyncMutex<Slot>>;

#[derive(Default)]
pub struct IdempotencyStore {
    // The std mutex only guards the map lookup; the per-key async mutex is
    // what requests wait on, so distinct keys never contend for long.
    slots: Mutex<HashMap<(Scope, Uuid), SharedSlot>>,
}

impl IdempotencyStore {
    /// Takes the key for this request, or says it is in flight. Payroc does not document what
    /// a concurrent duplicate gets; the strict reading, which independent implementations of
    /// its API take, is 409 `idempotency-key-in-use` — while the first request goes on and may
    /// well be approved.
    pub fn try_lock(&self, scope: Scope, key: Uuid) -> Result<OwnedMutexGuard<Slot>, Problem> {
        let slot = {
            let mut slots = self.slots.lock().expect("idempotency map poisoned");
            Arc::clone(slots.entry((scope, key)).or_default())
        };
        slot.try_lock_owned().map_err(|_| {
            Problem::conflict(
                "idempotency-key-in-use",
                "Idempotency key in use",
                "A request with this idempotency key is still being processed",
            )
        })
    }
}

/// Reads and validates the `Idempotency-Key` header (required, UUID v4).
pub fn key_from_headers(headers: &HeaderMap) -> Result<Uuid, Problem> {
    let Some(raw) = headers.get(HEADER) else {
        let mut problem = Problem::new(
            StatusCode::BAD_REQUEST,
            "idempotency-key-missing",
            "Idempotency key missing",
            "The Idempotency-Key header is required for this request",
        );
        problem.errors.push(FieldError::new(
            "Idempotency-Key",
            "Missing required parameter",
            "The Idempotency-Key header is required",
        ));
        return Err(problem);
    };
    raw.to_str()
        .ok()
        .and_then(|s| Uuid::parse_str(s.trim()).ok())
        .filter(|uuid| uuid.get_version_num() == 4)
        .ok_or_else(|| Problem::invalid("Idempotency-Key", "Idempotency-Key must be a UUID v4"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(v) = value {
            h.insert(HEADER, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn header_validation() {
        assert_eq!(key_from_headers(&headers(None)).unwrap_err().status, 400);
        assert!(key_from_headers(&headers(Some("not-a-uuid"))).is_err());
        // Version 1 UUID: well-formed but not v4.
        assert!(key_from_headers(&headers(Some("c232ab00-9414-11ec-b3c8-9f6bdeced846"))).is_err());
        let v4 = Uuid::new_v4().to_string();
        assert!(key_from_headers(&headers(Some(&v4))).is_ok());
    }

    #[test]
    fn replay_and_conflict() {
        let mut slot = Slot::default();
        let reply = Reply::new(StatusCode::CREATED, "application/json", "{}".into());
        assert!(slot.previous(&body_hash(b"a")).is_none());
        slot.remember(body_hash(b"a"), reply);
        assert!(matches!(
            slot.previous(&body_hash(b"a")),
            Some(Previous::Replay(_))
        ));
        assert!(matches!(
            slot.previous(&body_hash(b"b")),
            Some(Previous::Conflict(_))
        ));
    }
}
