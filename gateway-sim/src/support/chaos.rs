//! Random faults for crash-and-fault campaigns (`scripts/faults`): each rate is the chance
//! that one sale request meets that fault. Both gateways use it, armed through their
//! `/_sim` faults routes together with the one-shot counters.

use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// Probabilities per sale request (0 … 1, at most 1 together) and the delays they use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultRates {
    /// A 500 page; the request is not processed.
    pub fail_rate: f64,
    /// Processed as usual, then the connection drops after the headers.
    pub drop_rate: f64,
    /// Processed as usual, answered `slow_ms` later.
    pub slow_rate: f64,
    pub slow_ms: u64,
    /// Held `timeout_ms` before it is processed (a client with a shorter timeout has given
    /// up and resent by then), then processed and answered as usual.
    pub timeout_rate: f64,
    pub timeout_ms: u64,
}

impl FaultRates {
    /// Every rate within 0 … 1 and their sum at most 1.
    pub fn check(&self) -> Result<(), String> {
        let rates = [
            ("fail_rate", self.fail_rate),
            ("drop_rate", self.drop_rate),
            ("slow_rate", self.slow_rate),
            ("timeout_rate", self.timeout_rate),
        ];
        for (name, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must lie between 0 and 1, got {rate}"));
            }
        }
        let sum: f64 = rates.iter().map(|(_, r)| r).sum();
        if sum > 1.0 + 1e-9 {
            return Err(format!("the rates add up to {sum}, more than 1"));
        }
        Ok(())
    }
}

/// What one request meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RandomFault {
    Fail,
    Drop,
    Slow(Duration),
    Timeout(Duration),
}

/// How many requests met each fault since the simulator started (random ones, and the
/// one-shot counters of the gateways that have them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Injected {
    pub fail: u64,
    pub drop: u64,
    pub garbage: u64,
    pub slow: u64,
    pub timeout: u64,
}

#[derive(Default)]
pub struct RandomFaults {
    rates: Mutex<FaultRates>,
    injected: Mutex<Injected>,
}

impl RandomFaults {
    pub fn set(&self, rates: FaultRates) {
        *self.rates.lock().expect("fault rates poisoned") = rates;
    }

    pub fn rates(&self) -> FaultRates {
        *self.rates.lock().expect("fault rates poisoned")
    }

    pub fn injected(&self) -> Injected {
        *self.injected.lock().expect("fault counts poisoned")
    }

    /// Counts a fault met by other means (a one-shot counter).
    pub fn count(&self, count: impl FnOnce(&mut Injected)) {
        count(&mut self.injected.lock().expect("fault counts poisoned"));
    }

    /// One draw for the current request.
    pub fn roll(&self) -> Option<RandomFault> {
        let rates = self.rates();
        if rates == FaultRates::default() {
            return None;
        }
        self.pick(rates, rand::rng().random::<f64>())
    }

    /// The fault for draw `u` in [0, 1): the rates are consecutive slices of the interval.
    fn pick(&self, r: FaultRates, u: f64) -> Option<RandomFault> {
        let mut edge = 0.0;
        let slices = [
            (r.fail_rate, RandomFault::Fail),
            (r.drop_rate, RandomFault::Drop),
            (
                r.slow_rate,
                RandomFault::Slow(Duration::from_millis(r.slow_ms)),
            ),
            (
                r.timeout_rate,
                RandomFault::Timeout(Duration::from_millis(r.timeout_ms)),
            ),
        ];
        for (rate, fault) in slices {
            edge += rate;
            if u < edge {
                self.count(|n| match fault {
                    RandomFault::Fail => n.fail += 1,
                    RandomFault::Drop => n.drop += 1,
                    RandomFault::Slow(_) => n.slow += 1,
                    RandomFault::Timeout(_) => n.timeout += 1,
                });
                return Some(fault);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates() -> FaultRates {
        FaultRates {
            fail_rate: 0.1,
            drop_rate: 0.2,
            slow_rate: 0.3,
            slow_ms: 5,
            timeout_rate: 0.1,
            timeout_ms: 7,
        }
    }

    #[test]
    fn draws_fall_into_consecutive_slices_and_are_counted() {
        let faults = RandomFaults::default();
        let r = rates();
        assert_eq!(faults.pick(r, 0.05), Some(RandomFault::Fail));
        assert_eq!(faults.pick(r, 0.25), Some(RandomFault::Drop));
        assert_eq!(
            faults.pick(r, 0.35),
            Some(RandomFault::Slow(Duration::from_millis(5)))
        );
        assert_eq!(
            faults.pick(r, 0.65),
            Some(RandomFault::Timeout(Duration::from_millis(7)))
        );
        assert_eq!(faults.pick(r, 0.75), None);
        assert_eq!(
            faults.injected(),
            Injected {
                fail: 1,
                drop: 1,
                garbage: 0,
                slow: 1,
                timeout: 1
            }
        );
    }

    #[test]
    fn nothing_armed_means_no_fault() {
        let faults = RandomFaults::default();
        assert!((0..1000).all(|_| faults.roll().is_none()));
        faults.set(FaultRates {
            fail_rate: 1.0,
            ..FaultRates::default()
        });
        assert!((0..100).all(|_| faults.roll() == Some(RandomFault::Fail)));
        assert_eq!(faults.injected().fail, 100);
    }

    #[test]
    fn rates_are_checked() {
        assert!(rates().check().is_ok());
        let too_much = FaultRates {
            fail_rate: 0.6,
            drop_rate: 0.6,
            ..FaultRates::default()
        };
        assert!(too_much.check().unwrap_err().contains("more than 1"));
        let negative = FaultRates {
            slow_rate: -0.1,
            ..FaultRates::default()
        };
        assert!(negative.check().unwrap_err().contains("slow_rate"));
    }
}
