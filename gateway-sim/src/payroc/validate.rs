//! Field-by-field validation of JSON request bodies.
//!
//! Bodies are checked as `serde_json::Value` rather than deserialised into
//! structs so every error can name the exact dotted parameter
//! (`order.standingInstructions.sequence`) the way Payroc's `errors[]` does,
//! and so all problems in a body are reported at once.

use serde_json::{Map, Value};

use super::problem::{FieldError, Problem};
use crate::support::nulls;

const MISSING: &str = "Missing required parameter";
const INVALID: &str = "Invalid value";

#[derive(Default)]
pub struct Checker {
    errors: Vec<FieldError>,
}

fn join(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}.{field}")
    }
}

/// Parses a request body that must be a JSON object without a `null` anywhere (a typed API
/// refuses null for a typed field: `support::nulls`); every null is named in one 400.
pub fn parse_object(body: &[u8]) -> Result<Value, Problem> {
    match serde_json::from_slice::<Value>(body) {
        Ok(value @ Value::Object(_)) => {
            let nulls = nulls::null_fields(&value);
            if nulls.is_empty() {
                Ok(value)
            } else {
                Err(Problem::bad_request(
                    nulls
                        .iter()
                        .map(|path| FieldError::new(path, INVALID, nulls::message(path)))
                        .collect(),
                ))
            }
        }
        Ok(_) => Err(Problem::invalid(
            "body",
            "The request body must be a JSON object",
        )),
        Err(err) => Err(Problem::invalid(
            "body",
            format!("The request body is not valid JSON: {err}"),
        )),
    }
}

impl Checker {
    pub fn fail(&mut self, parameter: &str, detail: impl Into<String>) {
        self.errors
            .push(FieldError::new(parameter, INVALID, detail));
    }

    fn missing(&mut self, parameter: &str) {
        self.errors.push(FieldError::new(
            parameter,
            MISSING,
            format!("{parameter} is required"),
        ));
    }

    /// A body with a `null` never gets here (`parse_object` refuses it); the check stays so a
    /// null can never pass as a value.
    fn field<'v>(
        &mut self,
        parent: &'v Value,
        prefix: &str,
        name: &str,
        required: bool,
    ) -> Option<&'v Value> {
        match parent.get(name) {
            Some(Value::Null) | None => {
                if required {
                    self.missing(&join(prefix, name));
                }
                None
            }
            Some(v) => Some(v),
        }
    }

    pub fn object<'v>(
        &mut self,
        parent: &'v Value,
        prefix: &str,
        name: &str,
        required: bool,
    ) -> Option<&'v Value> {
        let value = self.field(parent, prefix, name, required)?;
        if value.is_object() {
            Some(value)
        } else {
            self.fail(
                &join(prefix, name),
                format!("{} must be an object", join(prefix, name)),
            );
            None
        }
    }

    pub fn string<'v>(
        &mut self,
        parent: &'v Value,
        prefix: &str,
        name: &str,
        required: bool,
    ) -> Option<&'v str> {
        let value = self.field(parent, prefix, name, required)?;
        match value.as_str() {
            Some(s) => Some(s),
            None => {
                self.fail(
                    &join(prefix, name),
                    format!("{} must be a string", join(prefix, name)),
                );
                None
            }
        }
    }

    /// A string whose length (in characters) lies in `min..=max`.
    pub fn sized_string<'v>(
        &mut self,
        parent: &'v Value,
        prefix: &str,
        name: &str,
        required: bool,
        (min, max): (usize, usize),
    ) -> Option<&'v str> {
        let s = self.string(parent, prefix, name, required)?;
        let len = s.chars().count();
        if (min..=max).contains(&len) {
            Some(s)
        } else {
            let param = join(prefix, name);
            self.fail(
                &param,
                format!("{param} must be {min} to {max} characters long"),
            );
            None
        }
    }

    pub fn one_of<'v>(
        &mut self,
        parent: &'v Value,
        prefix: &str,
        name: &str,
        required: bool,
        allowed: &[&str],
    ) -> Option<&'v str> {
        let s = self.string(parent, prefix, name, required)?;
        if allowed.contains(&s) {
            Some(s)
        } else {
            let param = join(prefix, name);
            self.fail(
                &param,
                format!("{param} must be one of: {}", allowed.join(", ")),
            );
            None
        }
    }

    pub fn positive_integer(
        &mut self,
        parent: &Value,
        prefix: &str,
        name: &str,
        required: bool,
    ) -> Option<u64> {
        let value = self.field(parent, prefix, name, required)?;
        match value.as_u64().filter(|n| *n > 0) {
            Some(n) => Some(n),
            None => {
                let param = join(prefix, name);
                self.fail(
                    &param,
                    format!("{param} must be a positive integer (minor units)"),
                );
                None
            }
        }
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    pub fn finish(self) -> Result<(), Problem> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Problem::bad_request(self.errors))
        }
    }
}

/// Convenience for optional lookups outside validation (e.g. request logging).
pub fn path<'v>(root: &'v Value, dotted: &str) -> Option<&'v Value> {
    dotted.split('.').try_fold(root, |v, key| {
        v.as_object().and_then(|m: &Map<String, Value>| m.get(key))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_dotted_parameters() {
        let body = json!({"order": {"amount": 0, "currency": 5}});
        let mut c = Checker::default();
        let order = c.object(&body, "", "order", true).unwrap();
        c.positive_integer(order, "order", "amount", true);
        c.string(order, "order", "currency", true);
        c.string(order, "order", "orderId", true);
        c.object(&body, "", "paymentMethod", true);
        let problem = c.finish().unwrap_err();
        let params: Vec<_> = problem
            .errors
            .iter()
            .map(|e| e.parameter.as_str())
            .collect();
        assert_eq!(
            params,
            [
                "order.amount",
                "order.currency",
                "order.orderId",
                "paymentMethod"
            ]
        );
    }

    #[test]
    fn rejects_non_objects() {
        assert!(parse_object(b"[1]").is_err());
        assert!(parse_object(b"{").is_err());
        assert!(parse_object(b"{}").is_ok());
        assert_eq!(path(&json!({"a": {"b": 3}}), "a.b"), Some(&json!(3)));
    }
}
