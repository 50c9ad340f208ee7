//! The states and kinds the database stores as text, as Rust enums: a row carries these, and no
//! state is compared as a string outside SQL. Each is a `text` value in SQL (with a CHECK
//! constraint naming the same set) and decodes from it, so an unknown value in a row is an error
//! at the boundary rather than a silently unmatched string.

use serde::{Deserialize, Serialize};

/// Which gateway an account (and everything charged on it) belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum GatewayKind {
    Payroc,
    #[serde(rename = "certitrade")]
    #[sqlx(rename = "certitrade")]
    CertiTrade,
}

impl GatewayKind {
    pub const ALL: [GatewayKind; 2] = [GatewayKind::Payroc, GatewayKind::CertiTrade];

    pub fn as_str(self) -> &'static str {
        match self {
            GatewayKind::Payroc => "payroc",
            GatewayKind::CertiTrade => "certitrade",
        }
    }

    pub fn parse(text: &str) -> Option<GatewayKind> {
        GatewayKind::ALL.into_iter().find(|g| g.as_str() == text)
    }
}

impl std::fmt::Display for GatewayKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a payment account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum AccountState {
    /// Registration (or its customer step) not finished: nothing is charged yet.
    Initializing,
    Active,
    /// The gateway said the card account is gone, or the merchant suspended it: nothing is
    /// charged until it is re-initialized.
    Suspended,
    Closed,
}

impl AccountState {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountState::Initializing => "initializing",
            AccountState::Active => "active",
            AccountState::Suspended => "suspended",
            AccountState::Closed => "closed",
        }
    }
}

impl std::fmt::Display for AccountState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Defines a text-valued state enum: its SQL and JSON name is the variant's name in snake_case
/// (`PastDue` is `past_due`), one rule for sqlx, serde and `as_str` (strum's `IntoStaticStr`)
/// rather than each name written out for each; plus `ALL`, `parse`, `Display`, and equality
/// with its name (so a test can say `assert_eq!(charge.status, "approved")`).
macro_rules! text_state {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
        #[derive(strum::IntoStaticStr)]
        #[sqlx(type_name = "text", rename_all = "snake_case")]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                self.into()
            }

            pub fn parse(text: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.as_str() == text)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

text_state! {
    /// Where a subscription stands.
    SubscriptionStatus {
        Active,
        /// Its account is suspended: nothing is charged until the account is re-initialized.
        Held,
        /// A charge failed for good: nothing more is charged until the merchant resumes it.
        PastDue,
        Paused,
        Completed,
        Cancelled,
    }
}

text_state! {
    /// Where one cycle's charge stands.
    ChargeStatus {
        /// Open: to be sent, or its outcome still open.
        Due,
        Approved,
        Failed,
        /// Its account was suspended: kept, not sent, until re-initialization decides.
        Held,
        Skipped,
        Cancelled,
        /// Billed by the system the subscription was taken over from: recorded, never sent.
        Imported,
    }
}

impl SubscriptionStatus {
    /// Still billing or able to bill again (not completed or cancelled).
    pub fn is_live(self) -> bool {
        !matches!(
            self,
            SubscriptionStatus::Completed | SubscriptionStatus::Cancelled
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_sql_values() {
        for g in GatewayKind::ALL {
            assert_eq!(GatewayKind::parse(g.as_str()), Some(g));
            assert_eq!(serde_json::to_value(g).unwrap(), g.as_str());
        }
        assert_eq!(
            serde_json::to_value(AccountState::Suspended).unwrap(),
            "suspended"
        );
        assert_eq!(GatewayKind::parse("stripe"), None);
        // sqlx, serde and strum each apply "snake_case": they must agree on every name.
        for s in SubscriptionStatus::ALL {
            assert_eq!(SubscriptionStatus::parse(s.as_str()), Some(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for c in ChargeStatus::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        // The names the CHECK constraints list (migrations/).
        let subscription: Vec<&str> = SubscriptionStatus::ALL.iter().map(|s| s.as_str()).collect();
        let charge: Vec<&str> = ChargeStatus::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            subscription,
            [
                "active",
                "held",
                "past_due",
                "paused",
                "completed",
                "cancelled"
            ]
        );
        assert_eq!(
            charge,
            [
                "due",
                "approved",
                "failed",
                "held",
                "skipped",
                "cancelled",
                "imported"
            ]
        );
        assert_eq!(ChargeStatus::parse("due"), Some(ChargeStatus::Due));
        assert_eq!(ChargeStatus::Approved, "approved");
        assert_eq!(
            serde_json::to_value(SubscriptionStatus::PastDue).unwrap(),
            "past_due"
        );
    }
}
