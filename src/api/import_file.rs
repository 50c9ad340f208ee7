//! Reading an import file: JSON Lines (one subscription as `POST /v1/subscriptions` takes it per
//! line) or CSV (the same fields as flat columns). Each row keeps its line number, so every
//! error names the line and the field.

use serde_json::{Map, Value};

use super::extract::parse;
use super::new_subscription::CreateSubscription;
use super::problem::ApiError;

/// The formats an import file may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImportFormat {
    /// One JSON object per line, as `POST /v1/subscriptions` takes it.
    Jsonl,
    /// A header row naming the columns of `CSV_COLUMNS`; empty cells are absent values.
    Csv,
}

impl ImportFormat {
    /// By a file's name: `.csv` is CSV, anything else JSON Lines.
    pub fn of_path(path: &std::path::Path) -> ImportFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("csv") => ImportFormat::Csv,
            _ => ImportFormat::Jsonl,
        }
    }
}

/// A row as read: its line, its merchant reference as written (when it could be read, so a
/// rejected row's report still names it), and the subscription it asks for, or what is wrong
/// with it.
pub struct ReadRow {
    pub line: u64,
    pub reference: Option<String>,
    pub row: Result<CreateSubscription, ApiError>,
}

/// The CSV columns and where each goes in the JSON body (`schedule.anchor` is nested).
pub const CSV_COLUMNS: &[(&str, &str, Cell)] = &[
    ("account_id", "account_id", Cell::Text),
    ("amount", "amount", Cell::Integer),
    ("currency", "currency", Cell::Text),
    ("anchor", "schedule.anchor", Cell::Text),
    ("time_zone", "schedule.time_zone", Cell::Text),
    ("interval", "schedule.interval", Cell::Text),
    ("interval_count", "schedule.interval_count", Cell::Integer),
    ("total_cycles", "schedule.total_cycles", Cell::Integer),
    ("merchant_reference", "merchant_reference", Cell::Text),
    (
        "billed_through_cycle",
        "billed_through_cycle",
        Cell::Integer,
    ),
    ("paid_through", "paid_through", Cell::Text),
    ("series_payment_id", "series.payment_id", Cell::Text),
    (
        "series_scheme_reference",
        "series.scheme_reference",
        Cell::Text,
    ),
    ("catch_up", "catch_up", Cell::Text),
    ("catch_up_max_cycles", "catch_up_max_cycles", Cell::Integer),
];

#[derive(Debug, Clone, Copy)]
pub enum Cell {
    Text,
    Integer,
}

pub fn read(bytes: &[u8], format: ImportFormat) -> Result<Vec<ReadRow>, ApiError> {
    match format {
        ImportFormat::Jsonl => Ok(read_jsonl(bytes)),
        ImportFormat::Csv => read_csv(bytes),
    }
}

fn read_jsonl(bytes: &[u8]) -> Vec<ReadRow> {
    bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
        .map(|(i, line)| ReadRow {
            line: i as u64 + 1,
            reference: reference_in(line),
            row: parse::<CreateSubscription>(line),
        })
        .collect()
}

/// The `merchant_reference` of a JSON line, if the line is a JSON object with a text one.
fn reference_in(line: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(line).ok()?;
    let reference = value.get("merchant_reference")?.as_str()?.trim();
    (!reference.is_empty()).then(|| reference.to_owned())
}

fn read_csv(bytes: &[u8]) -> Result<Vec<ReadRow>, ApiError> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| ApiError::invalid("header", e.to_string()))?
        .clone();
    let mut places = Vec::with_capacity(headers.len());
    for name in headers.iter() {
        let column = CSV_COLUMNS
            .iter()
            .find(|(c, _, _)| *c == name.trim())
            .ok_or_else(|| {
                let known: Vec<&str> = CSV_COLUMNS.iter().map(|c| c.0).collect();
                ApiError::invalid(
                    "header",
                    format!(
                        "unknown column {name:?}; the columns are {}",
                        known.join(", ")
                    ),
                )
            })?;
        places.push(column);
    }
    let reference_at = places.iter().position(|c| c.0 == "merchant_reference");
    let mut rows = Vec::new();
    for record in reader.records() {
        rows.push(match record {
            Ok(r) => ReadRow {
                line: r.position().map(|p| p.line()).unwrap_or(0),
                reference: reference_at
                    .and_then(|i| r.get(i))
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
                row: csv_row(&places, &r),
            },
            Err(e) => ReadRow {
                line: e.position().map(|p| p.line()).unwrap_or(0),
                reference: None,
                row: Err(ApiError::invalid("row", e.to_string())),
            },
        });
    }
    Ok(rows)
}

fn csv_row(
    places: &[&(&str, &str, Cell)],
    record: &csv::StringRecord,
) -> Result<CreateSubscription, ApiError> {
    let mut body = Value::Object(Map::new());
    for ((column, path, cell), text) in places.iter().copied().zip(record.iter()) {
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let value = match cell {
            Cell::Text => Value::String(text.to_owned()),
            Cell::Integer => text
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| ApiError::invalid(*column, "must be a whole number"))?,
        };
        let mut at = &mut body;
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            let object = at.as_object_mut().expect("objects all the way down");
            if parts.peek().is_none() {
                object.insert(part.to_owned(), value.clone());
                break;
            }
            at = object
                .entry(part.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }
    parse(body.to_string().as_bytes())
}
