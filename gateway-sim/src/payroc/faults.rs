//! One-shot fault injection armed through `POST /_sim/faults`, consumed by the
//! next authenticated `POST /payments` requests in arrival order.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultCounters {
    /// Answer an HTML 500 without processing.
    pub fail_next: u32,
    /// Process normally, then drop the connection instead of answering.
    pub drop_next: u32,
    /// Process normally, then answer with a body that is not JSON.
    pub garbage_next: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Fail,
    Drop,
    Garbage,
}

#[derive(Default)]
pub struct Faults {
    counters: Mutex<FaultCounters>,
}

impl Faults {
    /// Replaces the counters (not additive: the body states the new plan).
    pub fn arm(&self, counters: FaultCounters) {
        *self.counters.lock().expect("faults poisoned") = counters;
    }

    pub fn current(&self) -> FaultCounters {
        *self.counters.lock().expect("faults poisoned")
    }

    /// Consumes one fault for the current request, if any is armed.
    /// When several are armed, fail beats drop beats garbage.
    pub fn take(&self) -> Option<Fault> {
        let mut c = self.counters.lock().expect("faults poisoned");
        let (counter, fault) = if c.fail_next > 0 {
            (&mut c.fail_next, Fault::Fail)
        } else if c.drop_next > 0 {
            (&mut c.drop_next, Fault::Drop)
        } else if c.garbage_next > 0 {
            (&mut c.garbage_next, Fault::Garbage)
        } else {
            return None;
        };
        *counter -= 1;
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumes_in_priority_order() {
        let faults = Faults::default();
        faults.arm(FaultCounters {
            fail_next: 1,
            drop_next: 1,
            garbage_next: 2,
        });
        let taken: Vec<_> = std::iter::from_fn(|| faults.take()).collect();
        assert_eq!(
            taken,
            [Fault::Fail, Fault::Drop, Fault::Garbage, Fault::Garbage]
        );
        assert_eq!(faults.current().garbage_next, 0);
    }
}
