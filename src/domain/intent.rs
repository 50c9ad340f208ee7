//! The identity of one attempt at a charge, fixed before anything is sent.

use uuid::Uuid;

/// A fresh Idempotency-Key (UUID v4, as Payroc requires) and the merchant orderId of attempt
/// `attempt_no` of a charge. Payroc wants a new key and a new orderId for every new attempt
/// (a retry after a decline is a new sale); resends of the same attempt reuse both.
/// The orderId is 16 hex digits of the charge id plus the attempt number: unique per attempt,
/// within Payroc's 24 characters, and traceable back to the charge.
pub fn fresh_intent(charge_id: Uuid, attempt_no: i32) -> (Uuid, String) {
    let hex = charge_id.simple().to_string();
    (Uuid::new_v4(), format!("{}-{attempt_no}", &hex[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_attempt_gets_a_new_v4_key_and_order_id() {
        let charge = Uuid::new_v4();
        let (k1, o1) = fresh_intent(charge, 1);
        let (k2, o2) = fresh_intent(charge, 2);
        assert_ne!(k1, k2);
        assert_eq!(k1.get_version_num(), 4);
        assert_ne!(o1, o2);
        assert!(o1.len() <= 24 && o2.ends_with("-2"));
        assert_eq!(&o1[..16], &o2[..16]);
    }
}
