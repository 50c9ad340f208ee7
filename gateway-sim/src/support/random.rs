//! Random identifiers in the shapes the real gateways hand out.

use rand::Rng;
use rand::distr::Alphanumeric;

const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Upper-case letters and digits, e.g. Payroc payment ids and approval codes.
pub fn upper_alnum(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| UPPER_ALNUM[rng.random_range(0..UPPER_ALNUM.len())] as char)
        .collect()
}

/// Mixed-case alphanumeric string, for opaque bearer tokens.
pub fn opaque(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Decimal digits.
pub fn digits(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// Decimal digits without a leading zero, so the id survives a client that
/// parses it as an integer (CertiTrade documents ids as `int`).
pub fn numeric_id(len: usize) -> String {
    let first = char::from(b'1' + rand::rng().random_range(0..9u8));
    let mut id = String::with_capacity(len);
    id.push(first);
    id.push_str(&digits(len.saturating_sub(1)));
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let id = upper_alnum(10);
        assert_eq!(id.len(), 10);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        );
        assert!(digits(6).chars().all(|c| c.is_ascii_digit()));
        let id = numeric_id(11);
        assert_eq!(id.len(), 11);
        assert!(!id.starts_with('0') && id.parse::<u64>().is_ok());
        assert_eq!(opaque(40).len(), 40);
    }
}
