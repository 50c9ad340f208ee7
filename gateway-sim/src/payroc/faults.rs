//! Fault injection armed through `POST /_sim/faults`: one-shot counters, consumed by the
//! next authenticated `POST /payments` requests in arrival order, then random faults at the
//! armed rates (see `support::chaos`).

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::support::chaos::{FaultRates, Injected, RandomFault, RandomFaults};

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultCounters {
    /// Answer an HTML 500 without processing.
    pub fail_next: u32,
    /// Process normally, then drop the connection instead of answering.
    pub drop_next: u32,
    /// Process normally, then answer with a body that is not JSON.
    pub garbage_next: u32,
    /// `POST …/secure-tokens`: an HTML 500; no token is made, nothing is remembered.
    pub token_fail_next: u32,
    /// `POST …/secure-tokens`: the token is made and the answer remembered under its key,
    /// then the connection drops after the headers.
    pub token_drop_next: u32,
}

/// The body of `POST /_sim/faults`: counters and rates (anything missing is 0).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultPlan {
    #[serde(flatten)]
    pub counters: FaultCounters,
    #[serde(flatten)]
    pub rates: FaultRates,
}

/// `GET /_sim/faults`: what is left of the counters, the rates, and how many requests met
/// each random fault so far.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FaultStatus {
    #[serde(flatten)]
    pub counters: FaultCounters,
    #[serde(flatten)]
    pub rates: FaultRates,
    pub injected: Injected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Fail,
    Drop,
    Garbage,
    /// Processed, answered after this long.
    Slow(Duration),
    /// Held this long before it is processed.
    Timeout(Duration),
}

#[derive(Default)]
pub struct Faults {
    counters: Mutex<FaultCounters>,
    random: RandomFaults,
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

    /// The one-shot fault the current secure-token request meets (a fail before a drop).
    pub fn take_token(&self) -> Option<Fault> {
        let mut c = self.counters.lock().expect("faults poisoned");
        let fault = if c.token_fail_next > 0 {
            c.token_fail_next -= 1;
            Fault::Fail
        } else if c.token_drop_next > 0 {
            c.token_drop_next -= 1;
            Fault::Drop
        } else {
            return None;
        };
        drop(c);
        self.random.count(|n| match fault {
            Fault::Fail => n.fail += 1,
            _ => n.drop += 1,
        });
        Some(fault)
    }

    /// Consumes one fault for the current request, if any is armed: the counters first
    /// (fail beats drop beats garbage), then a draw at the armed rates.
    pub fn take(&self) -> Option<Fault> {
        {
            let mut c = self.counters.lock().expect("faults poisoned");
            let armed = if c.fail_next > 0 {
                Some((&mut c.fail_next, Fault::Fail))
            } else if c.drop_next > 0 {
                Some((&mut c.drop_next, Fault::Drop))
            } else if c.garbage_next > 0 {
                Some((&mut c.garbage_next, Fault::Garbage))
            } else {
                None
            };
            if let Some((counter, fault)) = armed {
                *counter -= 1;
                self.random.count(|n| match fault {
                    Fault::Fail => n.fail += 1,
                    Fault::Drop => n.drop += 1,
                    _ => n.garbage += 1,
                });
                return Some(fault);
            }
        }
        self.random.roll().map(|f| match f {
            RandomFault::Fail => Fault::Fail,
            RandomFault::Drop => Fault::Drop,
            RandomFault::Slow(d) => Fault::Slow(d),
            RandomFault::Timeout(d) => Fault::Timeout(d),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumes_in_priority_order() {
        let faults = Faults::default();
        faults.arm(FaultPlan {
            counters: FaultCounters {
                fail_next: 1,
                drop_next: 1,
                garbage_next: 2,
                ..FaultCounters::default()
            },
            rates: FaultRates::default(),
        });
        let taken: Vec<_> = std::iter::from_fn(|| faults.take()).collect();
        assert_eq!(
            taken,
            [Fault::Fail, Fault::Drop, Fault::Garbage, Fault::Garbage]
        );
        assert_eq!(faults.current().counters.garbage_next, 0);
    }

    #[test]
    fn token_counters_are_apart_from_the_payment_ones() {
        let faults = Faults::default();
        faults.arm(FaultPlan {
            counters: FaultCounters {
                drop_next: 1,
                token_fail_next: 1,
                token_drop_next: 1,
                ..FaultCounters::default()
            },
            rates: FaultRates::default(),
        });
        assert_eq!(faults.take_token(), Some(Fault::Fail));
        assert_eq!(faults.take_token(), Some(Fault::Drop));
        assert_eq!(faults.take_token(), None);
        assert_eq!(faults.take(), Some(Fault::Drop));
        assert_eq!(
            (
                faults.current().injected.fail,
                faults.current().injected.drop
            ),
            (1, 2)
        );
    }

    #[test]
    fn counters_go_before_rates_and_a_plan_parses_from_either() {
        let plan: FaultPlan =
            serde_json::from_str(r#"{"fail_next": 1, "slow_rate": 1, "slow_ms": 250}"#).unwrap();
        assert_eq!(plan.counters.fail_next, 1);
        assert_eq!(plan.rates.slow_rate, 1.0);
        let faults = Faults::default();
        faults.arm(plan);
        assert_eq!(faults.take(), Some(Fault::Fail));
        assert_eq!(faults.take(), Some(Fault::Slow(Duration::from_millis(250))));
        assert_eq!(faults.current().injected.slow, 1);
        let status = serde_json::to_value(faults.current()).unwrap();
        assert_eq!(status["fail_next"], 0);
        assert_eq!(status["slow_rate"], 1.0);
        assert_eq!(status["injected"]["slow"], 1);
    }
}
