//! The seeder: waves of subscriptions over the first 70% of the load phase, each wave's merchant
//! actions (cancel, suspend) scheduled as tasks of their own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::SignedDuration;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::chaos::{self, Ctx};
use crate::log;
use crate::seed::{self, SharedBook};

/// The merchant actions scheduled by the seeder, awaited before the oracle looks.
pub type Actions = Arc<tokio::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>;

/// Waves of subscriptions over the first 70% of the run; each wave's merchant actions are
/// scheduled as tasks.
pub async fn seeder(
    ctx: Arc<Ctx>,
    book: SharedBook,
    actions: Actions,
    waves: usize,
    per_wave: usize,
    seed: u64,
) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let spacing = (ctx.load_end - ctx.start).mul_f64(0.7) / waves as u32;
    for w in 0..waves {
        if !ctx_sleep(&ctx, spacing * w as u32).await {
            break;
        }
        let planned = Instant::now();
        let until_end = SignedDuration::try_from(ctx.load_end - planned)?;
        let first = book.lock().await.specs.len();
        let specs =
            crate::plan::plan_wave(&mut rng, first, per_wave, jiff::Timestamp::now(), until_end);
        let n = seed::seed_wave(&ctx.api, &book, specs).await?;
        let b = book.lock().await;
        for spec in &b.specs[first..first + n] {
            if let (Some((action, at)), Some(sub), Some(account)) =
                (spec.action, spec.subscription, spec.account)
            {
                let after = Duration::try_from(at)
                    .unwrap_or_default()
                    .saturating_sub(planned.elapsed());
                let task = tokio::spawn(chaos::merchant_action(
                    ctx.clone(),
                    action,
                    sub,
                    account,
                    after,
                ));
                actions.lock().await.push(task);
            }
        }
        log(&format!(
            "wave {}/{waves}: {} subscriptions seeded at {:.0}s (took {:.1}s)",
            w + 1,
            n,
            ctx.elapsed(),
            planned.elapsed().as_secs_f64()
        ));
    }
    Ok(())
}

async fn ctx_sleep(ctx: &Ctx, offset: Duration) -> bool {
    let at = ctx.start + offset;
    if at >= ctx.load_end {
        return false;
    }
    tokio::time::sleep_until(at.into()).await;
    true
}
