//! Checks of values whose type alone does not say they are usable. Each error names the key.

use super::{ConfigError, Settings};

/// One section's check: its first problem.
type Check = fn(&Settings) -> Result<(), ConfigError>;

/// Every section's first problem, all at once: an operator fixes a config in one pass.
pub fn settings(s: &Settings) -> Vec<ConfigError> {
    let checks: [Check; 13] = [
        database,
        api,
        scheduler,
        billing,
        payroc,
        certitrade,
        webhooks,
        reconcile,
        notices,
        dunning,
        super::console::check,
        outcomes,
        log,
    ];
    checks.iter().filter_map(|check| check(s).err()).collect()
}

fn outcomes(s: &Settings) -> Result<(), ConfigError> {
    s.outcomes
        .validate()
        .map_err(|m| ConfigError::invalid("outcomes", m))
}

fn log(s: &Settings) -> Result<(), ConfigError> {
    if tracing_subscriber::EnvFilter::try_new(&s.log.level).is_err() {
        return Err(ConfigError::invalid(
            "log.level",
            format!(
                "{:?} is not a log filter (e.g. \"info\" or \"billingd=debug,info\")",
                s.log.level
            ),
        ));
    }
    Ok(())
}

fn reconcile(s: &Settings) -> Result<(), ConfigError> {
    let r = &s.reconcile;
    if r.every.get() < std::time::Duration::from_secs(60) {
        return Err(ConfigError::invalid(
            "reconcile.every",
            "must be at least 1m: each run lists the gateway's sales for the whole window",
        ));
    }
    if r.window.get() < r.every.get() {
        return Err(ConfigError::invalid(
            "reconcile.window",
            format!(
                "must be at least reconcile.every ({}): otherwise sales between runs are never listed",
                r.every.signed()
            ),
        ));
    }
    Ok(())
}

fn dunning(s: &Settings) -> Result<(), ConfigError> {
    let d = &s.dunning;
    super::book::check_end(d)?;
    if d.reattempt_window.get() < std::time::Duration::from_secs(86_400) {
        return Err(ConfigError::invalid(
            "dunning.reattempt_window",
            "must be at least 1d (the card networks count reattempts over 30 days)",
        ));
    }
    for (code, schedule) in &d.codes {
        let key = format!("dunning.codes.{code}");
        if code.is_empty() || code.len() > 4 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ConfigError::invalid(
                &key,
                "is not a processor response code (1 to 4 letters or digits, e.g. \"51\")",
            ));
        }
        if schedule.is_empty() || schedule.len() > 15 {
            return Err(ConfigError::invalid(
                &key,
                "must list 1 to 15 delays (a code that is never retried belongs in outcomes.declined_hard)",
            ));
        }
        if schedule.iter().any(|delay| delay.get().is_zero()) {
            return Err(ConfigError::invalid(
                &key,
                "a retry delay must be longer than 0s",
            ));
        }
    }
    if d.max_reattempts > 100 {
        return Err(ConfigError::invalid(
            "dunning.max_reattempts",
            "must be at most 100: the card networks fine far fewer (Visa: 15 in 30 days)",
        ));
    }
    Ok(())
}

fn notices(s: &Settings) -> Result<(), ConfigError> {
    let n = &s.notices;
    // A year is the longest interval between two charges that a warning can usefully precede.
    let year = std::time::Duration::from_secs(366 * 86_400);
    for (key, lead) in [
        ("notices.upcoming_before", n.upcoming_before),
        ("notices.card_expiring_before", n.card_expiring_before),
    ] {
        if lead.get().is_zero() || lead.get() > year {
            return Err(ConfigError::invalid(
                key,
                "must be between 1s and 366d (set notices.enabled = false to send none)",
            ));
        }
    }
    Ok(())
}

