//! What the simulators injected, by kind, read from their request logs and fault counters.

use serde_json::Value;

use super::Snapshot;

/// Gateway faults by kind, (Payroc, CertiTrade): what the simulators injected at random and
/// what the amount triggers did, from their request logs.
pub fn gateway_faults(snap: &Snapshot) -> Vec<(&'static str, u64, u64)> {
    let injected = |f: &Value, k: &str| f["injected"][k].as_u64().unwrap_or(0);
    let count = |reqs: &[Value], trigger: u64, result: &str| {
        reqs.iter()
            .filter(|r| {
                r["amount"].as_u64().is_some_and(|a| a % 100 == trigger)
                    && r["result"].as_str() == Some(result)
            })
            .count() as u64
    };
    let count_result = |reqs: &[Value], result: &str| {
        reqs.iter()
            .filter(|r| r["result"].as_str() == Some(result))
            .count() as u64
    };
    let p = &snap.payroc_requests;
    let c = &snap.certitrade_requests;
    let (pf, cf) = (&snap.payroc_faults, &snap.certitrade_faults);
    let unauthorized = p
        .iter()
        .filter(|r| r["result"].as_str() == Some("unauthorized"))
        .count() as u64;
    vec![
        (
            "5xx, nothing processed (random and outages)",
            injected(pf, "fail"),
            injected(cf, "fail"),
        ),
        (
            "5xx on a key's first request (amount …96)",
            count(p, 96, "server_error"),
            count(c, 96, "server_error"),
        ),
        (
            "connection dropped after processing (random)",
            injected(pf, "drop"),
            injected(cf, "drop"),
        ),
        (
            "connection dropped after approval (amount …99)",
            count(p, 99, "dropped"),
            count(c, 99, "dropped"),
        ),
        (
            "slow answer, 0.9 s (random)",
            injected(pf, "slow"),
            injected(cf, "slow"),
        ),
        (
            "timeout: processing 2.5 s, key in use (random)",
            injected(pf, "timeout"),
            injected(cf, "timeout"),
        ),
        (
            "timeout: answered after 3 s (amount …97)",
            count(p, 97, "approved"),
            0,
        ),
        (
            "processing past the client's timeout (amount …95)",
            count(p, 95, "approved"),
            0,
        ),
        (
            "409: a resend met its key still processing",
            count_result(p, "in_flight"),
            0,
        ),
        ("unreadable answer", injected(pf, "garbage"), 0),
        ("401 after the bearer tokens expired", unauthorized, 0),
    ]
}
