//! The run's send loop: takes the charges the materializer claimed as it inserted them, claims
//! the others a batch at a time, keeps up to `max_in_flight` requests at the gateway, and —
//! however the loop ends (nothing left, shutdown, a failed claim, a send task that died) — gives
//! back what it claimed and did not send, waits for the sends that are out and for their
//! answers to be recorded.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc};
use tokio::task::{JoinError, JoinSet};

use super::prepare::{Prepared, Ready};
use super::recorder::Recorder;
use super::send::SendResult;
use super::{Billing, RunSummary};
use crate::store::claims::QueueCursor;

/// While sends are finishing, the queue is passed over again for newly claimable charges at
/// most this often once a pass found none.
const REPASS_AFTER: Duration = Duration::from_millis(25);

/// A batch the materializer committed: the new charges it claimed as it inserted them, ready to
/// go, and whether it left any new charge to the claim.
pub(super) struct Fresh {
    pub prepared: Prepared,
    pub left_to_claim: bool,
}

/// Where the run stands with the queue of claimable charges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Queue {
    /// Something may be claimable: claimed from whenever the ready queue runs low.
    Open,
    /// The pass at `since` found nothing claimable. A finishing send may unblock the next cycle
    /// of its subscription, or its account's other charges, so the queue is opened again — at
    /// most every `REPASS_AFTER` while sends are finishing (a pass reads the whole queue), and
    /// always once nothing is in flight, a materialized batch left charges to the claim, or
    /// materializing is over.
    Drained { since: Instant },
}

impl Queue {
    /// The queue after a send finished, at `now`.
    fn after_send(self, nothing_in_flight: bool, now: Instant) -> Queue {
        match self {
            Queue::Drained { since }
                if nothing_in_flight || now.duration_since(since) >= REPASS_AFTER =>
            {
                Queue::Open
            }
            other => other,
        }
    }
}

/// What the loop does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Claim a batch (the ready queue is low and the queue may hold more).
    Claim,
    /// Dispatch what is ready (nothing is in flight).
    Dispatch,
    /// Wait for a send to finish or for more charges to be materialized.
    Wait,
    /// Nothing is in flight, nothing more can be claimed, and materializing is over.
    Done,
}

/// The loop's state, as far as deciding the next step goes.
#[derive(Debug, Clone, Copy)]
struct View {
    ready: usize,
    low_water: usize,
    drained: bool,
    in_flight: usize,
    materializing: bool,
}

fn next(v: View) -> Next {
    if v.ready < v.low_water && !v.drained {
        Next::Claim
    } else if v.in_flight == 0 && (v.ready > 0 || !v.drained) {
        Next::Dispatch
    } else if v.in_flight == 0 && !v.materializing {
        Next::Done
    } else {
        Next::Wait
    }
}

pub(super) struct Dispatcher<'a> {
    billing: &'a Arc<Billing>,
    summary: &'a mut RunSummary,
    recorder: Recorder,
    /// Requests at the gateway: `max_in_flight`, held only while a request is out.
    gateway: Arc<Semaphore>,
    /// Charges past the ready queue — sending, or answered and waiting for the recorder —
    /// which bounds memory while the recorder writes a batch.
    outstanding: Arc<Semaphore>,
    /// Claimed, written down, not yet dispatched.
    ready: VecDeque<Ready>,
    in_flight: JoinSet<SendResult>,
    cursor: QueueCursor,
    queue: Queue,
    /// The materializer's batches; taken while the ready queue is low, so that the materializer
    /// waits for sending rather than claim a backlog.
    materialized: mpsc::Receiver<Fresh>,
    materializing: bool,
    /// Topped up once fewer than a slot-full wait, by a whole claim batch: claims and their
    /// writes are per batch, so larger batches are cheaper per charge.
    low_water: usize,
}

