//! How the console writes values: amounts in major units with the currency, times in UTC and
//! in the subscription's zone, card numbers as their last four digits only.

use chrono::{DateTime, Utc};

/// ISO 4217 minor units of the currencies billingd accepts that do not use two.
fn exponent(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// `1234` USD → "12.34 USD"; `500` JPY → "500 JPY". Integer arithmetic only.
pub fn money(minor: i64, currency: &str) -> String {
    let exp = exponent(currency);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    if exp == 0 {
        return format!("{sign}{abs} {currency}");
    }
    let unit = 10u64.pow(exp);
    format!(
        "{sign}{}.{:0width$} {currency}",
        abs / unit,
        abs % unit,
        width = exp as usize
    )
}

pub fn utc(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub fn utc_opt(at: Option<DateTime<Utc>>) -> String {
    at.map(utc).unwrap_or_else(|| "—".into())
}

/// The wall time in `zone` (an IANA name); the UTC time alone when the zone is unknown.
pub fn local(at: DateTime<Utc>, zone: &str) -> String {
    let Ok(tz) = jiff::tz::TimeZone::get(zone) else {
        return utc(at);
    };
    let ts = crate::store::from_db(at);
    let local = ts.to_zoned(tz).datetime();
    format!("{} {zone}", local.strftime("%Y-%m-%d %H:%M:%S"))
}

/// "2027-01-31 10:00:00 Europe/Paris (09:00:00 UTC)", or the UTC time alone for UTC.
pub fn both(at: DateTime<Utc>, zone: &str) -> String {
    if zone == "UTC" {
        return utc(at);
    }
    format!("{} ({})", local(at, zone), utc(at))
}

/// A stored masked card ("453985******7062") as its last four digits only.
pub fn last_four(masked: Option<&str>) -> String {
    let digits: Vec<char> = masked
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    if digits.len() < 4 {
        return "—".into();
    }
    let four: String = digits[digits.len() - 4..].iter().collect();
    format!("•••• {four}")
}

pub fn opt(value: Option<impl ToString>) -> String {
    value.map(|v| v.to_string()).unwrap_or_else(|| "—".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_shown_in_major_units_of_their_currency() {
        assert_eq!(money(1234, "USD"), "12.34 USD");
        assert_eq!(money(5, "EUR"), "0.05 EUR");
        assert_eq!(money(500, "JPY"), "500 JPY");
        assert_eq!(money(1005, "KWD"), "1.005 KWD");
        assert_eq!(money(-250, "SEK"), "-2.50 SEK");
    }

    #[test]
    fn only_the_last_four_digits_of_a_card_are_shown() {
        assert_eq!(last_four(Some("453985******7062")), "•••• 7062");
        assert_eq!(last_four(Some("**")), "—");
        assert_eq!(last_four(None), "—");
    }

    #[test]
    fn times_are_shown_in_the_zone_and_in_utc() {
        let at: DateTime<Utc> = "2027-01-31T09:00:00Z".parse().unwrap();
        assert_eq!(
            both(at, "Europe/Paris"),
            "2027-01-31 10:00:00 Europe/Paris (2027-01-31 09:00:00 UTC)"
        );
        assert_eq!(both(at, "UTC"), "2027-01-31 09:00:00 UTC");
    }
}
