//! Money is an integer count of the currency's minor unit; floats never appear in the core.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: Currency,
}

/// An ISO 4217 alphabetic code (three upper-case ASCII letters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("currency {0:?} is not an ISO 4217 currency code (e.g. USD, EUR, SEK)")]
    BadCurrency(String),
    #[error("amount must be a positive number of minor units, got {0}")]
    NotPositive(i64),
}

/// Active ISO 4217 alphabetic codes, one a line, sorted (funds and precious-metal codes left
/// out: nobody bills a subscription in them). A data file, not a Rust table: it is a list to
/// compare against ISO's when a code comes or goes, and nothing in it is code.
const ISO_4217: &str = include_str!("iso_4217.txt");

fn is_iso_4217(code: &str) -> bool {
    ISO_4217.lines().any(|known| known == code)
}

impl Currency {
    pub fn new(code: &str) -> Result<Self, MoneyError> {
        if is_iso_4217(code) {
            Ok(Currency(code.to_owned()))
        } else {
            Err(MoneyError::BadCurrency(code.to_owned()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Currency::new(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Money {
    /// A chargeable amount: strictly positive.
    pub fn charge(amount_minor: i64, currency: &str) -> Result<Self, MoneyError> {
        if amount_minor <= 0 {
            return Err(MoneyError::NotPositive(amount_minor));
        }
        Ok(Money {
            amount_minor,
            currency: Currency::new(currency)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_are_three_upper_case_letters() {
        assert!(Currency::new("USD").is_ok());
        let codes: Vec<&str> = ISO_4217.lines().collect();
        assert!(codes.len() > 150, "{} codes", codes.len());
        assert!(codes.windows(2).all(|w| w[0] < w[1]), "sorted, each once");
        for code in codes {
            assert!(
                code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()),
                "{code:?}"
            );
        }
        for bad in ["usd", "US", "USDX", "U5D", "", "XYZ", "ABC"] {
            assert_eq!(Currency::new(bad), Err(MoneyError::BadCurrency(bad.into())));
        }
    }

    #[test]
    fn charges_are_positive() {
        assert_eq!(Money::charge(0, "EUR"), Err(MoneyError::NotPositive(0)));
        assert_eq!(Money::charge(-5, "EUR"), Err(MoneyError::NotPositive(-5)));
        assert_eq!(Money::charge(1, "EUR").unwrap().amount_minor, 1);
    }
}
