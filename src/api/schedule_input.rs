//! A schedule as a client writes it, and its validation into the domain's `Schedule`.

use serde::Deserialize;
use utoipa::ToSchema;

use super::problem::{ApiError, ApiResult};
use crate::domain::schedule::{IntervalUnit, Schedule};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    /// Local date-time of cycle 1 in `time_zone`, e.g. `2027-01-31T09:00:00`.
    #[schema(
        pattern = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,9})?)?$",
        example = "2027-01-31T09:00:00"
    )]
    pub anchor: String,
    /// IANA time zone, e.g. `Europe/Paris`.
    #[schema(example = "Europe/Paris")]
    pub time_zone: String,
    /// `day` | `week` | `month` | `year`
    #[schema(pattern = "^(day|week|month|year)$", example = "month")]
    pub interval: String,
    /// Units per cycle (default 1); at most about 1000 years' worth.
    #[schema(minimum = 1, maximum = 365242)]
    pub interval_count: Option<u32>,
    /// Number of installments; omit for an open-ended recurring plan.
    #[schema(minimum = 1)]
    pub total_cycles: Option<u32>,
}

impl ScheduleInput {
    /// Errors name the field under `prefix` (`schedule.time_zone`, …).
    pub fn validate(&self, prefix: &str) -> ApiResult<Schedule> {
        let field = |name: &str| format!("{prefix}.{name}");
        let anchor: jiff::civil::DateTime = self.anchor.trim().parse().map_err(|e| {
            ApiError::invalid(
                field("anchor"),
                format!(
                    "{:?} is not a local date-time like 2027-01-31T09:00:00: {e}",
                    self.anchor
                ),
            )
        })?;
        // Four-digit years, as RFC 3339 writes them (jiff would go back to -9999, further than
        // PostgreSQL stores).
        if anchor.year() < 1 {
            return Err(ApiError::invalid(
                field("anchor"),
                "must lie between 0001-01-01T00:00:00 and 9999-12-31T23:59:59",
            ));
        }
        let unit: IntervalUnit = self.interval.parse().map_err(|_| {
            ApiError::invalid(
                field("interval"),
                format!("{:?} is not one of day, week, month, year", self.interval),
            )
        })?;
        Schedule::new(
            anchor,
            self.time_zone.trim(),
            unit,
            self.interval_count.unwrap_or(1),
            self.total_cycles,
        )
        .map_err(|e| {
            // The domain's messages start with the field they are about.
            let text = e.to_string();
            match text.split_once(": ") {
                Some((name, message)) if !name.contains(' ') => {
                    ApiError::invalid(field(name), message)
                }
                _ => ApiError::invalid(prefix.to_owned(), text),
            }
        })
    }
}
