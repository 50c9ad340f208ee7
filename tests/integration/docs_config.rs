//! docs/configuration.md is the configuration reference: every key an operator can set must be
//! there, and every key it lists must still exist. No database needed.

use std::collections::BTreeSet;

use billingd::config::Settings;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Secrets are never serialized (so they cannot leak into `check-config` output), so the
/// built-in defaults do not show them; they are settings all the same.
const SECRETS: &[&str] = &[
    "api.admin_token",
    "payroc.api_key",
    "certitrade.api_key",
    "webhooks.secret",
];

/// `section.key` for every leaf of a TOML table (arrays are values, not sections).
fn toml_keys(table: &toml::Table, prefix: &str, out: &mut BTreeSet<String>) {
    for (key, value) in table {
        let name = format!("{prefix}{key}");
        match value {
            toml::Value::Table(inner) => toml_keys(inner, &format!("{name}."), out),
            _ => {
                out.insert(name);
            }
        }
    }
}

fn json_keys(value: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
    if let serde_json::Value::Object(map) = value {
        for (key, inner) in map {
            let name = format!("{prefix}{key}");
            // An empty table (e.g. `dunning.codes`, the merchant's own entries) is one key.
            if inner.as_object().is_some_and(|m| !m.is_empty()) {
                json_keys(inner, &format!("{name}."), out);
            } else {
                out.insert(name);
            }
        }
    }
}

fn default_toml_keys() -> BTreeSet<String> {
    let text = std::fs::read_to_string(format!("{ROOT}/config/default.toml")).unwrap();
    let table: toml::Table = text.parse().expect("config/default.toml is TOML");
    let mut keys = BTreeSet::new();
    toml_keys(&table, "", &mut keys);
    keys
}

fn built_in_keys() -> BTreeSet<String> {
    let value = serde_json::to_value(Settings::default()).unwrap();
    let mut keys = BTreeSet::new();
    json_keys(&value, "", &mut keys);
    keys.extend(SECRETS.iter().map(|k| k.to_string()));
    keys
}

/// The keys the reference documents: the first cell of each table row, `section.key`.
fn documented_keys(docs: &str) -> BTreeSet<String> {
    docs.lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`').map(|(key, _)| key.to_string()))
        .filter(|key| key.contains('.'))
        .collect()
}

fn docs() -> String {
    std::fs::read_to_string(format!("{ROOT}/docs/configuration.md")).unwrap()
}

#[test]
fn every_key_of_default_toml_is_documented() {
    let documented = documented_keys(&docs());
    let keys = default_toml_keys();
    assert!(keys.len() > 40, "parsed too few keys: {keys:?}");
    let missing: Vec<_> = keys.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "config/default.toml keys missing from docs/configuration.md: {missing:?}"
    );
}

#[test]
fn every_built_in_setting_is_documented_and_nothing_else() {
    let documented = documented_keys(&docs());
    let keys = built_in_keys();
    let missing: Vec<_> = keys.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "settings missing from docs/configuration.md: {missing:?}"
    );
    let stale: Vec<_> = documented.difference(&keys).collect();
    assert!(
        stale.is_empty(),
        "docs/configuration.md documents keys that do not exist: {stale:?}"
    );
}
