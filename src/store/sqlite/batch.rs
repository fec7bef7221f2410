//! Group commit on the write thread. When the thread takes a write and more
//! are queued behind it, it runs up to [`MAX_BATCH`] of them in one
//! `BEGIN IMMEDIATE` transaction, each inside its own savepoint, and commits
//! once: under load a claim and a release pay for the commit's WAL frames
//! (the counters, the event table's and the indexes' pages, written whole at
//! every commit) once per batch instead of once each, which cut a claim's CPU
//! 1.4 to 1.8 times (BENCHMARKS.md, "SQLite write path"). A batch of one is
//! the same code.
//!
//! What each caller sees is what it saw when every write committed alone:
//! - a job that fails is rolled back to its savepoint and gets its own error;
//!   the batch goes on (a refused claim is not a failure: it keeps its
//!   recorded conflict events);
//! - every caller is answered, and every change notice ([`Change::Freed`])
//!   published in order, only after the commit succeeded, so no one acts on
//!   a write that could still vanish; readers on other connections see
//!   nothing before the commit (WAL);
//! - if the commit fails (a full disk), or SQLite rolls the whole transaction
//!   back under a job (it may, on `SQLITE_FULL` or `SQLITE_IOERR`), every
//!   job of the batch gets the error and nothing of it is written; jobs not
//!   yet run then run in a new transaction.
//!
//! Calls that commit several transactions on purpose (the sweep of a backlog)
//! are queued as [`WriteJob::Alone`] and run outside any batch.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use super::{Result, SqliteStore, StoreError};
use crate::store::Change;

/// The most jobs one transaction takes: enough to absorb every connection's
/// pending write under load, few enough that a batch is short.
pub(super) const MAX_BATCH: usize = 64;

/// A write call queued for the write thread.
pub(super) enum WriteJob {
    /// A plain write, in a batch's transaction; the store is the job's own.
    Batched(SqliteStore, BatchedJob),
    /// A call that runs alone and sends its own answer.
    Alone(Box<dyn FnOnce() + Send>),
}

pub(super) type BatchedJob = Box<dyn Job>;

/// A batched write call: run, or refused unrun with the batch's error.
pub(super) trait Job: Send {
    fn run(self: Box<Self>, store: &SqliteStore) -> Ran;
    fn refuse(self: Box<Self>, e: StoreError);
}

/// A batched job that has run, its answer held until the batch's end.
pub(super) struct Ran {
    /// The job's error, told again to the jobs before it if it lost the
    /// whole transaction.
    failure: Option<StoreError>,
    /// Answers the caller: with its own result, or with the batch's error.
    answer: Box<dyn FnOnce(Option<StoreError>) + Send>,
}

struct Call<T, F> {
    f: F,
    answer: tokio::sync::oneshot::Sender<Result<T>>,
}

impl<T, F> Job for Call<T, F>
where
    T: Send + 'static,
    F: FnOnce(&SqliteStore) -> Result<T> + Send + 'static,
{
    fn run(self: Box<Self>, store: &SqliteStore) -> Ran {
        let Call { f, answer } = *self;
        let result = f(store);
        Ran {
            failure: result.as_ref().err().map(told_again),
            answer: Box::new(move |lost| {
                // The caller may have gone (a cancelled request); the write stands.
                let _ = answer.send(match lost {
                    Some(e) => Err(e),
                    None => result,
                });
            }),
        }
    }

    fn refuse(self: Box<Self>, e: StoreError) {
        let _ = self.answer.send(Err(e));
    }
}

/// Wraps a write call as a batched job answering on `answer`.
pub(super) fn batched<T, F>(
    store: SqliteStore,
    f: F,
    answer: tokio::sync::oneshot::Sender<Result<T>>,
) -> WriteJob
where
    T: Send + 'static,
    F: FnOnce(&SqliteStore) -> Result<T> + Send + 'static,
{
    WriteJob::Batched(store, Box::new(Call { f, answer }))
}

/// How many batches the write thread committed, for tests and `/metrics`.
#[derive(Debug, Default)]
pub(super) struct BatchCounters {
    batches: AtomicU64,
    jobs: AtomicU64,
    shared: AtomicU64,
    largest: AtomicU64,
}

/// A reading of [`BatchCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteBatches {
    /// Batch transactions begun.
    pub batches: u64,
    /// Jobs run in them.
    pub jobs: u64,
    /// Batches of more than one job.
    pub shared: u64,
    /// The most jobs one batch held.
    pub largest: u64,
}

/// One error for several callers: `StoreError` is not `Clone`, and each
/// caller keeps its kind (a full disk stays a full disk).
fn told_again(e: &StoreError) -> StoreError {
    match e {
        StoreError::DiskFull(cause) => StoreError::DiskFull(Box::new(Told(cause.to_string()))),
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        StoreError::Poisoned => StoreError::Poisoned,
        other => StoreError::Database(Box::new(Told(other.to_string()))),
    }
}

/// The text of an error told to every job of a batch.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Told(String);

