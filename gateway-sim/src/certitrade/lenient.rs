//! Lenient reading of request fields. CertiTrade documents amounts, ids and
//! flags as `int` but every example sends strings (`"amount": "1234"`,
//! `"initialize": "1"`), and the PHP library sends numbers: accept both, as
//! the real API evidently does. Unknown fields are ignored (the API's
//! versioning rules let either side add fields).

use serde_json::Value;

use super::problem::Problem;
use crate::support::nulls;

/// Non-negative integer given as a JSON number or a string of ASCII digits.
pub fn integer(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    }
}

/// Resource id given as a non-empty string or a number; returned as text.
pub fn id(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

/// The documented 0/1 flag, also as a string or a JSON boolean.
pub fn flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        _ => match integer(value) {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
    }
}

/// A field, if given. (`object` refuses a body with a `null` in it.)
pub fn get<'v>(object: &'v Value, name: &str) -> Option<&'v Value> {
    object.get(name).filter(|v| !v.is_null())
}

/// Parses a body that must be a JSON object without a `null` anywhere: lenient about how a
/// value is written, but a typed API still refuses null for a typed field (`support::nulls`).
pub fn object(body: &[u8]) -> Result<Value, Problem> {
    match serde_json::from_slice::<Value>(body) {
        Ok(value @ Value::Object(_)) => {
            let nulls = nulls::null_fields(&value);
            if nulls.is_empty() {
                Ok(value)
            } else {
                let details: Vec<String> = nulls.iter().map(|p| nulls::message(p)).collect();
                Err(Problem::bad_request(details.join("; ")))
            }
        }
        Ok(_) => Err(Problem::bad_request(
            "The request body must be a JSON object",
        )),
        Err(err) => Err(Problem::bad_request(format!(
            "The request body is not valid JSON: {err}"
        ))),
    }
}

/// `message_id` in canonical decimal form. Absent → `Ok(None)`.
pub fn message_id(root: &Value) -> Result<Option<String>, Problem> {
    match get(root, "message_id") {
        None => Ok(None),
        Some(v) => integer(v)
            .map(|n| Some(n.to_string()))
            .ok_or_else(|| Problem::bad_request("message_id must be a non-negative integer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_and_strings() {
        assert_eq!(integer(&json!("1000")), Some(1000));
        assert_eq!(integer(&json!(1000)), Some(1000));
        assert_eq!(integer(&json!("10.5")), None);
        assert_eq!(integer(&json!(-1)), None);
        assert_eq!(integer(&json!("")), None);
        assert_eq!(id(&json!(40260868824u64)).as_deref(), Some("40260868824"));
        assert_eq!(id(&json!("402")).as_deref(), Some("402"));
        assert_eq!(id(&json!("")), None);
        assert_eq!(flag(&json!("1")), Some(true));
        assert_eq!(flag(&json!(0)), Some(false));
        assert_eq!(flag(&json!(true)), Some(true));
        assert_eq!(flag(&json!("2")), None);
    }

    #[test]
    fn message_ids() {
        assert_eq!(message_id(&json!({})).unwrap(), None);
        assert_eq!(
            message_id(&json!({"message_id": "007"}))
                .unwrap()
                .as_deref(),
            Some("7")
        );
        assert_eq!(
            message_id(&json!({"message_id": 7})).unwrap().as_deref(),
            Some("7")
        );
        assert!(message_id(&json!({"message_id": "x"})).is_err());
        assert!(object(b"[]").is_err());
        assert!(object(b"{").is_err());
    }
}
