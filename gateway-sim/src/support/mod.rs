//! Small gateway-neutral helpers (identifiers, timestamps).

pub mod clock;
pub mod random;
