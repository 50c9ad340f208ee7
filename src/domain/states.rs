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
    }
}
