//! The one line each run logs: what was due and what became of it.

use serde::Serialize;

use super::send::SendResult;
use crate::store::outcomes::Recorded;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// Charges materialized by this run (cycles that fell due).
    pub due: u64,
    /// Missed cycles recorded as skipped (catch_up = "latest").
    pub skipped: u64,
    /// Charges sent (each counted once, however many resends it took).
    pub sent: u64,
    pub approved: u64,
    pub declined: u64,
    pub retry_scheduled: u64,
    pub unknown: u64,
    pub suspended: u64,
    pub errors: u64,
    pub duration_ms: u64,
}

impl RunSummary {
    pub(super) fn add(&mut self, r: SendResult) {
        match r {
            SendResult::Recorded(rec) => {
                self.sent += 1;
                match rec {
                    Recorded::Approved => self.approved += 1,
                    Recorded::RetryScheduled => {
                        self.declined += 1;
                        self.retry_scheduled += 1
                    }
                    Recorded::Failed => self.declined += 1,
                    Recorded::Suspended | Recorded::Held => self.suspended += 1,
                    Recorded::StillOpen => self.unknown += 1,
                    Recorded::LeaseLost => {}
                }
            }
            SendResult::Error => self.errors += 1,
        }
    }

    pub(super) fn log(&self) {
        tracing::info!(
            event = "billing.run",
            due = self.due,
            skipped = self.skipped,
            sent = self.sent,
            approved = self.approved,
            declined = self.declined,
            retry_scheduled = self.retry_scheduled,
            unknown = self.unknown,
            suspended = self.suspended,
            errors = self.errors,
            duration_ms = self.duration_ms,
            "billing run finished"
        );
    }
}
