//! Test helpers for "no nulls on the wire": a typed gateway API answers 400 to `null` for a
//! typed field, so an absent optional field must be left out of a request, never sent as null.

use serde_json::Value;

/// Panics naming the first `null` in `value` (as a JSON path), showing the whole document.
pub fn assert_no_nulls(value: &Value) {
    if let Some(path) = null_path(value, "$") {
        panic!("null at {path} in {value}");
    }
}

fn null_path(value: &Value, here: &str) -> Option<String> {
    match value {
        Value::Null => Some(here.to_owned()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| null_path(item, &format!("{here}[{i}]"))),
        Value::Object(map) => map
            .iter()
            .find_map(|(key, item)| null_path(item, &format!("{here}.{key}"))),
        _ => None,
    }
}

/// Every present/absent combination of `n` optional fields: `2^n` vectors of `n` flags.
pub fn combinations(n: u32) -> impl Iterator<Item = Vec<bool>> {
    (0..1u32 << n).map(move |bits| (0..n).map(|i| bits & (1 << i) != 0).collect())
}

#[test]
fn finds_a_null_at_any_depth() {
    let found = |v: Value| null_path(&v, "$");
    assert_eq!(found(serde_json::json!({"a": [1, {"b": "x"}]})), None);
    assert_eq!(
        found(serde_json::json!({"a": [1, {"b": null}]})).as_deref(),
        Some("$.a[1].b")
    );
    assert_eq!(found(Value::Null).as_deref(), Some("$"));
    let all: Vec<Vec<bool>> = combinations(2).collect();
    assert_eq!(
        all,
        [
            vec![false, false],
            vec![true, false],
            vec![false, true],
            vec![true, true]
        ]
    );
}