impl<'a> Dispatcher<'a> {
    pub(super) fn new(
        billing: &'a Arc<Billing>,
        summary: &'a mut RunSummary,
        recorder: Recorder,
        materialized: mpsc::Receiver<Fresh>,
    ) -> Self {
        let max_in_flight = billing.settings.max_in_flight;
        let batch = billing.settings.claim_batch as usize;
        Dispatcher {
            billing,
            summary,
            recorder,
            gateway: Arc::new(Semaphore::new(max_in_flight)),
            outstanding: Arc::new(Semaphore::new(max_in_flight + batch)),
            ready: VecDeque::new(),
            in_flight: JoinSet::new(),
            cursor: QueueCursor::default(),
            queue: Queue::Open,
            materialized,
            materializing: true,
            low_water: max_in_flight.max(1),
        }
    }

    /// Claims and sends until nothing sendable is left and materializing is done, or shutdown.
    /// Sends first: while the next batch is claimed and written down, the charges already
    /// dispatched are at the gateway or being recorded. An error ends the loop; `finish`
    /// cleans up after it as after any other end.
    pub(super) async fn run(&mut self) -> anyhow::Result<()> {
        loop {
            // On shutdown nothing more is dispatched: what is ready is given back by `finish`.
            if self.billing.shutdown.is_cancelled() {
                return Ok(());
            }
            self.take_materialized();
            self.dispatch_ready();
            match next(self.view()) {
                Next::Claim => self.claim().await?,
                Next::Dispatch => {}
                Next::Wait => self.wait().await?,
                Next::Done => return Ok(()),
            }
        }
    }

    fn view(&self) -> View {
        View {
            ready: self.ready.len(),
            low_water: self.low_water,
            drained: matches!(self.queue, Queue::Drained { .. }),
            in_flight: self.in_flight.len(),
            materializing: self.materializing,
        }
    }

    /// Starts a send for each ready charge while the outstanding bound allows.
    fn dispatch_ready(&mut self) {
        while let Some(next) = self.ready.pop_front() {
            let Ok(permit) = Arc::clone(&self.outstanding).try_acquire_owned() else {
                self.ready.push_front(next);
                return;
            };
            let this = Arc::clone(self.billing);
            let recorder = self.recorder.clone();
            let gateway = Arc::clone(&self.gateway);
            self.in_flight.spawn(async move {
                let result = this.send_one(next, recorder, gateway).await;
                drop(permit);
                result
            });
        }
    }

    /// Takes the materializer's committed batches while the ready queue is low.
    fn take_materialized(&mut self) {
        while self.materializing && self.ready.len() < self.low_water {
            match self.materialized.try_recv() {
                Ok(fresh) => self.absorb(Some(fresh)),
                Err(mpsc::error::TryRecvError::Empty) => return,
                Err(mpsc::error::TryRecvError::Disconnected) => self.absorb(None),
            }
        }
    }

    /// Queues a materialized batch's claimed charges; the queue is passed over again when the
    /// batch left charges to the claim, or materializing is over (`None`).
    fn absorb(&mut self, fresh: Option<Fresh>) {
        match fresh {
            Some(fresh) => {
                self.summary.errors += fresh.prepared.failed;
                self.ready.extend(fresh.prepared.ready);
                if fresh.left_to_claim {
                    self.queue = Queue::Open;
                }
            }
            None => {
                self.materializing = false;
                self.queue = Queue::Open;
            }
        }
    }

    /// One claim, written down and queued; the queue is drained when it found nothing.
    async fn claim(&mut self) -> anyhow::Result<()> {
        let want = (self.billing.settings.claim_batch as usize).max(1) as u32;
        let (claimed, prepared) = self.billing.claim_ready(&mut self.cursor, want).await?;
        self.queue = if claimed == 0 {
            Queue::Drained {
                since: Instant::now(),
            }
        } else {
            Queue::Open
        };
        self.summary.errors += prepared.failed;
        self.ready.extend(prepared.ready);
        Ok(())
    }

