//! A lock step run inside one backend transaction, the same for every
//! backend: read the rows the step names, take its effects
//! ([`crate::rules::locks::steps`]), make each write and record the event it
//! leads to, settle. A backend supplies the reads and the writes in its own
//! SQL ([`LockTx`]) and draws the transaction around [`run`]: opening it,
//! committing it, and announcing what was freed once it has committed.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use ccmulti_model::Operation;
use ccmulti_model::snapshot::LockRow;

use super::{Result, StoreError};
use crate::clock::Millis;
use crate::rules::audit::NewEvent;
use crate::rules::handover::NewVersion;
use crate::rules::locks::steps::{Applied, Freed, LockRows, LockStep, LockWrite};

/// How many expired locks one sweep transaction deletes at most, on every
/// backend: a backlog (a coordinator restarted after a long stop) is swept
/// in several short transactions, so no one waits long behind it.
pub(crate) const SWEEP_BATCH: usize = 500;

/// One backend's lock rows inside one of its transactions.
pub(crate) trait LockTx {
    /// The rows `rows` names as they are now. A backend that serialises per
    /// session takes the sessions' locks here, before the rows it returns
    /// are read.
    async fn read(&mut self, rows: LockRows<'_>) -> Result<Vec<LockRow>>;
    /// Deletes the lock if it is still expired at `now`; whether this delete removed it.
    async fn delete_expired(&mut self, lock_id: &str, now: Millis) -> Result<bool>;
    /// Deletes the lock; whether this delete removed it.
    async fn delete(&mut self, lock_id: &str) -> Result<bool>;
    /// Inserts a lock; the id and the fencing token it was given.
    async fn insert(&mut self, lock: NewLock<'_>, now: Millis) -> Result<(String, i64)>;
    /// Sets a lock's deadline, when it gives way, and its operation; its fencing token.
    async fn set_lease(
        &mut self,
        lock_id: &str,
        operation: Operation,
        expires_at_ms: Millis,
        yields_at_ms: Option<Millis>,
    ) -> Result<i64>;
    /// Records where a path's latest version is, stamped `now`.
    async fn insert_version(
        &mut self,
        session: &str,
        version: &NewVersion,
        now: Millis,
    ) -> Result<()>;
    /// Writes one row of the audit trail, stamped `now`.
    async fn record(&mut self, now: Millis, event: &NewEvent<'_>) -> Result<()>;
}

/// A lock to insert.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewLock<'a> {
    pub session: &'a str,
    pub agent: &'a str,
    pub path: &'a str,
    pub operation: Operation,
    pub expires_at_ms: Millis,
    pub yields_at_ms: Option<Millis>,
}

/// What a step did in its transaction.
#[derive(Debug)]
pub(crate) struct Ran<O> {
    pub outcome: O,
    /// The paths it freed, to announce once the transaction has committed.
    pub freed: Freed,
    /// Whether it wrote anything at all.
    pub wrote: bool,
}

/// Runs `step` at `now` in the transaction `tx`.
pub(crate) async fn run<S: LockStep>(
    tx: &mut impl LockTx,
    step: &S,
    now: Millis,
) -> Result<Ran<S::Outcome>> {
    let held = tx.read(step.rows(now)).await?;
    let effects = step.effects(now, &held);
    let mut applied = Vec::with_capacity(effects.writes.len());
    for write in &effects.writes {
        let done = match write {
            LockWrite::Expire(lock) => {
                Applied::Deleted(tx.delete_expired(&lock.lock_id, now).await?)
            }
            LockWrite::Remove { lock, .. } => Applied::Deleted(tx.delete(&lock.lock_id).await?),
            LockWrite::Grant {
                session,
                agent,
                path,
                operation,
                expires_at_ms,
                yields_at_ms,
            } => {
                let lock = NewLock {
                    session,
                    agent,
                    path,
                    operation: *operation,
                    expires_at_ms: *expires_at_ms,
                    yields_at_ms: *yields_at_ms,
                };
                let (lock_id, fencing_token) = tx.insert(lock, now).await?;
                Applied::Inserted {
                    lock_id,
                    fencing_token,
                }
            }
            LockWrite::Renew {
                lock,
                operation,
                expires_at_ms,
                yields_at_ms,
            } => Applied::Renewed {
                fencing_token: tx
                    .set_lease(&lock.lock_id, *operation, *expires_at_ms, *yields_at_ms)
                    .await?,
            },
            LockWrite::Shorten {
                lock,
                expires_at_ms,
            } => Applied::Renewed {
                fencing_token: tx
                    .set_lease(
                        &lock.lock_id,
                        lock.operation,
                        *expires_at_ms,
                        lock.yields_at_ms.map(|at| at.min(*expires_at_ms)),
                    )
                    .await?,
            },
            LockWrite::Record(_) => Applied::Recorded,
            LockWrite::Version { session, version } => {
                tx.insert_version(session, version, now).await?;
                Applied::Recorded
            }
        };
        if let Some(event) = write.event(&done) {
            tx.record(now, &event).await?;
        }
        applied.push(done);
    }
    let wrote = !effects.writes.is_empty();
    let (outcome, freed) = step.settle(effects, applied);
    Ok(Ran {
        outcome,
        freed,
        wrote,
    })
}

/// Runs a future that never waits to its end, on the calling thread: a
/// synchronous backend's [`LockTx`] (SQLite's) answers every call at once,
/// so [`run`] over it is ready at its first poll. A future that does wait is
/// an error, never a blocked thread.
pub(crate) fn at_once<T>(future: impl Future<Output = Result<T>>) -> Result<T> {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(done) => done,
        Poll::Pending => Err(StoreError::Join(
            "a synchronous store call waited for something".into(),
        )),
    }
}
