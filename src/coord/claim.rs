//! A claim that waits for its paths. It joins the wait queue, tries whenever
//! it may (no earlier waiter for the same paths) and something may have
//! freed them, and at its deadline gives the answer a claim that does not
//! wait would give.
//!
//! What wakes it: the store's change feed (this process's releases, expiries
//! and forced releases, once committed; another process's writes: on SQLite
//! the sweeper looks for them every second while claims wait, so such a
//! release reaches a waiter within about a second, and PostgreSQL pushes
//! other coordinators' frees at once), and its own timer at the end of the
//! lease that blocks it, or when that lock gives way to other agents' claims.

use std::time::{Duration, Instant};

use super::Coordinator;
use crate::rules::locks::steps::{ClaimOutcome, ClaimRequest};
use crate::rules::wait_cycle::JoinedWaits;
use crate::rules::waiting::Waiter;
use crate::store::{Result, SharedStore};
use ccmulti_model::tools::WaitCycle;

/// Retry this long after the blocking lease's end, so that it has run out on
/// the store's wall clock as well as on the runtime's monotonic one.
const AFTER_LEASE_END: Duration = Duration::from_millis(5);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitedClaim {
    pub outcome: ClaimOutcome,
    pub waited: Duration,
    /// Why it stopped waiting at once: its wait would have closed this cycle.
    pub cycle: Option<WaitCycle>,
    /// Why it stopped waiting early: another agent needs its changes to
    /// these files, which are in no commit (worktree mode).
    pub called_away: Vec<String>,
}

/// A waiting claim's row in the store, for other processes' dashboards; it
/// goes when the claim is granted, times out, or its future is dropped
/// because the client went away.
struct ShownWaiting {
    store: SharedStore,
    id: Option<i64>,
}

impl ShownWaiting {
    async fn finish(mut self) {
        if let Some(id) = self.id.take() {
            forget(&self.store, id).await;
        }
    }
}

/// Best effort: a row left behind is skipped after its deadline and cleared
/// at the next start.
async fn forget(store: &SharedStore, id: i64) {
    if let Err(e) = store.forget_waiter(id).await {
        tracing::warn!(error = %e, id, "could not delete a waiting claim's row");
    }
}

impl Drop for ShownWaiting {
    /// A dropped future cannot await: the delete is handed to the runtime.
    fn drop(&mut self) {
        let Some(id) = self.id.take() else { return };
        let store = self.store.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { forget(&store, id).await });
        }
    }
}

impl Coordinator {
    /// Claims every path or none, waiting up to `wait` for them to be free,
    /// served in arrival order among claims that want the same paths; a
    /// claim whose wait would close a cycle of lock waits is answered at
    /// once, with the cycle. Dropping the future (a client that went away)
    /// leaves the queue. The caller moves its request's time
    /// (`crate::deadline::extended_by`) by `wait`, for the wait and for what
    /// it does with the answer.
    pub async fn claim_waiting(
        &self,
        request: ClaimRequest,
        wait: Duration,
    ) -> Result<WaitedClaim> {
        let started = Instant::now();
        let deadline = started + wait;
        let ticket = self.waiters.join(Waiter::of(&request), &self.limits)?;
        // Its row, written only once it really waits.
        let mut shown: Option<ShownWaiting> = None;
        let mut cycle = None;
        let deadline_ms = self
            .now_ms()
            .saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
        while Instant::now() < deadline {
            let mut wake_at = deadline;
            if ticket.may_try() {
                // A waiting claim's retries are not each a new conflict.
                match self.store.claim(&request, false).await? {
                    outcome @ ClaimOutcome::Granted(_) => {
                        if let Some(shown) = shown {
                            shown.finish().await;
                        }
                        return Ok(WaitedClaim {
                            outcome,
                            waited: started.elapsed(),
                            cycle: None,
                            called_away: Vec::new(),
                        });
                    }
                    ClaimOutcome::Conflicted(blockers) => {
                        if let Some(end) = blockers.iter().map(|b| b.frees_at_ms()).min() {
                            let left = u64::try_from(end - self.now_ms()).unwrap_or(0);
                            wake_at = wake_at.min(
                                Instant::now() + Duration::from_millis(left) + AFTER_LEASE_END,
                            );
                        }
                    }
                }
            }
            if shown.is_none() {
                match self.show_waiting(&request, deadline_ms).await {
                    Some(JoinedWaits::Waiting(id)) => shown = Some(self.shown(Some(id))),
                    Some(JoinedWaits::WouldCycle(found)) => {
                        cycle = Some(found);
                        break;
                    }
                    None => shown = Some(self.shown(None)),
                }
            }
            tokio::select! {
                () = ticket.woken() => {}
                () = tokio::time::sleep_until(wake_at.into()) => {}
            }
            // Waiting, it cannot commit what another agent needs of it: a
            // wait in a cycle that is only partly of locks.
            if !ticket.called_away().is_empty() {
                break;
            }
        }
        let called_away = ticket.called_away();
        // Out of the queue first: the last word is an ordinary claim, which
        // records its conflicts, and which takes the paths if they are free now.
        drop(ticket);
        if let Some(shown) = shown {
            shown.finish().await;
        }
        let outcome = self.store.claim(&request, true).await?;
        // Granted after all (the cycle broke meanwhile): nothing to tell.
        let conflicted = matches!(outcome, ClaimOutcome::Conflicted(_));
        Ok(WaitedClaim {
            outcome,
            waited: started.elapsed(),
            cycle: cycle.filter(|_| conflicted),
            called_away: if conflicted { called_away } else { Vec::new() },
        })
    }

    /// About to wait: written down for other processes and later waiters to
    /// see, unless the wait would close a cycle. Showing it is not worth
    /// failing the claim over: one try, and on failure it waits unshown.
    async fn show_waiting(&self, request: &ClaimRequest, deadline_ms: i64) -> Option<JoinedWaits> {
        match self.store.record_waiter(request, deadline_ms).await {
            Ok(joined) => Some(joined),
            Err(e) => {
                tracing::warn!(error = %e, "could not record a waiting claim");
                None
            }
        }
    }

    fn shown(&self, id: Option<i64>) -> ShownWaiting {
        ShownWaiting {
            store: self.store.clone(),
            id,
        }
    }
}
