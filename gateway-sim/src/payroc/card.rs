//! Card-number arithmetic: Luhn, masking, brand detection, expiry format, and
//! the simulator's special test card numbers.

/// Test card numbers that change how sales on their secure token behave.
/// Detected once at tokenisation so the full number never has to be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardTrigger {
    /// `4000000000000051`: first two sales decline (51), later ones approve.
    InsufficientFundsTwice,
    /// `4000000000000046`: first sale approves, every later one is a closed account.
    ClosesAfterFirstSale,
}

/// Note `4000000000000046` fails the Luhn check; it is accepted anyway because
/// it is the documented trigger number (see README.md).
pub fn card_trigger(number: &str) -> Option<CardTrigger> {
    match number {
        "4000000000000051" => Some(CardTrigger::InsufficientFundsTwice),
        "4000000000000046" => Some(CardTrigger::ClosesAfterFirstSale),
        _ => None,
    }
}

pub fn is_luhn_valid(digits: &str) -> bool {
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && luhn_sum(digits, false).is_multiple_of(10)
}

/// Digit that makes `payload + digit` Luhn-valid.
pub fn luhn_check_digit(payload: &str) -> char {
    let sum = luhn_sum(payload, true);
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// Luhn sum from the right; `payload_only` means a check digit will follow,
/// so the rightmost given digit is already a doubled position.
fn luhn_sum(digits: &str, payload_only: bool) -> u32 {
    digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            let doubled = (i % 2 == 1) != payload_only;
            if doubled {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum()
}

/// First six and last four digits, the rest starred: `453985******7062`.
pub fn mask(number: &str) -> String {
    let n = number.len();
    if n <= 10 {
        return "*".repeat(n);
    }
    format!("{}{}{}", &number[..6], "*".repeat(n - 10), &number[n - 4..])
}

/// Brand name as it appears in `card.type` / `source.cardType`.
pub fn brand(number: &str) -> &'static str {
    let prefix = |len: usize| number.get(..len).and_then(|p| p.parse::<u32>().ok());
    match (prefix(1), prefix(2), prefix(4)) {
        (Some(4), _, _) => "Visa",
        (_, Some(34 | 37), _) => "American Express",
        (_, Some(51..=55), _) | (_, _, Some(2221..=2720)) => "MasterCard",
        (_, Some(65), _) | (_, _, Some(6011)) => "Discover",
        (_, _, Some(3528..=3589)) => "JCB",
        (_, Some(36 | 38), _) | (_, _, Some(3000..=3059)) => "Diners Club",
        _ => "Unknown",
    }
}

/// `MMYY` with a real month. Past dates are accepted on purpose: expired
/// cards are an issuer decline (amount trigger …54), not a format error.
pub fn is_valid_expiry(mmyy: &str) -> bool {
    mmyy.len() == 4
        && mmyy.bytes().all(|b| b.is_ascii_digit())
        && matches!(mmyy[..2].parse::<u8>(), Ok(1..=12))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn() {
        assert!(is_luhn_valid("4539858876047062"));
        assert!(is_luhn_valid("4000000000000051"));
        assert!(
            !is_luhn_valid("4000000000000046"),
            "accepted only as a trigger card"
        );
        assert!(!is_luhn_valid("4539858876047063"));
        assert!(!is_luhn_valid("45398a8876047062"));
        for payload in ["29675300000", "29675312345", "29675399999"] {
            let full = format!("{payload}{}", luhn_check_digit(payload));
            assert!(is_luhn_valid(&full), "{full}");
        }
        assert_eq!(luhn_check_digit("453985887604706"), '2');
    }

    #[test]
    fn masking_and_brand() {
        assert_eq!(mask("4539858876047062"), "453985******7062");
        assert_eq!(mask("5001650000000000"), "500165******0000");
        assert_eq!(brand("4539858876047062"), "Visa");
        assert_eq!(brand("5100270000000007"), "MasterCard");
        assert_eq!(brand("3400000000000000"), "American Express");
        assert_eq!(brand("6011000000000004"), "Discover");
        assert_eq!(brand("3528000000000007"), "JCB");
    }

    #[test]
    fn expiry() {
        assert!(is_valid_expiry("1229"));
        assert!(is_valid_expiry("0120"));
        assert!(!is_valid_expiry("1329"));
        assert!(!is_valid_expiry("0029"));
        assert!(!is_valid_expiry("12/29"));
    }
}
