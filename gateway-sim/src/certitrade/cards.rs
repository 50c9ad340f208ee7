//! CertiTrade's published test cards (docs/gateways.md, "CertiTrade: test
//! cards") and the card data a payment_account remembers after its initializing
//! payment.

/// The card the payment window uses when the test names none.
pub const DEFAULT_CARD: &str = "123456789000";
/// Expiry of every simulated card unless the paywin is given one; `MM/YY`,
/// the form of CertiTrade's payment_account example (`"02/17"`).
pub const DEFAULT_EXPIRY: &str = "12/30";

/// How the (simulated) issuer treats a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardKind {
    /// `1234 5678 9000` (no 3-D Secure) and `4444 3333 2222 0000` (3-D Secure).
    Approve,
    /// `1234 5678 9001` (no 3-D Secure) and `4444 3333 2222 1111` (3-D Secure).
    Decline,
    /// `1123 4500 0000 0002`: initializes fine, then the first RECURRING
    /// charge is treated as suspected fraud and the account is suspended.
    Fraud,
    /// Any other number: the test system does not know it (invalid card).
    Unknown,
}

pub fn classify(number: &str) -> CardKind {
    match number {
        "123456789000" | "4444333322220000" => CardKind::Approve,
        "123456789001" | "4444333322221111" => CardKind::Decline,
        "1123450000000002" => CardKind::Fraud,
        _ => CardKind::Unknown,
    }
}

/// Digits only (spaces and dashes as printed on the docs page are dropped);
/// 12 to 19 of them, since CertiTrade's own test cards start at 12.
pub fn normalize(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let ok = (12..=19).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(digits)
}

/// `MMYY` or `MM/YY` with a real month → `MM/YY`.
pub fn normalize_expiry(raw: &str) -> Option<String> {
    let compact: String = raw.chars().filter(|&c| c != '/').collect();
    let ok = compact.len() == 4
        && compact.bytes().all(|b| b.is_ascii_digit())
        && matches!(compact[..2].parse::<u8>(), Ok(1..=12));
    ok.then(|| format!("{}/{}", &compact[..2], &compact[2..]))
}

/// What the simulator keeps of a card (the full number only to decide how
/// later charges go; it never appears in a response).
#[derive(Debug, Clone)]
pub struct Card {
    pub number: String,
    pub masked_cardno: String,
    pub bin: String,
    pub expiry_date: String,
}

impl Card {
    pub fn new(number: &str, expiry_date: &str) -> Self {
        let n = number.len();
        Card {
            number: number.to_owned(),
            // First six and last four, as the brief's contract fixes; the
            // docs' example shows `xxxxxxxxxxx0002`, so clients must treat it
            // as display text only.
            masked_cardno: format!("{}{}{}", &number[..6], "*".repeat(n - 10), &number[n - 4..]),
            bin: number[..6].to_owned(),
            expiry_date: expiry_date.to_owned(),
        }
    }

    pub fn kind(&self) -> CardKind {
        classify(&self.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_cards() {
        assert_eq!(
            classify(&normalize("1234 5678 9000").unwrap()),
            CardKind::Approve
        );
        assert_eq!(
            classify(&normalize("4444-3333-2222-1111").unwrap()),
            CardKind::Decline
        );
        assert_eq!(classify("1123450000000002"), CardKind::Fraud);
        assert_eq!(classify("4111111111111111"), CardKind::Unknown);
        assert!(normalize("12345678900").is_none());
        assert!(normalize("12345678900a").is_none());
    }

    #[test]
    fn card_on_file() {
        let card = Card::new("123456789000", DEFAULT_EXPIRY);
        assert_eq!(card.masked_cardno, "123456**9000");
        assert_eq!(card.bin, "123456");
        let card = Card::new("1123450000000002", "02/17");
        assert_eq!(card.masked_cardno, "112345******0002");
        assert_eq!(card.kind(), CardKind::Fraud);
        assert_eq!(normalize_expiry("1230").as_deref(), Some("12/30"));
        assert_eq!(normalize_expiry("02/17").as_deref(), Some("02/17"));
        assert!(normalize_expiry("13/30").is_none());
    }
}
