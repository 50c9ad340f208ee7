//! What a gateway's answer means for billing, and the decline-code table that decides it.
//!
//! The card networks move codes between "never retry" and "retry later" (Visa's categories
//! changed in 2025 and again in October 2026), so the code → class mapping is data in config,
//! not code.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Outcome {
    Approved,
    /// Declined now, may be approved later: retried on the soft-decline schedule.
    DeclinedSoft,
    /// Declined for good: the charge fails, the subscription becomes past due.
    DeclinedHard,
    /// The card account is gone (closed, lost, stolen, stop-recurring): suspend the account.
    AccountTerminated,
    /// The gateway accepted the request but decides later: look it up, never resend blindly.
    Pending,
    /// Timeout, 5xx, broken connection, unreadable answer: resend the same request, same key.
    Unknown,
    /// The gateway rejected our request as malformed: resending it unchanged cannot help.
    RequestError,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Approved => "approved",
            Outcome::DeclinedSoft => "declined_soft",
            Outcome::DeclinedHard => "declined_hard",
            Outcome::AccountTerminated => "account_terminated",
            Outcome::Pending => "pending",
            Outcome::Unknown => "unknown",
            Outcome::RequestError => "request_error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclineClass {
    DeclinedSoft,
    DeclinedHard,
}

/// Processor (ISO 8583 / network) response codes by class. A decline whose code is in no list
/// falls back to `default_decline`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutcomeTable {
    pub account_terminated: Vec<String>,
    pub declined_hard: Vec<String>,
    pub declined_soft: Vec<String>,
    pub default_decline: DeclineClass,
}

impl Default for OutcomeTable {
    fn default() -> Self {
        let list = |codes: &[&str]| codes.iter().map(|c| c.to_string()).collect();
        OutcomeTable {
            // Visa category 1 "issuer will never approve" answers that mean the credential is
            // dead: pick up, lost, stolen, closed account, stop recurring.
            account_terminated: list(&["04", "07", "41", "43", "46", "R0", "R1", "R3"]),
            // Never retry blindly, but the credential itself may be fine or fixable.
            declined_hard: list(&["12", "14", "15", "54", "57", "78"]),
            // Visa categories 2 and 4: cannot approve now / generic.
            declined_soft: list(&[
                "01", "05", "51", "59", "61", "62", "65", "91", "93", "96", "5C", "9G", "N7",
            ]),
            default_decline: DeclineClass::DeclinedSoft,
        }
    }
}

impl OutcomeTable {
    /// The class of a declined answer with this processor code.
    pub fn classify_decline(&self, processor_code: Option<&str>) -> Outcome {
        let code = processor_code.map(str::trim).unwrap_or("");
        let has = |list: &[String]| list.iter().any(|c| c.eq_ignore_ascii_case(code));
        if !code.is_empty() {
            if has(&self.account_terminated) {
                return Outcome::AccountTerminated;
            }
            if has(&self.declined_hard) {
                return Outcome::DeclinedHard;
            }
            if has(&self.declined_soft) {
                return Outcome::DeclinedSoft;
            }
        }
        match self.default_decline {
            DeclineClass::DeclinedSoft => Outcome::DeclinedSoft,
            DeclineClass::DeclinedHard => Outcome::DeclinedHard,
        }
    }

    /// A code listed under two classes would make the answer depend on list order.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen: HashMap<String, &str> = HashMap::new();
        for (class, list) in [
            ("account_terminated", &self.account_terminated),
            ("declined_hard", &self.declined_hard),
            ("declined_soft", &self.declined_soft),
        ] {
            for code in list {
                let key = code.trim().to_ascii_uppercase();
                if key.is_empty() {
                    return Err(format!("an empty code is listed under {class}"));
                }
                if let Some(other) = seen.insert(key, class) {
                    return Err(format!(
                        "code {code:?} is listed under both {other} and {class}"
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_retry_codes_terminate_the_account() {
        let t = OutcomeTable::default();
        for code in ["04", "41", "43", "46", "R1", "r0"] {
            assert_eq!(
                t.classify_decline(Some(code)),
                Outcome::AccountTerminated,
                "{code}"
            );
        }
        assert_eq!(t.classify_decline(Some("54")), Outcome::DeclinedHard);
        assert_eq!(t.classify_decline(Some("51")), Outcome::DeclinedSoft);
        assert_eq!(t.classify_decline(Some("ZZ")), Outcome::DeclinedSoft);
        assert_eq!(t.classify_decline(None), Outcome::DeclinedSoft);
    }

    #[test]
    fn default_decline_is_configurable() {
        let t = OutcomeTable {
            default_decline: DeclineClass::DeclinedHard,
            ..OutcomeTable::default()
        };
        assert_eq!(t.classify_decline(Some("ZZ")), Outcome::DeclinedHard);
    }

    #[test]
    fn a_code_in_two_classes_is_rejected() {
        let mut t = OutcomeTable::default();
        t.declined_soft.push("43".into());
        let err = t.validate().unwrap_err();
        assert!(
            err.contains("\"43\"") && err.contains("account_terminated"),
            "{err}"
        );
    }
}
