//! The run's recorder: sends finish one at a time, and each hands its final answer here and
//! waits; the recorder writes whatever has arrived meanwhile in one transaction (group commit,
//! `Store::record_outcomes`). Under load a batch forms while the previous one commits; when
//! the gateway is slow, a batch is a single answer and costs what it did before.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::clock::Clock;
use crate::domain::transition::RetryPolicy;
use crate::gateway::GatewayAnswer;
use crate::store::Store;
use crate::store::claims::ClaimedCharge;
use crate::store::outcomes::Recorded;
use crate::store::recording::Answered;

/// Answers recorded in one transaction at most.
const MAX_BATCH: usize = 512;
/// Recording transactions in progress at once.
const WRITERS: usize = 2;

struct Job {
    charge: ClaimedCharge,
    attempt_id: i64,
    answer: GatewayAnswer,
    reply: oneshot::Sender<Reply>,
}

/// What became of an answer, with the charge and the answer handed back to their sender
/// (moved to the recorder and back rather than copied).
pub(super) struct Reply {
    pub recorded: Result<Recorded, String>,
    pub charge: ClaimedCharge,
    pub answer: GatewayAnswer,
}

#[derive(Clone)]
pub(super) struct Recorder {
    jobs: mpsc::Sender<Job>,
}

impl Recorder {
    /// Starts the recorder task; it ends when every `Recorder` clone is dropped.
    pub(super) fn start(
        store: Store,
        clock: Arc<dyn Clock>,
        worker: Uuid,
        policy: RetryPolicy,
        queue: usize,
    ) -> (Recorder, JoinHandle<()>) {
        let (jobs, inbox) = mpsc::channel::<Job>(queue.max(1));
        let inbox = Arc::new(tokio::sync::Mutex::new(inbox));
        // Two writers: while one batch waits for its commit to reach the disk, the next is
        // already being written (Postgres flushes concurrent commits together).
        let writers: Vec<JoinHandle<()>> = (0..WRITERS)
            .map(|_| {
                let inbox = Arc::clone(&inbox);
                let (store, clock, policy) = (store.clone(), Arc::clone(&clock), policy.clone());
                tokio::spawn(async move {
                    let mut batch = Vec::with_capacity(MAX_BATCH);
                    loop {
                        let received = inbox.lock().await.recv_many(&mut batch, MAX_BATCH).await;
                        if received == 0 {
                            return;
                        }
                        write_batch(&store, clock.as_ref(), worker, &policy, &mut batch).await;
                    }
                })
            })
            .collect();
        let task = tokio::spawn(async move {
            for writer in writers {
                let _ = writer.await;
            }
        });
        (Recorder { jobs }, task)
    }

    /// Records the final answer to a claimed charge; returns once it is committed, with the
    /// charge and the answer.
    pub(super) async fn record(
        &self,
        charge: ClaimedCharge,
        attempt_id: i64,
        answer: GatewayAnswer,
    ) -> anyhow::Result<(Recorded, ClaimedCharge, GatewayAnswer)> {
        let (reply, done) = oneshot::channel();
        let job = Job {
            charge,
            attempt_id,
            answer,
            reply,
        };
        self.jobs
            .send(job)
            .await
            .map_err(|_| anyhow::anyhow!("the run's recorder stopped"))?;
        let r = done
            .await
            .map_err(|_| anyhow::anyhow!("the run's recorder stopped"))?;
        let recorded = r
            .recorded
            .map_err(|e| anyhow::anyhow!("recording the answer failed: {e}"))?;
        Ok((recorded, r.charge, r.answer))
    }
}

/// Records one batch and answers every job in it, emptying `batch`.
async fn write_batch(
    store: &Store,
    clock: &dyn Clock,
    worker: Uuid,
    policy: &RetryPolicy,
    batch: &mut Vec<Job>,
) {
    let answered: Vec<Answered<'_>> = batch
        .iter()
        .map(|j| Answered {
            charge: &j.charge,
            attempt_id: j.attempt_id,
            answer: &j.answer,
        })
        .collect();
    let results = store
        .record_outcomes(worker, &answered, policy, clock.now())
        .await;
    drop(answered);
    crate::metrics::observe_record_batch(batch.len());
    let results: Vec<Result<Recorded, String>> = match results {
        Ok(results) => results.into_iter().map(Ok).collect(),
        Err(e) => vec![Err(e.to_string()); batch.len()],
    };
    for (job, recorded) in batch.drain(..).zip(results) {
        let _ = job.reply.send(Reply {
            recorded,
            charge: job.charge,
            answer: job.answer,
        });
    }
}
