//! Configuration: built-in defaults → `config/default.toml` → the file named by `--config` or
//! `BILLINGD_CONFIG` → `BILLINGD_*` environment variables (`__` separates nesting levels, so
//! `BILLINGD_BILLING__MAX_IN_FLIGHT=8` sets `billing.max_in_flight`).

mod book;
mod console;
mod delay;
mod requirements;
pub mod rotating;
mod secret;
mod settings;
mod sources;
mod validate;

pub use book::{DunningSettings, NoticeSettings};
pub use delay::Delay;
pub use requirements::serve_requirements;
pub use settings::*;
pub use sources::{Sources, sources};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use std::path::Path;

/// The file every deployment starts from, relative to the working directory.
pub const DEFAULT_FILE: &str = "config/default.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(String),
    #[error("{0}")]
    Parse(String),
    #[error("invalid configuration: {key}: {message}")]
    Invalid { key: String, message: String },
}

impl ConfigError {
    pub fn invalid(key: &str, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

/// Loads, resolves secrets and validates. `explicit` is the `--config` / `BILLINGD_CONFIG` file.
pub fn load(explicit: Option<&Path>) -> Result<Settings, ConfigError> {
    let mut figment =
        Figment::from(Serialized::defaults(Settings::default())).merge(Toml::file(DEFAULT_FILE));
    if let Some(path) = explicit {
        if !path.is_file() {
            return Err(ConfigError::MissingFile(path.display().to_string()));
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    // Only names with a "__" can be settings (every setting lives in a section); the others
    // (BILLINGD_CONFIG, the scripts' BILLINGD_TEST_DATABASE_URL, …) are not config keys.
    figment = figment.merge(
        Env::prefixed("BILLINGD_")
            .filter(|key| key.as_str().contains("__"))
            .split("__"),
    );
    refuse_secrets_in_files(&figment)?;
    let mut settings: Settings = figment.extract().map_err(describe)?;
    settings.payroc.api_key = secret::resolve(
        "payroc.api_key",
        settings.payroc.api_key.take(),
        settings.payroc.api_key_file.as_deref(),
    )?;
    settings.certitrade.api_key = secret::resolve(
        "certitrade.api_key",
        settings.certitrade.api_key.take(),
        settings.certitrade.api_key_file.as_deref(),
    )?;
    settings.api.admin_token = secret::resolve(
        "api.admin_token",
        settings.api.admin_token.take(),
        settings.api.admin_token_file.as_deref(),
    )?;
    settings.webhooks.secret = secret::resolve(
        "webhooks.secret",
        settings.webhooks.secret.take(),
        settings.webhooks.secret_file.as_deref(),
    )?;
    // The console's own token comes only from a file: there is no inline `console.token`.
    settings.console.token = secret::resolve(
        "console.token",
        None,
        settings.console.token_file.as_deref(),
    )?;
    let problems = validate::settings(&settings);
    if !problems.is_empty() {
        let lines: Vec<String> = problems.iter().map(|p| with_source(&figment, p)).collect();
        return Err(ConfigError::Parse(lines.join("\n")));
    }
    Ok(settings)
}

/// A validation error with the layer its value came from (a file, the environment, or the
/// built-in default), so the operator knows where to fix it.
fn with_source(figment: &Figment, problem: &ConfigError) -> String {
    let ConfigError::Invalid { key, .. } = problem else {
        return problem.to_string();
    };
    let source = figment.find_metadata(key).map(|m| match &m.source {
        Some(source) => source.to_string(),
        None => m.name.to_string(),
    });
    match source {
        Some(source) => format!("{problem} (from {source})"),
        None => problem.to_string(),
    }
}

/// A secret written into a TOML file ends up in version control and backups; only the
/// environment or a `*_file` path may carry one.
fn refuse_secrets_in_files(figment: &Figment) -> Result<(), ConfigError> {
    for key in [
        "payroc.api_key",
        "certitrade.api_key",
        "api.admin_token",
        "webhooks.secret",
    ] {
        if let Some(meta) = figment.find_metadata(key)
            && !meta.name.contains("environment")
        {
            return Err(ConfigError::invalid(
                key,
                format!(
                    "secrets may not be written in {}; set BILLINGD_{} or {key}_file",
                    meta.name,
                    key.replace('.', "__").to_uppercase()
                ),
            ));
        }
    }
    Ok(())
}

/// figment's errors already name the key and the source; list every one, not just the first.
fn describe(err: figment::Error) -> ConfigError {
    let lines: Vec<String> = err
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let source = e
                .metadata
                .as_ref()
                .map(|m| match &m.source {
                    Some(source) => format!(" (from {source})"),
                    None => format!(" (from {})", m.name),
                })
                .unwrap_or_default();
            if key.is_empty() {
                format!("{}{source}", e.kind)
            } else {
                format!("{key}: {}{source}", e.kind)
            }
        })
        .collect();
    ConfigError::Parse(format!("invalid configuration: {}", lines.join("; ")))
}

impl Settings {
    /// The effective configuration as TOML, secrets replaced by whether they are set.
    pub fn to_masked_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database.url = mask_url_password(&shown.database.url);
        // A receiver may take basic-auth credentials in its URL.
        for url in &mut shown.webhooks.endpoints {
            *url = mask_url_password(url);
        }
        let mut text = toml::to_string(&shown).unwrap_or_else(|e| format!("# {e}\n"));
        text.push_str(&format!(
            "\n# secrets\n# payroc.api_key = {}\n# certitrade.api_key = {}\n# api.admin_token = {}\n\
             # webhooks.secret = {}\n# console.token = {}\n",
            secret::mask(self.payroc.api_key.as_ref()),
            secret::mask(self.certitrade.api_key.as_ref()),
            secret::mask(self.api.admin_token.as_ref()),
            secret::mask(self.webhooks.secret.as_ref()),
            secret::mask(self.console.token.as_ref())
        ));
        text
    }
}

/// Shows a database URL with its password hidden, for logs and `check-config`.
pub fn mask_url_password(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("********"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Convenience for tests and tools that build settings in code.
pub fn secret(value: &str) -> SecretString {
    SecretString::from(value.to_owned())
}
