//! Where a configuration came from, for `check-config`: the files read and the environment
//! variables taken as settings — and the `BILLINGD_*` names that were ignored, since a setting
//! spelled with one underscore (`BILLINGD_DATABASE_URL`) is otherwise silently not applied.

use std::path::Path;

use super::DEFAULT_FILE;

/// `BILLINGD_*` names that are not settings but are read by billingd or its scripts.
const KNOWN: &[&str] = &["BILLINGD_CONFIG"];
/// Prefixes of the scripts' own knobs (tests, fuzzing, faults, benchmarks, private Postgres).
const SCRIPT_PREFIXES: &[&str] = &[
    "BILLINGD_TEST_",
    "BILLINGD_SKIP_",
    "BILLINGD_FUZZ_",
    "BILLINGD_FAULTS_",
    "BILLINGD_BENCH_",
    "BILLINGD_PG",
    "BILLINGD_DEMO_",
];
const SECTIONS: &[&str] = &[
    "database",
    "api",
    "scheduler",
    "billing",
    "payroc",
    "certitrade",
    "webhooks",
    "reconcile",
    "outcomes",
    "log",
];

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sources {
    pub files: Vec<String>,
    /// Names of the environment variables taken as settings (values never shown).
    pub environment: Vec<String>,
    /// One line per ignored `BILLINGD_*` name, with the spelling it probably meant.
    pub ignored: Vec<String>,
}

/// What `load(explicit)` reads, given these environment variable names.
pub fn sources(explicit: Option<&Path>, env_names: impl IntoIterator<Item = String>) -> Sources {
    let mut s = Sources::default();
    if Path::new(DEFAULT_FILE).is_file() {
        s.files.push(DEFAULT_FILE.to_owned());
    }
    if let Some(path) = explicit {
        s.files.push(path.display().to_string());
    }
    let mut names: Vec<String> = env_names
        .into_iter()
        .filter(|n| n.starts_with("BILLINGD_"))
        .collect();
    names.sort();
    for name in names {
        if name.contains("__") {
            s.environment.push(name);
        } else if !KNOWN.contains(&name.as_str())
            && !SCRIPT_PREFIXES.iter().any(|p| name.starts_with(p))
        {
            s.ignored.push(ignored(&name));
        }
    }
    s
}

fn ignored(name: &str) -> String {
    let rest = &name["BILLINGD_".len()..];
    let lower = rest.to_ascii_lowercase();
    let meant = SECTIONS.iter().find_map(|section| {
        let key = lower.strip_prefix(section)?.strip_prefix('_')?;
        (!key.is_empty()).then(|| format!("BILLINGD_{}__{}", section, key).to_ascii_uppercase())
    });
    match meant {
        Some(m) => format!(
            "{name} is not a setting and is ignored (did you mean {m}? sections and keys are \
             separated by two underscores)"
        ),
        None => format!(
            "{name} is not a setting and is ignored (settings are BILLINGD_<SECTION>__<KEY>)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_listed_and_single_underscore_names_are_flagged_with_a_suggestion() {
        let names = [
            "BILLINGD_DATABASE__URL",
            "BILLINGD_DATABASE_URL",
            "BILLINGD_CONFIG",
            "BILLINGD_TEST_DATABASE_URL",
            "BILLINGD_NOPE",
            "PATH",
        ]
        .map(String::from);
        let s = sources(None, names);
        assert_eq!(s.environment, ["BILLINGD_DATABASE__URL"]);
        assert_eq!(s.ignored.len(), 2, "{:?}", s.ignored);
        assert!(s.ignored[0].contains("did you mean BILLINGD_DATABASE__URL?"));
        assert!(s.ignored[1].starts_with("BILLINGD_NOPE is not a setting"));
    }
}
