//! A claim that waits for its paths. It joins the wait queue, tries whenever
//! it may (no earlier waiter for the same paths) and something may have
//! freed them, and at its deadline gives the answer a claim that does not
//! wait would give.
//!
//! What wakes it: this store's releases, expiries (the sweeper and claims that
//! meet expired rows), forced releases (the CLI and dashboard through a
//! `Store` in this process), and its own timer at the end of the lease that
//! blocks it. A write by another process (`ccmulti release` beside a running
//! coordinator) is seen by [`Store::wake_waiters_if_changed_elsewhere`], which
//! the sweeper calls every second: such a release reaches a waiter within about a second.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::ClaimOutcome;
use crate::rules::locks::Operation;
use crate::rules::targets::LockTarget;
use crate::rules::waiting::Waiter;
use crate::store::waiters::WaiterRecord;
use crate::store::{Result, Store};

/// Retry this long after the blocking lease's end, so that it has run out on
/// the store's wall clock as well as on the runtime's monotonic one.
const AFTER_LEASE_END: Duration = Duration::from_millis(5);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRequest {
    pub session: String,
    pub agent: String,
    pub operation: Operation,
    /// Normalised and deduplicated.
    pub paths: BTreeSet<String>,
    pub duration_minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitedClaim {
    pub outcome: ClaimOutcome,
    pub waited: Duration,
}

impl Store {
    /// A claim that does not wait, as [`Store::claim`].
    pub fn claim_now(&self, request: &ClaimRequest) -> Result<ClaimOutcome> {
        self.attempt(request, true)
    }

    fn attempt(&self, r: &ClaimRequest, record_conflicts: bool) -> Result<ClaimOutcome> {
        self.claim_recording(
            &r.session,
            &r.agent,
            r.operation,
            &r.paths,
            r.duration_minutes,
            record_conflicts,
        )
    }

    /// Claims every path or none, waiting up to `wait` for them to be free,
    /// served in arrival order among claims that want the same paths.
    /// Dropping the future (a client that went away) leaves the queue.
    pub async fn claim_waiting(
        &self,
        request: ClaimRequest,
        wait: Duration,
    ) -> Result<WaitedClaim> {
        let started = Instant::now();
        let deadline = started + wait;
        let ticket = self.inner.waiters.join(Waiter {
            session: request.session.clone(),
            agent: request.agent.clone(),
            operation: request.operation,
            targets: request.paths.iter().map(|p| LockTarget::parse(p)).collect(),
        });
        // Its row in lock_waiters, written only once it really waits.
        let mut record: Option<WaiterRecord> = None;
        let mut recorded = false;
        let deadline_ms = self
            .now_ms()
            .saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
        while Instant::now() < deadline {
            let mut wake_at = deadline;
            if ticket.may_try() {
                let attempt = request.clone();
                let outcome = self.blocking(move |s| s.attempt(&attempt, false)).await?;
                match outcome {
                    ClaimOutcome::Granted(_) => {
                        if let Some(record) = record {
                            record.finish().await;
                        }
                        return Ok(WaitedClaim {
                            outcome,
                            waited: started.elapsed(),
                        });
                    }
                    ClaimOutcome::Conflicted(conflicts) => {
                        if let Some(end) = conflicts.iter().map(|c| c.expires_at_ms).min() {
                            let left = u64::try_from(end - self.now_ms()).unwrap_or(0);
                            wake_at = wake_at.min(
                                Instant::now() + Duration::from_millis(left) + AFTER_LEASE_END,
                            );
                        }
                    }
                }
            }
            // About to wait: written down for other processes to see.
            // Showing it is not worth failing the claim over: one try.
            if !recorded {
                recorded = true;
                let waiting = request.clone();
                match self
                    .blocking(move |s| s.record_waiter(&waiting, deadline_ms))
                    .await
                {
                    Ok(r) => record = Some(r),
                    Err(e) => tracing::warn!(error = %e, "could not record a waiting claim"),
                }
            }
            tokio::select! {
                () = ticket.woken() => {}
                () = tokio::time::sleep_until(wake_at.into()) => {}
            }
        }
        // Out of the queue first: the last word is an ordinary claim, which
        // records its conflicts, and which takes the paths if they are free now.
        drop(ticket);
        if let Some(record) = record {
            record.finish().await;
        }
        let outcome = self.blocking(move |s| s.claim_now(&request)).await?;
        Ok(WaitedClaim {
            outcome,
            waited: started.elapsed(),
        })
    }

    /// How many claims are waiting for their paths.
    pub fn waiting_claims(&self) -> usize {
        self.inner.waiters.len()
    }

    /// Wakes the waiting claims if another process has committed to the
    /// database since the last look. `PRAGMA data_version` on the write
    /// connection changes only when another connection commits, and this
    /// process writes through that one connection alone. Does nothing while
    /// no claim waits.
    pub fn wake_waiters_if_changed_elsewhere(&self) -> Result<()> {
        if self.inner.waiters.len() == 0 {
            return Ok(());
        }
        let version: i64 = self
            .writer()?
            .pragma_query_value(None, "data_version", |r| r.get(0))?;
        if self.inner.data_version.swap(version, Ordering::SeqCst) != version {
            self.inner.waiters.wake_all();
        }
        Ok(())
    }
}
