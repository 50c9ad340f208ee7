//! Checks of request values that several routes share.

use super::problem::{ApiError, ApiResult};

/// A required text, trimmed: not empty and at most `max` characters (the rule the gateways'
/// input rules use too).
pub fn non_empty<'a>(field: &str, value: &'a str, max: usize) -> ApiResult<&'a str> {
    Ok(crate::gateway::rules::non_empty(field, value, max)?)
}

pub fn one_of(field: &str, value: &str, allowed: &[&str]) -> ApiResult<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            format!("{value:?} is not one of {}", allowed.join(", ")),
        ))
    }
}
