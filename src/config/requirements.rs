//! What `serve` needs beyond a well-formed configuration: the secret of every enabled feature and
//! real URLs where a gateway will call or send the customer. Checked by `check-config` and by
//! `serve` before it touches the database, and reported all at once, so an operator fixes a
//! config in one pass. Admin commands (`accounts list`, …) need none of these and skip them.

use super::{ConfigError, Settings};

/// Every unmet start-up requirement of `serve`, in the order of the config file.
pub fn serve_requirements(s: &Settings) -> Vec<ConfigError> {
    let mut missing = Vec::new();
    let mut need = |on: bool, set: bool, key: &str, env: &str, switch: &str| {
        if on && !set {
            missing.push(ConfigError::invalid(
                key,
                format!(
                    "is not set but {switch} = true: set {env} or {key}_file (or {switch} = false)"
                ),
            ));
        }
    };
    need(
        s.api.enabled,
        s.api.admin_token.is_some(),
        "api.admin_token",
        "BILLINGD_API__ADMIN_TOKEN",
        "api.enabled",
    );
    need(
        s.payroc.enabled,
        s.payroc.api_key.is_some(),
        "payroc.api_key",
        "BILLINGD_PAYROC__API_KEY",
        "payroc.enabled",
    );
    need(
        s.certitrade.enabled,
        s.certitrade.api_key.is_some(),
        "certitrade.api_key",
        "BILLINGD_CERTITRADE__API_KEY",
        "certitrade.enabled",
    );
    if s.certitrade.enabled {
        // The built-in defaults point at merchant.example: a customer sent there is lost.
        for (key, url) in [
            ("certitrade.return_url", &s.certitrade.return_url),
            ("certitrade.callback_url", &s.certitrade.callback_url),
        ] {
            if is_placeholder(url) {
                missing.push(ConfigError::invalid(
                    key,
                    format!("{url:?} is the placeholder; set your own URL"),
                ));
            }
        }
    }
    missing
}

fn is_placeholder(url: &str) -> bool {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(|h| h == "merchant.example"))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_missing_secret_is_reported_at_once() {
        let mut s = Settings::default();
        s.api.enabled = true;
        s.payroc.enabled = true;
        s.certitrade.enabled = true;
        let keys: Vec<String> = serve_requirements(&s)
            .iter()
            .map(|e| e.to_string())
            .collect();
        for key in [
            "api.admin_token",
            "payroc.api_key",
            "certitrade.api_key",
            "certitrade.return_url",
            "certitrade.callback_url",
        ] {
            assert!(keys.iter().any(|k| k.contains(key)), "{key}: {keys:?}");
        }
    }

    #[test]
    fn disabled_features_need_nothing() {
        let mut s = Settings::default();
        s.api.enabled = false;
        s.payroc.enabled = false;
        s.certitrade.enabled = false;
        assert!(serve_requirements(&s).is_empty());
    }
}
