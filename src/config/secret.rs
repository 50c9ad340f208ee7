//! Secrets (API keys, tokens) come from the environment or from a file named in config, are
//! held as `SecretString` (zeroed on drop, redacted in `Debug`) and are never serialized.

use secrecy::{ExposeSecret, SecretString};
use std::path::Path;

use super::ConfigError;

/// Picks the secret given inline (environment) or read from `file`; both at once is ambiguous.
pub fn resolve(
    key: &str,
    inline: Option<SecretString>,
    file: Option<&Path>,
) -> Result<Option<SecretString>, ConfigError> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(ConfigError::invalid(
            key,
            format!("set either {key} or {key}_file, not both"),
        )),
        (Some(s), None) if s.expose_secret().trim().is_empty() => {
            Err(ConfigError::invalid(key, "must not be empty"))
        }
        (Some(s), None) => Ok(Some(s)),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigError::invalid(
                    &format!("{key}_file"),
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            let trimmed = text.trim();
            if trimmed.is_empty() {
                return Err(ConfigError::invalid(
                    &format!("{key}_file"),
                    format!("{} is empty", path.display()),
                ));
            }
            Ok(Some(SecretString::from(trimmed.to_owned())))
        }
        (None, None) => Ok(None),
    }
}

/// What `check-config` shows for a secret: whether it is set, never any of its characters.
pub fn mask(secret: Option<&SecretString>) -> &'static str {
    match secret {
        Some(_) => "******** (set)",
        None => "(not set)",
    }
}
