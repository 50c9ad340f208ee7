//! Notices ahead of a charge: when a stored card's expiry makes a coming charge fail.

use jiff::Timestamp;
use jiff::civil::date;
use jiff::tz::TimeZone;

/// The instant a card stored with expiry `MMYY` stops being usable: a card is valid through
/// the last day of its expiry month, so it expires when the next month begins. Read in UTC,
/// the earliest the card can lapse anywhere is near enough for a warning sent days ahead.
/// None for an expiry that is not `MMYY`.
pub fn card_expires_at(expiry: &str) -> Option<Timestamp> {
    let bytes = expiry.as_bytes();
    if bytes.len() != 4 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let month: i8 = expiry[..2].parse().ok()?;
    let year: i16 = 2000 + expiry[2..].parse::<i16>().ok()?;
    if !(1..=12).contains(&month) {
        return None;
    }
    let (year, month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    date(year, month, 1)
        .to_zoned(TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// Whether a charge due at `due` would be sent on an expired card.
pub fn card_expired_by(expiry: &str, due: Timestamp) -> bool {
    card_expires_at(expiry).is_some_and(|expires| due >= expires)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_is_good_through_the_last_day_of_its_expiry_month() {
        assert_eq!(
            card_expires_at("0127"),
            Some("2027-02-01T00:00:00Z".parse().unwrap())
        );
        assert_eq!(
            card_expires_at("1227"),
            Some("2028-01-01T00:00:00Z".parse().unwrap())
        );
        assert!(!card_expired_by(
            "0127",
            "2027-01-31T23:59:59Z".parse().unwrap()
        ));
        assert!(card_expired_by(
            "0127",
            "2027-02-01T00:00:00Z".parse().unwrap()
        ));
    }

    #[test]
    fn an_expiry_that_is_not_mmyy_warns_of_nothing() {
        for bad in ["", "1", "13 7", "1327", "0027", "01/27", "١٢٢٧"] {
            assert_eq!(card_expires_at(bad), None, "{bad:?}");
            assert!(!card_expired_by(
                bad,
                "2099-01-01T00:00:00Z".parse().unwrap()
            ));
        }
    }
}
