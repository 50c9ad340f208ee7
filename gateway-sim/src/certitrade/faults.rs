//! Faults armed through `POST /_sim/certitrade/faults`: one-shot counters for `POST /payment`
//! and `POST /payment_account`, consumed in the order requests arrive (a fail before a drop),
//! then random faults on `POST /payment` at the armed rates (see `support::chaos`).

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::support::chaos::{FaultRates, Injected, RandomFault, RandomFaults};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultCounters {
    /// `POST /payment`: a 500 api-problem; nothing processed or remembered.
    pub fail_next: u32,
    /// `POST /payment`: processed (and remembered under its message_id), then the connection
    /// drops after the headers.
    pub drop_next: u32,
    /// `POST /payment_account`: a 500 api-problem; no account created.
    pub account_fail_next: u32,
    /// `POST /payment_account`: the account is created (and the answer remembered under its
    /// message_id), then the connection drops after the headers.
    pub account_drop_next: u32,
}

/// The body of `POST /_sim/certitrade/faults`: counters and rates (anything missing is 0).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultPlan {
    #[serde(flatten)]
    pub counters: FaultCounters,
    #[serde(flatten)]
    pub rates: FaultRates,
}

impl FaultPlan {
    pub fn check(&self) -> Result<(), String> {
        self.rates.check()
    }
}

/// `GET /_sim/certitrade/faults`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FaultStatus {
    #[serde(flatten)]
    pub counters: FaultCounters,
    #[serde(flatten)]
    pub rates: FaultRates,
    pub injected: Injected,
}

/// A one-shot fault for `POST /payment_account`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountFault {
    Fail,
    Drop,
}

#[derive(Default)]
pub struct Faults {
    counters: Mutex<FaultCounters>,
    random: RandomFaults,
}

/// Takes one from the first armed counter of `counters`, with the fault it stands for.
fn take_one<F: Copy>(counters: [(&mut u32, F); 2]) -> Option<F> {
    counters
        .into_iter()
        .find(|(left, _)| **left > 0)
        .map(|(left, fault)| {
            *left -= 1;
            fault
        })
}

impl Faults {
    /// Replaces counters and rates (not additive: the body states the new plan).
    pub fn arm(&self, plan: FaultPlan) {
        *self.counters.lock().expect("faults poisoned") = plan.counters;
        self.random.set(plan.rates);
    }

    pub fn current(&self) -> FaultStatus {
        FaultStatus {
            counters: *self.counters.lock().expect("faults poisoned"),
            rates: self.random.rates(),
            injected: self.random.injected(),
        }
    }

    /// The fault the current `POST /payment` meets: a counter first, then a random draw.
    pub fn take_payment(&self) -> Option<RandomFault> {
        let armed = {
            let mut c = self.counters.lock().expect("faults poisoned");
            let c = &mut *c;
            take_one([
                (&mut c.fail_next, RandomFault::Fail),
                (&mut c.drop_next, RandomFault::Drop),
            ])
        };
        match armed {
            Some(fault) => {
                self.count(fault == RandomFault::Fail);
                Some(fault)
            }
            None => self.random.roll(),
        }
    }

    /// The fault the current `POST /payment_account` meets (counters only).
    pub fn take_account(&self) -> Option<AccountFault> {
        let armed = {
            let mut c = self.counters.lock().expect("faults poisoned");
            let c = &mut *c;
            take_one([
                (&mut c.account_fail_next, AccountFault::Fail),
                (&mut c.account_drop_next, AccountFault::Drop),
            ])
        };
        if let Some(fault) = armed {
            self.count(fault == AccountFault::Fail);
        }
        armed
    }

    fn count(&self, fail: bool) {
        self.random
            .count(|n| if fail { n.fail += 1 } else { n.drop += 1 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_used_up_per_route_fail_first() {
        let faults = Faults::default();
        faults.arm(FaultPlan {
            counters: FaultCounters {
                fail_next: 1,
                drop_next: 1,
                account_fail_next: 0,
                account_drop_next: 1,
            },
            rates: FaultRates::default(),
        });
        assert_eq!(faults.take_account(), Some(AccountFault::Drop));
        assert_eq!(faults.take_account(), None);
        assert_eq!(faults.take_payment(), Some(RandomFault::Fail));
        assert_eq!(faults.take_payment(), Some(RandomFault::Drop));
        assert_eq!(faults.take_payment(), None);
        let status = faults.current();
        assert_eq!(status.counters, FaultCounters::default());
        assert_eq!((status.injected.fail, status.injected.drop), (1, 2));
    }
}
