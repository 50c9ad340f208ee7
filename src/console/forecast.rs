//! "What will we charge in the next 30 days", drawn: the book's forecast (`Store::forecast`,
//! the pure `domain::forecast` over the schedules that bill) as an inline SVG bar chart — no
//! script, nothing fetched.

use jiff::civil::Date;
use std::collections::BTreeMap;

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

    #[test]
    fn the_chart_has_one_bar_per_day() {
        let first = jiff::civil::date(2027, 1, 1);
        let counts = BTreeMap::from([(first, 3), (jiff::civil::date(2027, 1, 2), 1)]);
        let svg = svg(first, 30, &counts);
        assert_eq!(svg.matches("<rect").count(), 30);
        assert!(svg.contains("2027-01-01: 3"));
    }
}
