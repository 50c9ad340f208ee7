//! One module per area of the console; each loads what it shows and renders one template.

pub mod account;
mod attention;
pub mod charge;
pub mod overview;
pub mod search;
pub mod subscription;
pub mod webhooks;

/// A CSS class for a state badge: `state-<value>`, only from known characters.
pub fn badge(state: &str) -> String {
    let clean: String = state
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    format!("state-{clean}")
}
