//! The plan of each wave: kinds, amounts, schedules and merchant actions drawn from the seeded
//! random generator (the draws keep their order, so a seed repeats a campaign).

use jiff::{SignedDuration, Timestamp};
use rand::Rng;
use rand::rngs::StdRng;

use crate::calendar::{Schedule, Unit};
use crate::seed::{Action, Kind, Spec};

/// Normal amounts: no simulator trigger in their last two digits.
const AMOUNTS: [i64; 8] = [1000, 1250, 1500, 1990, 2500, 4900, 990, 1210];

/// The specs of one wave, created `at` (from the start of the run), with every cycle the
/// wave brings due before `load_end`.
pub fn plan_wave(
    rng: &mut StdRng,
    first_index: usize,
    count: usize,
    now: Timestamp,
    until_load_end: SignedDuration,
) -> Vec<Spec> {
    let mut specs: Vec<Spec> = Vec::with_capacity(count);
    for i in 0..count {
        let kind = Kind::pick(rng);
        let amount = pick_amount(rng, kind);
        let schedule = pick_schedule(rng, now, until_load_end);
        let action = pick_action(rng, kind, until_load_end);
        // Two subscriptions on one card: a later spec of the same approving kind may share the
        // account of an earlier one in this wave (never one the merchant suspends).
        let shares_account_of = match kind {
            Kind::PayrocOk | Kind::CertiOk if action.is_none() && rng.random_bool(0.2) => specs
                .iter()
                .enumerate()
                .rev()
                .find(|(_, s)| {
                    s.kind == kind && s.action.is_none() && s.shares_account_of.is_none()
                })
                .map(|(j, _)| first_index + j),
            _ => None,
        };
        specs.push(Spec {
            reference: format!("faults-{:06}", first_index + i),
            kind,
            amount,
            currency: if kind.gateway() == "payroc" {
                "USD"
            } else {
                "SEK"
            },
            schedule,
            action,
            account: None,
            subscription: None,
            shares_account_of,
        });
    }
    specs
}

/// An amount whose last two digits make the simulator behave as the kind requires.
fn pick_amount(rng: &mut StdRng, kind: Kind) -> i64 {
    let base = AMOUNTS[rng.random_range(0..AMOUNTS.len())];
    match kind {
        Kind::PayrocTrigger => base / 100 * 100 + [95, 96, 97, 99][rng.random_range(0..4)],
        Kind::CertiOk if rng.random_bool(0.12) => {
            base / 100 * 100 + [96, 99][rng.random_range(0..2)]
        }
        Kind::PayrocDeclined => base / 100 * 100 + 1,
        Kind::PayrocHard => base / 100 * 100 + 54,
        Kind::PayrocPickup => base / 100 * 100 + 43,
        Kind::CertiDeclined => base / 100 * 100 + 51,
        _ => base,
    }
}

/// A weekly, monthly or daily-installment schedule, some cycles behind, whose next cycle falls
/// due during the run, at least 10 s before its faults stop.
fn pick_schedule(rng: &mut StdRng, now: Timestamp, until_load_end: SignedDuration) -> Schedule {
    let zone = match rng.random_range(0..20) {
        0..=13 => "UTC",
        14..=16 => "Europe/Paris",
        _ => "America/New_York",
    };
    let (unit, total, behind) = match rng.random_range(0..20) {
        0..=8 => (Unit::Week, None, rng.random_range(0..=5)),
        9..=14 => (Unit::Month, None, rng.random_range(0..=3)),
        _ => {
            let total = rng.random_range(3..=6);
            (Unit::Day, Some(total), rng.random_range(0..=total))
        }
    };
    let room = (until_load_end.as_secs() - 12).max(2);
    let ahead = SignedDuration::from_secs(rng.random_range(1..=room));
    Schedule::anchored(zone, unit, total, now, behind, ahead)
}

/// For some approving subscriptions, a merchant cancel or account suspension at a random instant.
fn pick_action(
    rng: &mut StdRng,
    kind: Kind,
    until_load_end: SignedDuration,
) -> Option<(Action, SignedDuration)> {
    match kind {
        Kind::PayrocOk | Kind::CertiOk if rng.random_bool(0.12) => {
            let what = if rng.random_bool(0.5) {
                Action::Cancel
            } else {
                Action::SuspendAccount
            };
            // Half of them while the catch-up cycles are in flight, half at any time.
            let latest = (until_load_end.as_millis() as i64 - 8_000).max(600);
            let latest = if rng.random_bool(0.5) {
                latest.min(6_000)
            } else {
                latest
            };
            let at = SignedDuration::from_millis(rng.random_range(300..=latest.max(300)));
            Some((what, at))
        }
        _ => None,
    }
}
