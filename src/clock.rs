//! Time is injected: billing asks a `Clock` for "now", and tests move a `ManualClock` instead of
//! sleeping. SQL never calls `now()`; it receives this instant as a bind parameter.
//!
//! This is the one module that reads the wall clock (`SystemClock`); `clippy.toml` refuses the
//! wall-clock constructors everywhere else, so a new `Timestamp::now()` cannot slip past the
//! manual clock of the tests.

use jiff::Timestamp;
use std::sync::{Arc, Mutex};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // The one reading of the wall clock (see the module note).
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

type Follower = Box<dyn Fn(Timestamp) + Send + Sync>;

/// A clock that only moves when told to; clones share the same time and followers.
#[derive(Clone)]
pub struct ManualClock(Arc<Shared>);

struct Shared {
    now: Mutex<Timestamp>,
    /// Told every new time: a test keeps a gateway simulator's clock in step with billingd's, so
    /// that the simulator judges a signed request's Date against the same "now".
    followers: Mutex<Vec<Follower>>,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        ManualClock(Arc::new(Shared {
            now: Mutex::new(start),
            followers: Mutex::new(Vec::new()),
        }))
    }
    pub fn set(&self, to: Timestamp) {
        *self.0.now.lock().expect("clock lock") = to;
        self.tell(to);
    }
    pub fn advance(&self, by: jiff::SignedDuration) {
        let moved = {
            let mut now = self.0.now.lock().expect("clock lock");
            *now = now.checked_add(by).expect("manual clock overflow");
            *now
        };
        self.tell(moved);
    }
    /// Calls `follower` with the current time, then with every time the clock is set or
    /// advanced to.
    pub fn follow(&self, follower: impl Fn(Timestamp) + Send + Sync + 'static) {
        follower(self.now());
        self.0
            .followers
            .lock()
            .expect("clock followers lock")
            .push(Box::new(follower));
    }
    fn tell(&self, now: Timestamp) {
        for follower in self
            .0
            .followers
            .lock()
            .expect("clock followers lock")
            .iter()
        {
            follower(now);
        }
    }
}

impl std::fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ManualClock").field(&self.now()).finish()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.now.lock().expect("clock lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, Ordering};

    #[test]
    fn a_follower_hears_the_start_and_every_move() {
        let clock = ManualClock::new("2027-01-01T00:00:00Z".parse().unwrap());
        let heard = Arc::new(AtomicI64::new(0));
        let h = heard.clone();
        clock.follow(move |t| h.store(t.as_second(), Ordering::SeqCst));
        assert_eq!(heard.load(Ordering::SeqCst), clock.now().as_second());
        clock.advance(jiff::SignedDuration::from_mins(2));
        assert_eq!(heard.load(Ordering::SeqCst), clock.now().as_second());
        clock.clone().set("2027-03-15T00:00:00Z".parse().unwrap());
        assert_eq!(
            heard.load(Ordering::SeqCst),
            "2027-03-15T00:00:00Z"
                .parse::<Timestamp>()
                .unwrap()
                .as_second()
        );
    }
}
