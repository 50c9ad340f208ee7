//! Checks of request values that several routes share.

use super::problem::{ApiError, ApiResult};

pub fn non_empty<'a>(field: &str, value: &'a str, max: usize) -> ApiResult<&'a str> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(ApiError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(v)
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
