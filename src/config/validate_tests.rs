//! Unit tests of the configuration checks.

use super::*;
use crate::config::Delay;

#[test]
fn the_lease_is_checked_against_each_enabled_gateways_worst_send() {
    let mut s = Settings::default();
    s.billing.lease = Delay::secs(300);
    s.certitrade.request_timeout = Delay::secs(120);
    assert!(
        billing(&s).is_ok(),
        "CertiTrade disabled: its timeout does not count"
    );
    s.certitrade.enabled = true;
    let err = billing(&s).unwrap_err().to_string();
    assert!(
        err.contains("billing.lease") && err.contains("certitrade"),
        "{err}"
    );
    s.billing.lease = Delay::secs(900);
    assert!(billing(&s).is_ok());
    s.payroc.request_timeout = Delay::secs(200);
    let err = billing(&s).unwrap_err().to_string();
    assert!(err.contains("payroc's longest send"), "{err}");
}

#[test]
fn reconcile_runs_at_most_every_minute_over_a_window_no_shorter_than_its_period() {
    let mut s = Settings::default();
    assert!(reconcile(&s).is_ok());
    s.reconcile.every = Delay::secs(30);
    assert!(
        reconcile(&s)
            .unwrap_err()
            .to_string()
            .contains("reconcile.every")
    );
    s.reconcile.every = Delay::secs(7200);
    s.reconcile.window = Delay::secs(3600);
    assert!(
        reconcile(&s)
            .unwrap_err()
            .to_string()
            .contains("reconcile.window")
    );
}