fn database(s: &Settings) -> Result<(), ConfigError> {
    let url = &s.database.url;
    let ok = reqwest::Url::parse(url)
        .map(|u| matches!(u.scheme(), "postgres" | "postgresql"))
        .unwrap_or(false);
    if !ok {
        return Err(ConfigError::invalid(
            "database.url",
            format!(
                "{:?} is not a postgres:// URL",
                super::mask_url_password(url)
            ),
        ));
    }
    if s.database.max_connections < 2 {
        return Err(ConfigError::invalid(
            "database.max_connections",
            "must be at least 2 (one for claiming, one for recording outcomes)",
        ));
    }
    Ok(())
}

fn api(s: &Settings) -> Result<(), ConfigError> {
    if s.api.listen.parse::<std::net::SocketAddr>().is_err() {
        return Err(ConfigError::invalid(
            "api.listen",
            format!(
                "{:?} is not an IP address and port (e.g. \"127.0.0.1:8080\")",
                s.api.listen
            ),
        ));
    }
    for (key, other) in [
        ("api.callback_listen", &s.api.callback_listen),
        ("api.metrics_listen", &s.api.metrics_listen),
    ] {
        let Some(addr) = other else { continue };
        if addr.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::invalid(
                key,
                format!("{addr:?} is not an IP address and port (e.g. \"0.0.0.0:8081\")"),
            ));
        }
        if *addr == s.api.listen {
            return Err(ConfigError::invalid(
                key,
                format!("{addr:?} is api.listen itself; leave {key} unset to serve there"),
            ));
        }
    }
    if s.api.callback_listen.is_some() && s.api.callback_listen == s.api.metrics_listen {
        return Err(ConfigError::invalid(
            "api.metrics_listen",
            "is api.callback_listen: metrics would be public with the callback",
        ));
    }
    if s.api.max_body_bytes < 1024 {
        return Err(ConfigError::invalid(
            "api.max_body_bytes",
            "must be at least 1024",
        ));
    }
    Ok(())
}

fn scheduler(s: &Settings) -> Result<(), ConfigError> {
    // Parsed exactly as tokio-cron-scheduler parses it, so a config that passes here starts.
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(&s.scheduler.billing_cron)
        .map_err(|e| {
            ConfigError::invalid(
                "scheduler.billing_cron",
                format!(
                    "{:?} is not a cron expression with a seconds field (e.g. \"*/10 * * * * *\"): {e}",
                    s.scheduler.billing_cron
                ),
            )
        })?;
    Ok(())
}

fn billing(s: &Settings) -> Result<(), ConfigError> {
    let b = &s.billing;
    b.check_catch_up()?;
    positive("billing.max_in_flight", b.max_in_flight as u64)?;
    positive("billing.claim_batch", b.claim_batch as u64)?;
    positive("billing.materialize_batch", b.materialize_batch as u64)?;
    if b.lease.get().as_secs() < 5 {
        return Err(ConfigError::invalid("billing.lease", "must be at least 5s"));
    }
    if b.unknown_backoff_min > b.unknown_backoff_max {
        return Err(ConfigError::invalid(
            "billing.unknown_backoff_min",
            "must not exceed billing.unknown_backoff_max",
        ));
    }
    // A claim must outlive its longest send: each resend may follow a lookup, every request
    // waits up to the gateway's timeout, and backoff separates the resends.
    let gateways = [
        ("payroc", s.payroc.enabled, s.payroc.request_timeout),
        (
            "certitrade",
            s.certitrade.enabled,
            s.certitrade.request_timeout,
        ),
    ];
    for (gateway, enabled, timeout) in gateways {
        if !enabled {
            continue;
        }
        let worst_send = timeout.get() * (2 * b.unknown_resends + 1)
            + b.unknown_backoff_max.get() * b.unknown_resends;
        if b.lease.get() <= worst_send {
            return Err(ConfigError::invalid(
                "billing.lease",
                format!(
                    "{:#} must exceed {gateway}'s longest send with its lookups and resends ({}s = \
                     {gateway}.request_timeout × (2 × unknown_resends + 1) + unknown_backoff_max × \
                     unknown_resends)",
                    b.lease.signed(),
                    worst_send.as_secs()
                ),
            ));
        }
    }
    Ok(())
}

