//! Where a billing cycle sits within its schedule.
//!
//! Gateways treat the first charge of a stored credential differently from
//! later merchant-initiated ones, and fixed-length installment plans
//! differently from open-ended subscriptions, so every charge carries this
//! classification. It depends only on the cycle number and the plan length,
//! never on dates, so it can be rebuilt from stored data at any time.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Whether a charge is the customer-initiated first one or a later
/// merchant-initiated one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sequence {
    First,
    Subsequent,
}

impl Sequence {
    pub fn as_str(&self) -> &'static str {
        match self {
            Sequence::First => "first",
            Sequence::Subsequent => "subsequent",
        }
    }
}

impl fmt::Display for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Sequence {
    type Err = ParseEnumError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Sequence::First, Sequence::Subsequent]
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseEnumError::new("sequence", s, "first, subsequent"))
    }
}

/// Open-ended subscription or a plan with a fixed number of payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessingModel {
    Recurring,
    Installment,
}

impl ProcessingModel {
    /// A plan with a fixed number of payments is an installment plan; an open-ended one is
    /// recurring.
    pub fn of_plan(total_cycles: Option<u32>) -> ProcessingModel {
        if total_cycles.is_some() {
            ProcessingModel::Installment
        } else {
            ProcessingModel::Recurring
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            ProcessingModel::Recurring => "recurring",
            ProcessingModel::Installment => "installment",
        }
    }
}

impl fmt::Display for ProcessingModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProcessingModel {
    type Err = ParseEnumError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [ProcessingModel::Recurring, ProcessingModel::Installment]
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseEnumError::new("processing_model", s, "recurring, installment"))
    }
}

/// A string that names none of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: unknown value {value:?}; expected one of: {allowed}")]
pub struct ParseEnumError {
    pub field: &'static str,
    pub value: String,
    pub allowed: &'static str,
}

impl ParseEnumError {
    fn new(field: &'static str, value: &str, allowed: &'static str) -> Self {
        ParseEnumError {
            field,
            value: value.to_owned(),
            allowed,
        }
    }
}

/// The classification of one cycle of a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Position {
    /// 1-based; cycle 1 is the schedule's anchor.
    pub cycle: u32,
    pub sequence: Sequence,
    pub model: ProcessingModel,
    /// Always false for open-ended (recurring) schedules.
    pub is_last: bool,
    pub total_cycles: Option<u32>,
}

impl Position {
    /// `None` for cycle 0 or a cycle past `total_cycles`, since neither is
    /// ever charged.
    pub fn for_cycle(cycle: u32, total_cycles: Option<u32>) -> Option<Position> {
        if cycle == 0 || total_cycles.is_some_and(|total| cycle > total) {
            return None;
        }
        Some(Position {
            cycle,
            sequence: if cycle == 1 {
                Sequence::First
            } else {
                Sequence::Subsequent
            },
            model: ProcessingModel::of_plan(total_cycles),
            is_last: total_cycles == Some(cycle),
            total_cycles,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error as DeError, StrDeserializer};

    fn de<T: for<'de> Deserialize<'de>>(s: &str) -> Result<T, DeError> {
        let d: StrDeserializer<'_, DeError> = s.into_deserializer();
        T::deserialize(d)
    }

    #[test]
    fn strings_round_trip_through_as_str_from_str_and_serde() {
        for s in [Sequence::First, Sequence::Subsequent] {
            assert_eq!(s.as_str().parse::<Sequence>(), Ok(s));
            assert_eq!(de::<Sequence>(s.as_str()).unwrap(), s);
            assert_eq!(s.to_string(), s.as_str());
        }
        for m in [ProcessingModel::Recurring, ProcessingModel::Installment] {
            assert_eq!(m.as_str().parse::<ProcessingModel>(), Ok(m));
            assert_eq!(de::<ProcessingModel>(m.as_str()).unwrap(), m);
            assert_eq!(m.to_string(), m.as_str());
        }
        assert_eq!(Sequence::First.as_str(), "first");
        assert_eq!(Sequence::Subsequent.as_str(), "subsequent");
        assert_eq!(ProcessingModel::Recurring.as_str(), "recurring");
        assert_eq!(ProcessingModel::Installment.as_str(), "installment");
        assert_eq!("FIRST".parse::<Sequence>(), Ok(Sequence::First));
    }

    #[test]
    fn unknown_strings_are_rejected_with_the_allowed_values() {
        let err = "initial".parse::<Sequence>().unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"sequence: unknown value "initial"; expected one of: first, subsequent"#
        );
        let err = "subscription".parse::<ProcessingModel>().unwrap_err();
        assert!(err.to_string().contains("recurring, installment"), "{err}");
        assert!(de::<Sequence>("initial").is_err());
    }

    #[test]
    fn recurring_positions_are_never_last() {
        let p = Position::for_cycle(1, None).unwrap();
        assert_eq!(
            p,
            Position {
                cycle: 1,
                sequence: Sequence::First,
                model: ProcessingModel::Recurring,
                is_last: false,
                total_cycles: None,
            }
        );
        let p = Position::for_cycle(u32::MAX, None).unwrap();
        assert_eq!((p.sequence, p.is_last), (Sequence::Subsequent, false));
        assert_eq!(Position::for_cycle(0, None), None);
    }

    #[test]
    fn installment_positions_mark_first_subsequent_and_last() {
        let total = Some(3);
        let kinds: Vec<_> = (0..=4)
            .map(|c| Position::for_cycle(c, total).map(|p| (p.sequence, p.model, p.is_last)))
            .collect();
        use ProcessingModel::Installment as I;
        assert_eq!(
            kinds,
            [
                None,
                Some((Sequence::First, I, false)),
                Some((Sequence::Subsequent, I, false)),
                Some((Sequence::Subsequent, I, true)),
                None,
            ]
        );
        // A one-payment plan is both the first and the last charge.
        let p = Position::for_cycle(1, Some(1)).unwrap();
        assert_eq!((p.sequence, p.is_last), (Sequence::First, true));
    }
}
