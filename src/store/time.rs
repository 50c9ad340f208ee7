//! The domain speaks jiff; sqlx speaks chrono. These are the only crossings between the two.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use jiff::Timestamp;
use jiff::civil;

/// Whether PostgreSQL's `timestamptz` can hold `dt`: from 4714-11-24 BC (proleptic Gregorian
/// -4713-11-24) on. chrono reaches further back, and an instant before that makes a query fail.
pub fn storable(dt: DateTime<Utc>) -> bool {
    dt.timestamp_micros() >= PG_MIN_MICROS
}

/// PostgreSQL's MIN_TIMESTAMP, in microseconds since 1970.
const PG_MIN_MICROS: i64 = -210_866_803_200_000_000;

/// The earliest instant a `timestamptz` holds: a keyset scan's starting point.
pub fn db_min() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(PG_MIN_MICROS).expect("within chrono's range")
}

pub fn to_db(ts: Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(ts.as_microsecond()).expect("timestamp within chrono's range")
}

pub fn from_db(dt: DateTime<Utc>) -> Timestamp {
    Timestamp::from_microsecond(dt.timestamp_micros()).expect("timestamp within jiff's range")
}

pub fn to_db_local(dt: civil::DateTime) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(dt.year().into(), dt.month() as u32, dt.day() as u32)
        .and_then(|d| {
            d.and_hms_micro_opt(
                dt.hour() as u32,
                dt.minute() as u32,
                dt.second() as u32,
                (dt.subsec_nanosecond() / 1000) as u32,
            )
        })
        .expect("civil date-time within chrono's range")
}

pub fn from_db_local(dt: NaiveDateTime) -> civil::DateTime {
    use chrono::{Datelike, Timelike};
    civil::DateTime::new(
        dt.year() as i16,
        dt.month() as i8,
        dt.day() as i8,
        dt.hour() as i8,
        dt.minute() as i8,
        dt.second() as i8,
        (dt.nanosecond() / 1000 * 1000) as i32,
    )
    .expect("stored local date-time within jiff's range")
}