fn payroc(s: &Settings) -> Result<(), ConfigError> {
    let p = &s.payroc;
    if !p.enabled {
        return Ok(());
    }
    for (key, url) in [
        ("payroc.api_url", &p.api_url),
        ("payroc.identity_url", &p.identity_url),
    ] {
        http_url(key, url)?;
    }
    if !matches!(p.channel.as_str(), "web" | "moto" | "pos") {
        return Err(ConfigError::invalid(
            "payroc.channel",
            format!("{:?} is not one of web, moto, pos", p.channel),
        ));
    }
    if p.request_timeout.get().is_zero() {
        return Err(ConfigError::invalid(
            "payroc.request_timeout",
            "must be positive",
        ));
    }
    Ok(())
}

fn certitrade(s: &Settings) -> Result<(), ConfigError> {
    let c = &s.certitrade;
    if !c.enabled {
        return Ok(());
    }
    for (key, url) in [
        ("certitrade.api_url", &c.api_url),
        ("certitrade.return_url", &c.return_url),
        ("certitrade.callback_url", &c.callback_url),
    ] {
        http_url(key, url)?;
    }
    if c.merchant_id == 0 {
        return Err(ConfigError::invalid(
            "certitrade.merchant_id",
            "must be your CertiTrade merchant id",
        ));
    }
    if c.initializing_amount <= 0 {
        return Err(ConfigError::invalid(
            "certitrade.initializing_amount",
            "must be positive (minor units)",
        ));
    }
    crate::domain::money::Currency::new(&c.initializing_currency)
        .map_err(|e| ConfigError::invalid("certitrade.initializing_currency", e.to_string()))?;
    Ok(())
}

fn webhooks(s: &Settings) -> Result<(), ConfigError> {
    let w = &s.webhooks;
    for (i, url) in w.endpoints.iter().enumerate() {
        let key = format!("webhooks.endpoints[{i}]");
        let ok = reqwest::Url::parse(url)
            .map(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .unwrap_or(false);
        if !ok {
            return Err(ConfigError::invalid(
                &key,
                format!("{:?} is not an http(s) URL", super::mask_url_password(url)),
            ));
        }
        // Each (event, endpoint) is one delivery: a repeated URL would be a second delivery.
        if w.endpoints[..i].contains(url) {
            return Err(ConfigError::invalid(&key, "is listed twice"));
        }
    }
    positive("webhooks.max_attempts", w.max_attempts as u64)?;
    positive("webhooks.concurrency", w.concurrency as u64)?;
    for (key, d) in [
        ("webhooks.backoff_min", w.backoff_min),
        ("webhooks.request_timeout", w.request_timeout),
        ("webhooks.poll_interval", w.poll_interval),
    ] {
        if d.get().is_zero() {
            return Err(ConfigError::invalid(key, "must be positive"));
        }
    }
    if w.backoff_min > w.backoff_max {
        return Err(ConfigError::invalid(
            "webhooks.backoff_min",
            "must not exceed webhooks.backoff_max",
        ));
    }
    if w.enabled && !w.endpoints.is_empty() {
        match &w.secret {
            None => {
                return Err(ConfigError::invalid(
                    "webhooks.secret",
                    "is required to sign deliveries: set BILLINGD_WEBHOOKS__SECRET or \
                     webhooks.secret_file (or webhooks.enabled = false)",
                ));
            }
            // Receivers verify with it: a short key is guessable offline from one signature.
            Some(secret) if secrecy::ExposeSecret::expose_secret(secret).len() < 16 => {
                return Err(ConfigError::invalid(
                    "webhooks.secret",
                    "must be at least 16 characters",
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn positive(key: &str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(ConfigError::invalid(key, "must be at least 1"));
    }
    Ok(())
}

/// An absolute http(s) URL, or an error naming the key.
pub(super) fn http_url(key: &str, url: &str) -> Result<(), ConfigError> {
    let ok = reqwest::Url::parse(url)
        .map(|u| matches!(u.scheme(), "http" | "https"))
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            key,
            format!("{url:?} is not an http(s) URL"),
        ))
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
