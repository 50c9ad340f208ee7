//! Card details as a customer typed them, for a gateway that tokenizes a card itself. They
//! live only in memory on their way to the gateway: never logged (no `Debug` of the number),
//! never stored.

use secrecy::SecretString;
use serde::Deserialize;

/// Card details as a customer typed them; `Debug` shows nothing secret.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardDetails {
    pub number: SecretString,
    /// MMYY
    pub expiry: String,
    pub cvv: Option<SecretString>,
    pub holder: Option<String>,
}

impl std::fmt::Debug for CardDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardDetails")
            .field("number", &"<redacted>")
            .field("expiry", &self.expiry)
            .finish()
    }
}
