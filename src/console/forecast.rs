//! "What will we charge in the next 30 days": each billable subscription's next cycles from the
//! pure schedule functions (the same `Schedule::upcoming` the preview uses), summed per UTC day
//! and currency, and drawn as an inline SVG bar chart — no script, nothing fetched.

use jiff::Timestamp;
use jiff::civil::Date;
use std::collections::BTreeMap;

use crate::domain::schedule::Schedule;

/// One subscription that will bill: its schedule, next cycle and current amount.
pub struct Billable {
    pub schedule: Schedule,
    pub next_cycle: u32,
    pub amount_minor: i64,
    pub currency: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DayTotal {
    pub count: u64,
    pub amount_minor: i64,
}

/// Expected charges per (UTC day, currency) for cycles due in `[from, to)`.
pub fn expected(
    billables: &[Billable],
    from: Timestamp,
    to: Timestamp,
) -> BTreeMap<(Date, String), DayTotal> {
    let mut days: BTreeMap<(Date, String), DayTotal> = BTreeMap::new();
    for b in billables {
        let mut cycle = b.next_cycle.max(1);
        // A daily plan has at most ~31 cycles in the window; the bound keeps a bad row finite.
        for _ in 0..400 {
            let Some(due) = b.schedule.due_at(cycle) else {
                break;
            };
            if due >= to {
                break;
            }
            if due >= from || cycle == b.next_cycle {
                // A cycle already due but not yet materialized is charged at the next run.
                let day = due.max(from).to_zoned(jiff::tz::TimeZone::UTC).date();
                let total = days.entry((day, b.currency.clone())).or_default();
                total.count += 1;
                total.amount_minor = total.amount_minor.saturating_add(b.amount_minor);
            }
            match cycle.checked_add(1) {
                Some(next) => cycle = next,
                None => break,
            }
        }
    }
    days
}

/// Charges per day over `days` consecutive days from `first`, as bars in an SVG (labelled for
/// screen readers; the table next to it carries the amounts).
pub fn svg(first: Date, days: usize, counts: &BTreeMap<Date, u64>) -> String {
    let (w, h, pad) = (720.0_f64, 180.0_f64, 20.0_f64);
    let max = counts.values().copied().max().unwrap_or(0).max(1) as f64;
    let bar = (w - 2.0 * pad) / days as f64;
    let mut out = format!(
        "<svg viewBox=\"0 0 {w} {h}\" role=\"img\" aria-labelledby=\"chart-title\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title id=\"chart-title\">Expected charges per day, \
         next {days} days (most on one day: {max})</title>"
    );
    let mut day = first;
    for i in 0..days {
        let n = counts.get(&day).copied().unwrap_or(0);
        let height = (h - 2.0 * pad) * n as f64 / max;
        let x = pad + i as f64 * bar;
        let y = h - pad - height;
        out.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{height:.1}\"><title>{day}: {n}</title></rect>",
            (bar - 2.0).max(1.0)
        ));
        if i % 7 == 0 {
            out.push_str(&format!(
                "<text x=\"{x:.1}\" y=\"{:.1}\">{}</text>",
                h - 4.0,
                day.strftime("%m-%d")
            ));
        }
        day = day.tomorrow().unwrap_or(day);
    }
    out.push_str(&format!(
        "<text x=\"{pad}\" y=\"12\">{max} max</text></svg>"
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::IntervalUnit;

    fn billable(anchor: &str, unit: IntervalUnit, next: u32, total: Option<u32>) -> Billable {
        Billable {
            schedule: Schedule::new(anchor.parse().unwrap(), "Europe/Paris", unit, 1, total)
                .unwrap(),
            next_cycle: next,
            amount_minor: 1000,
            currency: "EUR".into(),
        }
    }

    #[test]
    fn cycles_are_counted_per_utc_day_and_currency_within_the_window() {
        let from: Timestamp = "2027-01-01T00:00:00Z".parse().unwrap();
        let to: Timestamp = "2027-01-31T00:00:00Z".parse().unwrap();
        let daily = billable("2027-01-01T09:00", IntervalUnit::Day, 1, Some(3));
        let monthly = billable("2026-12-02T00:30", IntervalUnit::Month, 2, None);
        let days = expected(&[daily, monthly], from, to);
        let jan = |d| (jiff::civil::date(2027, 1, d), "EUR".to_string());
        // The daily plan's first cycle and the monthly one (00:30 in Paris on Jan 2 is Jan 1,
        // 23:30 UTC) fall on Jan 1; the monthly's next is in February, outside the window.
        assert_eq!(
            days[&jan(1)],
            DayTotal {
                count: 2,
                amount_minor: 2000
            }
        );
        assert_eq!(days[&jan(2)].count, 1);
        assert_eq!(days[&jan(3)].count, 1, "the third installment is the last");
        assert_eq!(days.len(), 3, "{days:?}");
    }

    #[test]
    fn a_cycle_already_due_counts_on_the_first_day() {
        let from: Timestamp = "2027-01-10T00:00:00Z".parse().unwrap();
        let to: Timestamp = "2027-02-09T00:00:00Z".parse().unwrap();
        let monthly = billable("2027-01-05T09:00", IntervalUnit::Month, 1, None);
        let days = expected(&[monthly], from, to);
        assert_eq!(days.len(), 2, "{days:?}");
        assert!(days.contains_key(&(jiff::civil::date(2027, 1, 10), "EUR".into())));
    }

    #[test]
    fn the_chart_has_one_bar_per_day() {
        let first = jiff::civil::date(2027, 1, 1);
        let counts = BTreeMap::from([(first, 3), (jiff::civil::date(2027, 1, 2), 1)]);
        let svg = svg(first, 30, &counts);
        assert_eq!(svg.matches("<rect").count(), 30);
        assert!(svg.contains("2027-01-01: 3"));
    }
}
