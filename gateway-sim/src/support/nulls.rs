//! `null` in a request body. Both gateways' APIs are typed (Payroc's SDK models, CertiTrade's
//! documented field types): a string, number or object field that is `null` fails
//! deserialization, and the API answers 400. A client must leave an absent optional field out.
//! Each gateway's body parser calls `null_fields` and answers in its own problem shape.

use serde_json::Value;

/// The dotted path of every `null` in a request body (`source.cardDetails.cvv`, `items[2]`),
/// in document order.
pub fn null_fields(body: &Value) -> Vec<String> {
    let mut found = Vec::new();
    // Nearly every body has none: look without building a path for every field first.
    if has_null(body) {
        collect(body, "", &mut found);
    }
    found
}

fn has_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.iter().any(has_null),
        Value::Object(map) => map.values().any(has_null),
        _ => false,
    }
}

fn collect(value: &Value, here: &str, found: &mut Vec<String>) {
    match value {
        Value::Null => found.push(here.to_owned()),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect(item, &format!("{here}[{i}]"), found);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let path = if here.is_empty() {
                    key.clone()
                } else {
                    format!("{here}.{key}")
                };
                collect(item, &path, found);
            }
        }
        _ => {}
    }
}

/// What a gateway's 400 says about one null field.
pub fn message(path: &str) -> String {
    format!("{path} must not be null; leave the field out when it has no value")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_every_null_by_its_path() {
        let body = json!({"a": null, "b": {"c": null, "d": "x"}, "e": [1, null], "f": 0});
        assert_eq!(null_fields(&body), ["a", "b.c", "e[1]"]);
        assert!(null_fields(&json!({"a": {"b": [1, "x"]}})).is_empty());
        assert_eq!(null_fields(&json!([{"a": [null]}])), ["[0].a[0]"]);
        assert_eq!(null_fields(&Value::Null), [""]);
    }
}