    /// Waits for a send to finish (then takes every other that has), or — while the ready
    /// queue is low — for the materializer's next batch.
    async fn wait(&mut self) -> anyhow::Result<()> {
        let hungry = self.materializing && self.ready.len() < self.low_water;
        tokio::select! {
            done = self.in_flight.join_next(), if !self.in_flight.is_empty() => {
                if let Some(done) = done {
                    self.finished(done)?;
                }
            }
            fresh = self.materialized.recv(), if hungry => {
                self.absorb(fresh);
                return Ok(());
            }
        }
        while let Some(done) = self.in_flight.try_join_next() {
            self.finished(done)?;
        }
        self.queue = self
            .queue
            .after_send(self.in_flight.is_empty(), Instant::now());
        Ok(())
    }

    /// Counts a finished send. A send task that died (a panic) fails the run, as an error
    /// would: its charge is left to its lease, since it may have reached the gateway.
    fn finished(&mut self, done: Result<SendResult, JoinError>) -> anyhow::Result<()> {
        self.summary.add(done?);
        Ok(())
    }

    /// After the loop, however it ended: charges written down but not sent are given back (so
    /// another daemon sends them at once, same key, same request), the sends that are out
    /// finish and are counted, and the recorder is let go. The first failed send task, if any,
    /// is the result.
    pub(super) async fn finish(mut self) -> anyhow::Result<()> {
        // The materializer's batches not taken are given back too, the one it may be making
        // among them (`recv` waits for it); once the channel is closed, it claims no more.
        self.materialized.close();
        while let Some(fresh) = self.materialized.recv().await {
            self.ready.extend(fresh.prepared.ready);
        }
        self.billing.give_back(self.ready.make_contiguous()).await;
        let mut failed = Ok(());
        while let Some(done) = self.in_flight.join_next().await {
            if let Err(e) = self.finished(done) {
                tracing::error!(error = %e, "a send task failed; its charge is retried when its lease expires");
                failed = failed.and(Err(e));
            }
        }
        failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> View {
        View {
            ready: 0,
            low_water: 4,
            drained: false,
            in_flight: 0,
            materializing: true,
        }
    }

    #[test]
    fn a_low_ready_queue_is_topped_up_while_the_queue_is_open() {
        assert_eq!(next(view()), Next::Claim);
        assert_eq!(
            next(View {
                ready: 3,
                in_flight: 8,
                ..view()
            }),
            Next::Claim
        );
        // Full enough: wait for sends rather than claim.
        assert_eq!(
            next(View {
                ready: 4,
                in_flight: 8,
                ..view()
            }),
            Next::Wait
        );
    }

    #[test]
    fn ready_work_with_nothing_in_flight_is_dispatched() {
        let v = View {
            ready: 5,
            drained: true,
            ..view()
        };
        assert_eq!(next(v), Next::Dispatch);
    }

    #[test]
    fn a_drained_queue_waits_for_sends_or_for_materializing() {
        let drained = View {
            drained: true,
            ..view()
        };
        assert_eq!(
            next(View {
                in_flight: 1,
                ..drained
            }),
            Next::Wait
        );
        assert_eq!(next(drained), Next::Wait, "more may be materialized");
        let over = View {
            materializing: false,
            ..drained
        };
        assert_eq!(next(over), Next::Done);
        assert_eq!(
            next(View {
                in_flight: 1,
                ..over
            }),
            Next::Wait
        );
    }

    #[test]
    fn a_drained_queue_opens_again_after_a_pause_or_once_nothing_is_in_flight() {
        let t0 = Instant::now();
        let drained = Queue::Drained { since: t0 };
        assert_eq!(drained.after_send(false, t0), drained);
        assert_eq!(drained.after_send(true, t0), Queue::Open);
        assert_eq!(drained.after_send(false, t0 + REPASS_AFTER), Queue::Open);
        assert_eq!(Queue::Open.after_send(false, t0), Queue::Open);
    }
}
