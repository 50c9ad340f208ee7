//! Row ids that follow time. A random UUIDv4 key puts every insert on a random page of its
//! index, and after each checkpoint the first change to a page writes the whole page to the
//! WAL; in a large store that is most inserts. A UUIDv7 taken from the clock's time, with a
//! counter within the millisecond, makes each new id the largest yet, so inserts land at the
//! index's right edge (docs/performance.md, steps 9 and 11).

use std::sync::Mutex;

use jiff::Timestamp;
use uuid::{ContextV7, Uuid};

/// One sequence for the process: ids made in the same millisecond still ascend, and an id is
/// never smaller than one made before it (a clock set back keeps the time already reached).
static SEQUENCE: Mutex<ContextV7> = Mutex::new(ContextV7::new());

/// A new time-ordered id at `now` (a UUIDv7; its random part is 62 bits or more).
pub fn time_ordered(now: Timestamp) -> Uuid {
    let sequence = SEQUENCE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    in_sequence(&sequence, now)
}

fn in_sequence(sequence: &ContextV7, now: Timestamp) -> Uuid {
    let since_epoch = now.as_duration();
    let (secs, nanos) = (
        since_epoch.as_secs().max(0) as u64,
        since_epoch.subsec_nanos().max(0) as u32,
    );
    Uuid::new_v7(uuid::Timestamp::from_unix(sequence, secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Later ids are larger, to the millisecond and within it, and carry the clock's time.
    #[test]
    fn ids_ascend_with_the_clock_and_within_a_millisecond() {
        let sequence = ContextV7::new();
        let t: Timestamp = "2026-12-07T02:40:00.001Z".parse().unwrap();
        let later = t + jiff::SignedDuration::from_millis(1);
        let (a, b) = (in_sequence(&sequence, t), in_sequence(&sequence, t));
        let c = in_sequence(&sequence, later);
        assert!(a < b && b < c, "{a} {b} {c}");
        assert_eq!(a.get_version_num(), 7);
        let (secs, _) = a.get_timestamp().unwrap().to_unix();
        assert_eq!(secs as i64, t.as_second());
        // The process's sequence ascends too, whatever time other callers gave it.
        let (d, e) = (time_ordered(t), time_ordered(t));
        assert!(d < e);
    }
}
