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

/// Active ISO 4217 alphabetic codes (funds and precious-metal codes left out: nobody bills a
/// subscription in them).
const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

impl Currency {
    pub fn new(code: &str) -> Result<Self, MoneyError> {
        if ISO_4217.binary_search(&code).is_ok() {
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
        assert!(
            ISO_4217.windows(2).all(|w| w[0] < w[1]),
            "sorted for binary search"
        );
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
