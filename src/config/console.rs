//! The `[console]` section: the operator's console in the browser (`src/console/`).

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use super::delay::Delay;
use super::{ConfigError, Settings};

/// The operator's console in the browser (`src/console/`), served with the admin API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleSettings {
    /// Served on `api.listen` while the API is enabled.
    pub enabled: bool,
    /// Where it is served, e.g. "/console"; also the session cookie's Path.
    pub path: String,
    /// A session ends this long after sign-in.
    pub session_lifetime: Delay,
    /// Mark the session cookie `Secure` (set it when a TLS proxy serves the API; a request
    /// forwarded with `X-Forwarded-Proto: https` gets `Secure` regardless).
    pub secure_cookie: bool,
    /// A file holding the console's own sign-in token(s); unset: the admin token signs in.
    pub token_file: Option<PathBuf>,
    /// Read from `token_file` at load; never from a config file or the environment.
    #[serde(skip)]
    pub token: Option<SecretString>,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        ConsoleSettings {
            enabled: true,
            path: "/console".into(),
            session_lifetime: Delay::secs(8 * 3600),
            secure_cookie: false,
            token_file: None,
            token: None,
        }
    }
}

/// The console's path becomes routes and the cookie's Path: one plain absolute path, clear of
/// the API's own routes.
pub(super) fn check(s: &Settings) -> Result<(), ConfigError> {
    let path = &s.console.path;
    let plain = path.len() > 1
        && path.starts_with('/')
        && !path.ends_with('/')
        && !path.contains("//")
        && path[1..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_'));
    if !plain {
        return Err(ConfigError::invalid(
            "console.path",
            format!(
                "{path:?} must be an absolute path like \"/console\" (letters, digits, - _ /, no trailing /)"
            ),
        ));
    }
    let first = path[1..].split('/').next().unwrap_or_default();
    if matches!(
        first,
        "v1" | "healthz" | "readyz" | "metrics" | "certitrade"
    ) {
        return Err(ConfigError::invalid(
            "console.path",
            format!("{path:?} is taken by the API's own routes"),
        ));
    }
    if s.console.session_lifetime.get() < std::time::Duration::from_secs(60) {
        return Err(ConfigError::invalid(
            "console.session_lifetime",
            "must be at least 1m",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_path_is_one_plain_absolute_path_clear_of_the_api() {
        let mut s = Settings::default();
        assert!(check(&s).is_ok());
        for good in ["/ops", "/admin/console", "/b-2_x"] {
            s.console.path = good.into();
            assert!(check(&s).is_ok(), "{good}");
        }
        for bad in [
            "",
            "/",
            "console",
            "/console/",
            "//x",
            "/a b",
            "/v1",
            "/healthz/x",
            "/métier",
        ] {
            s.console.path = bad.into();
            assert!(check(&s).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_session_lasts_at_least_a_minute() {
        let mut s = Settings::default();
        s.console.session_lifetime = Delay::secs(59);
        assert!(check(&s).is_err());
    }
}
