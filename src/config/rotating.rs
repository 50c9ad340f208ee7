//! Secrets that rotate without a restart. A secret given in a file (`*_file`) is read again when
//! the file changes (its modification time) and on SIGHUP; a value may hold several secrets, one
//! per line, so that during a rotation the new and the old one are both in force: both admin
//! tokens are accepted, webhooks are signed with both secrets. A file that becomes unreadable or
//! empty keeps the secrets last read (and says so in the log): a half-written file must not lock
//! every client out.

use secrecy::{ExposeSecret, SecretString};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

/// Bumped by SIGHUP: every file-backed secret is read again at its next use.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Makes every file-backed secret re-read its file at its next use (the SIGHUP handler).
pub fn reload_all() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
}

#[derive(Clone)]
pub struct RotatingSecret {
    inner: Arc<Inner>,
}

struct Inner {
    /// The setting's name, for the log.
    key: String,
    file: Option<PathBuf>,
    state: RwLock<Loaded>,
}

struct Loaded {
    values: Arc<[SecretString]>,
    modified: Option<SystemTime>,
    generation: u64,
}

impl std::fmt::Debug for RotatingSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotatingSecret")
            .field("key", &self.inner.key)
            .field("file", &self.inner.file)
            .finish_non_exhaustive()
    }
}

impl RotatingSecret {
    /// The secret(s) `value` holds (one per line), re-read from `file` when it is set and
    /// changes. `value` is what configuration loading read (from the environment or the file).
    pub fn new(key: &str, value: &SecretString, file: Option<&Path>) -> Self {
        let modified = file.and_then(modified_at);
        RotatingSecret {
            inner: Arc::new(Inner {
                key: key.to_owned(),
                file: file.map(Path::to_path_buf),
                state: RwLock::new(Loaded {
                    values: split(value.expose_secret()).into(),
                    modified,
                    generation: GENERATION.load(Ordering::Relaxed),
                }),
            }),
        }
    }

    /// The secrets in force now, newest first as written.
    pub fn current(&self) -> Arc<[SecretString]> {
        if let Some(file) = &self.inner.file {
            self.refresh(file);
        }
        let loaded = self.inner.state.read().unwrap_or_else(|e| e.into_inner());
        loaded.values.clone()
    }

    fn refresh(&self, file: &Path) {
        let generation = GENERATION.load(Ordering::Relaxed);
        let modified = modified_at(file);
        {
            let loaded = self.inner.state.read().unwrap_or_else(|e| e.into_inner());
            if loaded.generation == generation && loaded.modified == modified {
                return;
            }
        }
        let mut loaded = self.inner.state.write().unwrap_or_else(|e| e.into_inner());
        loaded.generation = generation;
        loaded.modified = modified;
        match std::fs::read_to_string(file).map(|text| split(&text)) {
            Ok(values) if !values.is_empty() => {
                tracing::info!(key = %self.inner.key, file = %file.display(), secrets = values.len(),
                    "secret file read again");
                loaded.values = values.into();
            }
            Ok(_) => tracing::error!(key = %self.inner.key, file = %file.display(),
                "secret file is empty; keeping the secrets read before"),
            Err(e) => tracing::error!(key = %self.inner.key, file = %file.display(), error = %e,
                "secret file unreadable; keeping the secrets read before"),
        }
    }
}

/// One secret per non-empty line, surrounding blanks trimmed.
fn split(text: &str) -> Vec<SecretString> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| SecretString::from(l.to_owned()))
        .collect()
}

fn modified_at(file: &Path) -> Option<SystemTime> {
    std::fs::metadata(file).and_then(|m| m.modified()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposed(s: &RotatingSecret) -> Vec<String> {
        s.current()
            .iter()
            .map(|v| v.expose_secret().to_owned())
            .collect()
    }

    #[test]
    fn several_lines_are_several_secrets() {
        let s = RotatingSecret::new("k", &SecretString::from("new\n  old \n\n"), None);
        assert_eq!(exposed(&s), ["new", "old"]);
    }

    #[test]
    fn a_changed_file_is_read_again_and_a_broken_one_keeps_the_last_secrets() {
        let dir = std::env::temp_dir().join(format!("billingd-rot-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "first\n").unwrap();
        let s = RotatingSecret::new("k", &SecretString::from("first"), Some(&file));
        assert_eq!(exposed(&s), ["first"]);
        std::fs::write(&file, "second\nfirst\n").unwrap();
        // Coarse file-system clocks: a forced reload is what SIGHUP does.
        reload_all();
        assert_eq!(exposed(&s), ["second", "first"]);
        std::fs::write(&file, "  \n").unwrap();
        reload_all();
        assert_eq!(
            exposed(&s),
            ["second", "first"],
            "an empty file changes nothing"
        );
        std::fs::remove_file(&file).unwrap();
        reload_all();
        assert_eq!(
            exposed(&s),
            ["second", "first"],
            "a missing file changes nothing"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
