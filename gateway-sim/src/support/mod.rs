//! Small gateway-neutral helpers (identifiers, timestamps, stored replies).

pub mod chaos;
pub mod clock;
pub mod nulls;
pub mod random;
pub mod reply;
