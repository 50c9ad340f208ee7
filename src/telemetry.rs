//! Logs: one JSON object per line on stdout by default, so any log shipper can read them.
//! `RUST_LOG`, when set, overrides the configured filter.

use crate::config::{LogFormat, LogSettings};
use tracing_subscriber::EnvFilter;

/// `to_stderr` keeps stdout free for a command's own output (admin commands print JSON).
pub fn init(settings: &LogSettings, to_stderr: bool) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(move || -> Box<dyn std::io::Write> {
            if to_stderr {
                Box::new(std::io::stderr())
            } else {
                Box::new(std::io::stdout())
            }
        });
    // try_init: tests and embedded uses may already have installed a subscriber.
    let _ = match settings.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.compact().try_init(),
    };
}
