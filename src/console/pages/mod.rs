//! One module per area of the console; each loads what it shows and renders one template.

pub mod account;
mod attention;
pub mod charge;
pub mod overview;
pub mod search;
pub mod subscription;
pub mod webhooks;

/// One charge as the account and subscription pages list it, formatted for the page.
pub struct ChargeRow {
    pub id: uuid::Uuid,
    pub cycle: i32,
    pub due: String,
    pub amount: String,
    pub status: String,
    pub attempts: i32,
    pub outcome: String,
}

/// A CSS class for a state badge: `state-<value>`, only from known characters.
pub fn badge(state: &str) -> String {
    let clean: String = state
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    format!("state-{clean}")
}
