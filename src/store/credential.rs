//! An account's credential to and from its columns. The columns keep their gateways' names (one
//! set per gateway on `payment_accounts`); nothing above the store sees them.

use sqlx::postgres::PgRow;
use sqlx::{FromRow, Row};

use crate::domain::credential::{CertiTradeAccount, Credential, PayrocToken};
use crate::domain::states::GatewayKind;

/// The credential columns, in the order `Columns` gives their values.
pub(crate) const CREDENTIAL_COLUMNS: &str =
    "payroc_terminal_id, payroc_secure_token_id, payroc_token, certitrade_account_id";

/// The credential column that splits a gateway's ledger listing (Payroc lists sales per
/// terminal); NULL for a gateway whose ledger is listed whole.
pub(crate) const LEDGER_SCOPE: &str = "payroc_terminal_id";

/// A credential's column values, in the order of `CREDENTIAL_COLUMNS`; a column of another
/// gateway is NULL.
pub(crate) struct Columns<'a> {
    pub terminal_id: Option<&'a str>,
    pub secure_token_id: Option<&'a str>,
    pub token: Option<&'a str>,
    pub payment_account: Option<&'a str>,
}

pub(crate) fn columns(c: &Credential) -> Columns<'_> {
    match c {
        Credential::Payroc(t) => Columns {
            terminal_id: t.terminal_id.as_deref(),
            secure_token_id: t.secure_token_id.as_deref(),
            token: t.token.as_deref(),
            payment_account: None,
        },
        Credential::CertiTrade(a) => Columns {
            terminal_id: None,
            secure_token_id: None,
            token: None,
            payment_account: a.payment_account.as_deref(),
        },
    }
}

/// A column the query may not select (a claimed charge has no secure token id): absent is NULL.
fn optional(row: &PgRow, column: &str) -> Result<Option<String>, sqlx::Error> {
    match row.try_get(column) {
        Err(sqlx::Error::ColumnNotFound(_)) => Ok(None),
        other => other,
    }
}

/// Read from a row holding `gateway` and the gateway's credential columns.
impl<'r> FromRow<'r, PgRow> for Credential {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        let gateway: GatewayKind = row.try_get("gateway")?;
        Ok(match gateway {
            GatewayKind::Payroc => Credential::Payroc(PayrocToken {
                terminal_id: optional(row, "payroc_terminal_id")?,
                secure_token_id: optional(row, "payroc_secure_token_id")?,
                token: optional(row, "payroc_token")?,
            }),
            GatewayKind::CertiTrade => Credential::CertiTrade(CertiTradeAccount {
                payment_account: optional(row, "certitrade_account_id")?,
            }),
        })
    }
}
