//! Small gateway-neutral helpers (identifiers, timestamps, stored replies).

pub mod clock;
pub mod random;
pub mod reply;
