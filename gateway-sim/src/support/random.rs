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
        assert_eq!(opaque(40).len(), 40);
    }
}
