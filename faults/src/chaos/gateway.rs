//! Faults at the gateways: random failures all along, short incidents, unreadable answers, and
//! bearer tokens expired under the replicas' feet.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::Ctx;
use crate::api::Api;

pub async fn expire_tokens(ctx: Arc<Ctx>, every: Duration) {
    let mut next = every;
    while ctx.sleep_until(next).await {
        if ctx
            .api
            .sim_post("/_sim/auth/expire-all", &json!({}))
            .await
            .is_ok()
        {
            ctx.stats.lock().unwrap().token_expiries += 1;
        }
        next += every;
    }
}

/// Random faults at both gateways all along, a short outage (most requests failing) every
/// `outage_every`, and a few unreadable Payroc answers now and then.
pub fn base_rates() -> Value {
    json!({"fail_rate": 0.03, "drop_rate": 0.04, "slow_rate": 0.04, "slow_ms": 900,
           "timeout_rate": 0.06, "timeout_ms": 2500})
}

pub fn no_faults() -> Value {
    json!({})
}

pub async fn set_gateway_faults(api: &Api, plan: &Value) -> anyhow::Result<()> {
    api.sim_post("/_sim/faults", plan).await?;
    let mut rates = plan.clone();
    if let Some(m) = rates.as_object_mut() {
        m.retain(|k, _| !k.ends_with("_next"));
    }
    api.sim_post("/_sim/certitrade/faults", &rates).await?;
    Ok(())
}

pub async fn gateway(ctx: Arc<Ctx>, every: Duration) {
    let _ = set_gateway_faults(&ctx.api, &base_rates()).await;
    let mut next = every / 2;
    let mut garbage = true;
    while ctx.sleep_until(next).await {
        if garbage {
            let mut plan = base_rates();
            plan["garbage_next"] = json!(3);
            if set_gateway_faults(&ctx.api, &plan).await.is_ok() {
                ctx.stats.lock().unwrap().garbage_armed += 3;
            }
        } else {
            // An incident: the gateway fails most sales for 4 s, then holds half of them
            // past the client's timeout for 4 s while it recovers.
            let mut outage = base_rates();
            outage["fail_rate"] = json!(0.6);
            let mut brownout = base_rates();
            brownout["timeout_rate"] = json!(0.5);
            if set_gateway_faults(&ctx.api, &outage).await.is_ok() {
                ctx.note("gateway incident: 4 s of 60% 5xx, then 4 s of 50% held 2.5 s".into());
                ctx.stats.lock().unwrap().outages += 1;
                tokio::time::sleep(Duration::from_secs(4)).await;
                let _ = set_gateway_faults(&ctx.api, &brownout).await;
                tokio::time::sleep(Duration::from_secs(4)).await;
            }
            let _ = set_gateway_faults(&ctx.api, &base_rates()).await;
        }
        garbage = !garbage;
        next += every / 2;
    }
}