/// The write thread's loop; ends when the store (the queue's sender) is gone.
pub(super) fn run_write_thread(queue: mpsc::Receiver<WriteJob>) {
    let mut next: Option<WriteJob> = None;
    loop {
        let job = match next.take() {
            Some(job) => job,
            None => match queue.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        match job {
            WriteJob::Alone(run) => {
                // A panicking call drops its answer (its caller gets an
                // error, as a panicking blocking task's did); the thread goes on.
                let _ = catch_unwind(AssertUnwindSafe(run));
            }
            WriteJob::Batched(store, first) => {
                let mut jobs = vec![first];
                // Only what is already queued: waiting for more would add
                // latency to a lone write.
                while jobs.len() < MAX_BATCH {
                    match queue.try_recv() {
                        Ok(WriteJob::Batched(_, job)) => jobs.push(job),
                        Ok(alone) => {
                            next = Some(alone);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                while !jobs.is_empty() {
                    jobs = store.run_batch(jobs);
                }
            }
        }
    }
}

impl SqliteStore {
    /// Runs `jobs` in one transaction and answers them; returns the jobs not
    /// run because SQLite rolled the transaction back under an earlier one.
    fn run_batch(&self, jobs: Vec<BatchedJob>) -> Vec<BatchedJob> {
        // Keeps every other thread's writes out of the open transaction.
        let _gate = match self.inner.batch_gate.lock() {
            Ok(gate) => gate,
            Err(_) => {
                fail_unrun(jobs, &StoreError::Poisoned);
                return Vec::new();
            }
        };
        if let Err(e) = self.execute("BEGIN IMMEDIATE") {
            fail_unrun(jobs, &e);
            return Vec::new();
        }
        self.inner.batching.store(true, Ordering::Release);
        let counters = &self.inner.batch_counters;
        counters.batches.fetch_add(1, Ordering::Relaxed);
        let mut ran: Vec<Ran> = Vec::with_capacity(jobs.len());
        let mut jobs = jobs.into_iter();
        let mut lost: Option<StoreError> = None;
        let mut size: u64 = 0;
        for job in jobs.by_ref() {
            if let Err(e) = self.execute("SAVEPOINT job") {
                fail_unrun(vec![job], &e);
                lost = Some(e);
                break;
            }
            let notices = self.pending_len();
            let outcome = catch_unwind(AssertUnwindSafe(|| job.run(self)));
            size += 1;
            let (done, failure) = match outcome {
                Ok(done) => {
                    let failure = done.failure.as_ref().map(told_again);
                    (Some(done), failure)
                }
                Err(_) => (None, Some(StoreError::Join("a write call panicked".into()))),
            };
            let Some(failure) = failure else {
                ran.extend(done);
                if let Err(e) = self.execute("RELEASE job") {
                    lost = Some(e);
                    break;
                }
                continue;
            };
            // The failed job's notices go with its writes.
            self.truncate_pending(notices);
            if self.transaction_lost() {
                // SQLite rolled back the whole transaction (a full disk): the
                // failed job keeps its own error, the ones before it get it.
                if let Some(failed) = done {
                    (failed.answer)(None);
                }
                lost = Some(failure);
                break;
            }
            // Answered with its own error at the batch's end, in order.
            ran.extend(done);
            if let Err(e) = self
                .execute("ROLLBACK TO job")
                .and_then(|()| self.execute("RELEASE job"))
            {
                lost = Some(e);
                break;
            }
        }
        counters.jobs.fetch_add(size, Ordering::Relaxed);
        if size > 1 {
            counters.shared.fetch_add(1, Ordering::Relaxed);
        }
        counters.largest.fetch_max(size, Ordering::Relaxed);
        let committed = match lost {
            Some(e) => Err(e),
            None => self.execute("COMMIT"),
        };
        self.inner.batching.store(false, Ordering::Release);
        let notices = self.take_pending();
        match committed {
            Ok(()) => {
                // Out of the batch now: published at once.
                for change in notices {
                    self.publish(change);
                }
                for done in ran {
                    (done.answer)(None);
                }
            }
            Err(e) => {
                if !self.transaction_lost() {
                    // A failed COMMIT may leave the transaction open; nothing
                    // of it may stay. If this fails too, the next BEGIN fails
                    // and says so.
                    let _ = self.execute("ROLLBACK");
                }
                for done in ran {
                    (done.answer)(Some(told_again(&e)));
                }
            }
        }
        jobs.collect()
    }

    /// One statement of the batch's own (BEGIN, SAVEPOINT, RELEASE, COMMIT),
    /// prepared once: they run several times per batch.
    fn execute(&self, sql: &str) -> Result<()> {
        self.writer()?.prepare_cached(sql)?.execute([])?;
        Ok(())
    }

    /// Whether the write connection is out of its transaction: SQLite rolled
    /// it back (or it never began).
    fn transaction_lost(&self) -> bool {
        self.writer().map_or(true, |c| c.is_autocommit())
    }

    fn pending_len(&self) -> usize {
        self.inner.pending_changes.lock().map_or(0, |p| p.len())
    }

    fn truncate_pending(&self, len: usize) {
        if let Ok(mut pending) = self.inner.pending_changes.lock() {
            pending.truncate(len);
        }
    }

    fn take_pending(&self) -> Vec<Change> {
        self.inner
            .pending_changes
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }

    /// The write thread's batches so far.
    pub fn write_batches(&self) -> WriteBatches {
        let c = &self.inner.batch_counters;
        WriteBatches {
            batches: c.batches.load(Ordering::Relaxed),
            jobs: c.jobs.load(Ordering::Relaxed),
            shared: c.shared.load(Ordering::Relaxed),
            largest: c.largest.load(Ordering::Relaxed),
        }
    }
}

/// Answers jobs that never ran with `e`.
fn fail_unrun(jobs: Vec<BatchedJob>, e: &StoreError) {
    for job in jobs {
        job.refuse(told_again(e));
    }
}

#[cfg(test)]
mod tests;
