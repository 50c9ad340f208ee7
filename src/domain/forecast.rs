//! The forecast: what the book will charge over a horizon, per day and currency, worked out
//! with the same cycle math that bills (`Schedule`), so the forecast and the charges cannot
//! disagree about when a cycle falls due.
//!
//! Days are UTC calendar dates: a book spans many time zones, and finance reconciles per UTC
//! day. A cycle already due but not yet charged (an open charge waiting for its retry, or a
//! cycle the daemon has not materialized yet) counts on the first day of the forecast, since it
//! will be charged as soon as billing runs.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;

use super::schedule::Schedule;

/// An active subscription, as far as the forecast needs it.
pub struct PlannedSubscription<'a> {
    pub schedule: &'a Schedule,
    /// The next cycle not yet turned into a charge.
    pub next_cycle: u32,
    pub amount_minor: i64,
    pub currency: &'a str,
    /// The subscription ends when the current period ends: no later cycle is billed.
    pub cancel_at_period_end: bool,
}

/// Charges expected on one UTC day in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForecastDay {
    /// The UTC date.
    pub date: Date,
    pub currency: String,
    pub charges: u64,
    /// The sum in minor units of the currency.
    pub amount_minor: i64,
}

/// Sums charges per (UTC day, currency) over `[from, until)`.
pub struct Forecast {
    from: Timestamp,
    until: Timestamp,
    by_day: BTreeMap<(Date, String), (u64, i64)>,
}

impl Forecast {
    pub fn new(from: Timestamp, until: Timestamp) -> Forecast {
        Forecast {
            from,
            until,
            by_day: BTreeMap::new(),
        }
    }

    /// Adds the cycles a subscription will bill before `until`, from its next cycle on.
    pub fn add_subscription(&mut self, s: &PlannedSubscription<'_>) {
        if s.cancel_at_period_end {
            return;
        }
        let mut cycle = s.next_cycle;
        while let Some(due) = s.schedule.due_at(cycle) {
            if due >= self.until {
                break;
            }
            self.add_charge(due, s.amount_minor, s.currency);
            match cycle.checked_add(1) {
                Some(next) => cycle = next,
                None => break,
            }
        }
    }

    /// Adds one charge expected at `at` (an open charge's next attempt, or a cycle's due time);
    /// one at or after `until` is outside the forecast.
    pub fn add_charge(&mut self, at: Timestamp, amount_minor: i64, currency: &str) {
        if at >= self.until {
            return;
        }
        let date = at.max(self.from).to_zoned(TimeZone::UTC).date();
        let entry = self
            .by_day
            .entry((date, currency.to_owned()))
            .or_insert((0, 0));
        entry.0 += 1;
        entry.1 = entry.1.saturating_add(amount_minor);
    }

    /// The days with charges, by date then currency.
    pub fn days(self) -> Vec<ForecastDay> {
        self.by_day
            .into_iter()
            .map(|((date, currency), (charges, amount_minor))| ForecastDay {
                date,
                currency,
                charges,
                amount_minor,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::IntervalUnit;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn monthly(anchor: &str, tz: &str, total: Option<u32>) -> Schedule {
        Schedule::new(anchor.parse().unwrap(), tz, IntervalUnit::Month, 1, total).unwrap()
    }

    fn planned(schedule: &Schedule, next_cycle: u32) -> PlannedSubscription<'_> {
        PlannedSubscription {
            schedule,
            next_cycle,
            amount_minor: 1000,
            currency: "USD",
            cancel_at_period_end: false,
        }
    }

    #[test]
    fn counts_each_cycle_inside_the_horizon_on_its_utc_day() {
        // 23:30 in New York on the 15th is the 16th in UTC.
        let s = monthly("2026-01-15T23:30", "America/New_York", None);
        let mut f = Forecast::new(at("2026-03-01T00:00Z"), at("2026-05-01T00:00Z"));
        f.add_subscription(&planned(&s, 3));
        let days = f.days();
        let dates: Vec<String> = days.iter().map(|d| d.date.to_string()).collect();
        assert_eq!(dates, ["2026-03-16", "2026-04-16"]);
        assert!(
            days.iter()
                .all(|d| d.charges == 1 && d.amount_minor == 1000)
        );
    }

    #[test]
    fn overdue_cycles_count_on_the_first_day() {
        let s = monthly("2026-01-10T09:00", "UTC", None);
        let mut f = Forecast::new(at("2026-03-20T00:00Z"), at("2026-03-25T00:00Z"));
        // Cycles 2 (Feb 10) and 3 (Mar 10) are due and not yet charged.
        f.add_subscription(&planned(&s, 2));
        let days = f.days();
        assert_eq!(days.len(), 1);
        assert_eq!(days[0].date.to_string(), "2026-03-20");
        assert_eq!((days[0].charges, days[0].amount_minor), (2, 2000));
    }

    #[test]
    fn installments_end_and_cancel_at_period_end_bills_nothing() {
        let s = monthly("2026-01-10T09:00", "UTC", Some(3));
        let mut f = Forecast::new(at("2026-01-01T00:00Z"), at("2027-01-01T00:00Z"));
        f.add_subscription(&planned(&s, 2));
        assert_eq!(f.days().len(), 2, "cycles 2 and 3 only");
        let mut f = Forecast::new(at("2026-01-01T00:00Z"), at("2027-01-01T00:00Z"));
        f.add_subscription(&PlannedSubscription {
            cancel_at_period_end: true,
            ..planned(&s, 2)
        });
        assert!(f.days().is_empty());
    }

    #[test]
    fn sums_per_day_and_currency() {
        let mut f = Forecast::new(at("2026-01-01T00:00Z"), at("2026-01-03T00:00Z"));
        f.add_charge(at("2026-01-01T10:00Z"), 500, "USD");
        f.add_charge(at("2026-01-01T11:00Z"), 700, "USD");
        f.add_charge(at("2026-01-01T12:00Z"), 900, "SEK");
        f.add_charge(at("2026-01-03T00:00Z"), 900, "SEK"); // at the horizon: outside
        let days = f.days();
        let rows: Vec<(String, &str, u64, i64)> = days
            .iter()
            .map(|d| {
                (
                    d.date.to_string(),
                    d.currency.as_str(),
                    d.charges,
                    d.amount_minor,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("2026-01-01".to_string(), "SEK", 1, 900),
                ("2026-01-01".to_string(), "USD", 2, 1200),
            ]
        );
    }
}
