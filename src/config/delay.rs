//! A configured duration, written the human way ("500ms", "2m", "1d") or in ISO 8601 ("PT2M").
//! Days count as 24 hours: retry delays are intervals, not calendar dates.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Delay(pub Duration);

impl Delay {
    pub const fn secs(s: u64) -> Self {
        Delay(Duration::from_secs(s))
    }
    pub const fn millis(ms: u64) -> Self {
        Delay(Duration::from_millis(ms))
    }
    pub fn get(self) -> Duration {
        self.0
    }
    /// The same span as a signed duration, for arithmetic on `jiff::Timestamp`.
    pub fn signed(self) -> jiff::SignedDuration {
        jiff::SignedDuration::try_from(self.0).unwrap_or(jiff::SignedDuration::MAX)
    }
}

impl std::str::FromStr for Delay {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let span: jiff::Span = text.trim().parse().map_err(|e| {
            format!("{text:?} is not a duration like \"500ms\", \"30s\", \"2m\", \"1d\": {e}")
        })?;
        let signed = span
            .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
            .map_err(|e| format!("{text:?}: {e} (use days or smaller units)"))?;
        Duration::try_from(signed)
            .map(Delay)
            .map_err(|_| format!("{text:?} must not be negative"))
    }
}

impl<'de> Deserialize<'de> for Delay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Delay {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{:#}", self.signed()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_and_iso_forms_parse() {
        assert_eq!("500ms".parse::<Delay>().unwrap(), Delay::millis(500));
        assert_eq!("2m".parse::<Delay>().unwrap(), Delay::secs(120));
        assert_eq!("1d".parse::<Delay>().unwrap(), Delay::secs(86_400));
        assert_eq!("PT2M".parse::<Delay>().unwrap(), Delay::secs(120));
        assert!("-5s".parse::<Delay>().is_err());
        assert!("soon".parse::<Delay>().unwrap_err().contains("\"soon\""));
        assert!("1mo".parse::<Delay>().is_err());
    }

    #[test]
    fn it_prints_back_in_the_human_form() {
        let text = serde_json::to_string(&Delay::secs(90)).unwrap();
        assert_eq!(text, "\"1m 30s\"");
    }
}
