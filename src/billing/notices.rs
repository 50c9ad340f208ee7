//! Notices ahead of a charge (`charge.upcoming`, `account.card_expiring`), sent on the billing
//! heartbeat by every replica; the store makes each one once-only.

use std::sync::Arc;

use serde::Serialize;

use crate::clock::Clock;
use crate::config::NoticeSettings;
use crate::store::{Store, StoreError};

pub struct Notices {
    store: Store,
    clock: Arc<dyn Clock>,
    settings: NoticeSettings,
}

/// What one pass sent.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NoticesSent {
    pub upcoming: u64,
    pub card_expiring: u64,
}

impl Notices {
    pub fn new(store: Store, clock: Arc<dyn Clock>, settings: NoticeSettings) -> Notices {
        Notices {
            store,
            clock,
            settings,
        }
    }

    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }

    /// One pass over what falls due within each notice's lead time.
    pub async fn send(&self) -> Result<NoticesSent, StoreError> {
        if !self.settings.enabled {
            return Ok(NoticesSent::default());
        }
        let now = self.clock.now();
        let lead = |d: crate::config::Delay| now.checked_add(d.signed()).unwrap_or(now);
        Ok(NoticesSent {
            upcoming: self
                .store
                .notify_upcoming(now, lead(self.settings.upcoming_before))
                .await?,
            card_expiring: self
                .store
                .notify_card_expiring(now, lead(self.settings.card_expiring_before))
                .await?,
        })
    }

    /// The heartbeat's call: a failed pass is logged and retried on the next tick (nothing was
    /// recorded for a notice whose transaction failed).
    pub async fn tick(&self) {
        match self.send().await {
            Ok(sent) if sent != NoticesSent::default() => {
                tracing::info!(
                    upcoming = sent.upcoming,
                    card_expiring = sent.card_expiring,
                    "notices sent"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "notices not sent this tick"),
        }
    }
}
