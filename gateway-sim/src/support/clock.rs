//! UTC timestamps in the shapes the gateways print, without pulling a
//! date-time crate into the simulator: it only ever needs "now, in UTC".
//! (HTTP `Date` headers are parsed and printed by `httpdate`.)
//!
//! A gateway's server has its own clock, the wall clock, and this module is where the simulator
//! reads it (billingd's clippy.toml refuses wall-clock reads elsewhere).
#![allow(clippy::disallowed_methods)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The simulator's "now": wall time shifted by an offset a test sets (`POST /_sim/clock`), so
/// that billingd on a manual clock and the gateway it talks to agree on what "processed between
/// dateFrom and dateTo" means, and on whether a CertiTrade request's `Date` is fresh. Payroc's
/// bearer-token lifetimes keep the wall clock (they are measured, not dated).
#[derive(Debug, Default)]
pub struct SimClock {
    offset_ms: AtomicI64,
}

impl SimClock {
    /// From now on, "now" reads `unix_ms` and moves on with the wall clock.
    pub fn set_now(&self, unix_ms: i64) {
        self.offset_ms
            .store(unix_ms - wall_unix_millis(), Ordering::Relaxed);
    }

    pub fn now_unix_millis(&self) -> i64 {
        wall_unix_millis() + self.offset_ms.load(Ordering::Relaxed)
    }

    pub fn now_system_time(&self) -> SystemTime {
        let millis = self.now_unix_millis();
        match u64::try_from(millis) {
            Ok(after) => UNIX_EPOCH + std::time::Duration::from_millis(after),
            Err(_) => UNIX_EPOCH - std::time::Duration::from_millis(millis.unsigned_abs()),
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, Payroc's shape.
    pub fn now_rfc3339(&self) -> String {
        format_unix_millis(self.now_unix_millis())
    }

    /// `YYYY-MM-DD HH:MM:SS`, CertiTrade's shape.
    pub fn now_spaced(&self) -> String {
        spaced(self.now_unix_millis().div_euclid(1000))
    }
}

fn wall_unix_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as i64
}

/// Parses an ISO 8601 / RFC 3339 date-time with an offset (`2027-01-01T00:00:00Z`,
/// `…T00:00:00.250+01:00`) to Unix milliseconds; `None` for anything else. A typed API refuses
/// what it cannot read, and so does the simulator.
pub fn parse_rfc3339_millis(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<3}", &frac[..digits.min(3)]);
        millis = padded.parse::<i64>().ok()?;
        rest = &frac[digits..];
    }
    let offset_min = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hh: i64 = rest[1..3].parse().ok()?;
            let mm: i64 = rest[4..6].parse().ok()?;
            sign * (hh * 60 + mm)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month as u32, day as u32);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_min * 60;
    Some(secs * 1000 + millis)
}

/// Howard Hinnant's civil-to-days algorithm, the inverse of `civil_from_days`.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Current UTC time as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn now_rfc3339() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format_unix_millis(since.as_millis() as i64)
}

/// `YYYY-MM-DD HH:MM:SS` (UTC), the shape of CertiTrade's `created` fields.
pub fn now_spaced() -> String {
    spaced(now_unix_secs())
}

fn spaced(secs: i64) -> String {
    let t = Civil::from_unix(secs);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// `YYYYMMDDhhmmss` (UTC), the shape of CertiTrade's callback `timestamp`.
pub fn now_compact() -> String {
    compact(now_unix_secs())
}

fn compact(secs: i64) -> String {
    let t = Civil::from_unix(secs);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

fn now_unix_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64
}

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: i64,
    minute: i64,
    second: i64,
}

impl Civil {
    fn from_unix(secs: i64) -> Self {
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        let tod = secs.rem_euclid(86_400);
        Civil {
            year,
            month,
            day,
            hour: tod / 3600,
            minute: (tod / 60) % 60,
            second: tod % 60,
        }
    }
}

fn format_unix_millis(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        tod / 3600,
        (tod / 60) % 60,
        tod % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(format_unix_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_unix_millis(951_782_400_123),
            "2000-02-29T00:00:00.123Z"
        );
        assert_eq!(
            format_unix_millis(1_767_225_599_000),
            "2025-12-31T23:59:59.000Z"
        );
        assert_eq!(compact(1_767_225_599), "20251231235959");
        assert_eq!(compact(0), "19700101000000");
    }

    #[test]
    fn rfc3339_parses_back_to_what_was_printed() {
        for millis in [0, 951_782_400_123, 1_767_225_599_000, 1_798_761_600_000] {
            assert_eq!(
                parse_rfc3339_millis(&format_unix_millis(millis)),
                Some(millis)
            );
        }
        assert_eq!(
            parse_rfc3339_millis("2027-01-01T01:00:00+01:00"),
            parse_rfc3339_millis("2027-01-01T00:00:00Z")
        );
        for bad in [
            "2027-01-01",
            "2027-13-01T00:00:00Z",
            "yesterday",
            "2027-01-01T00:00:00",
        ] {
            assert_eq!(parse_rfc3339_millis(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_set_clock_reads_the_time_it_was_set_to() {
        let clock = SimClock::default();
        clock.set_now(1_798_761_600_000);
        let now = clock.now_unix_millis();
        assert!((1_798_761_600_000..1_798_761_605_000).contains(&now));
        assert!(clock.now_rfc3339().starts_with("2027-01-01T00:00:0"));
    }
}
