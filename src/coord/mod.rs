//! The coordination service: every coordination step written once, over any
//! [`CoordStore`]. The MCP tools, the CLI, the hooks' server side and the
//! dashboard call it; they parse, call and render, and never reach the store
//! themselves.
//!
//! It owns what is not stored: the queue of claims waiting for their paths
//! ([`wait_queue`]), woken from the store's change feed, and the sweeper's tick.

mod claim;
#[cfg(test)]
mod clock_step_tests;
mod handover;
mod lifecycle;
mod plan;
mod wait_queue;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod waiting_tests;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::broadcast::error::RecvError;

use ccmulti_model::AgentWorkspace;
use ccmulti_model::snapshot::{LockRow, SessionView, Snapshot};

use crate::clock::Millis;
use crate::rules::clock_step::{self, ClockStep};
use crate::rules::limits::Limits;
use crate::rules::locks::ReleaseScope;
use crate::rules::locks::steps::{ClaimOutcome, ClaimRequest, ForceSelector, ReleaseOutcome};
use crate::rules::news::News;
use crate::rules::progress::ProgressUpdate;
use crate::store::{Change, CoordStore, Counts, PlacedBy, Result, SharedStore, Verification};
use ccmulti_model::VirtualUser;

pub use claim::WaitedClaim;
pub use handover::{ByHand, Released};
pub use lifecycle::Forgetting;
use wait_queue::WaitQueue;

/// The sweeper deletes at most this many old events a tick, so that one tick
/// holds the write connection for milliseconds.
const PRUNE_BATCH: u64 = 5_000;

#[derive(Debug, Clone)]
pub struct Coordinator {
    store: SharedStore,
    waiters: Arc<WaitQueue>,
    limits: Limits,
    /// The wall clock and the monotonic clock at the last sweep, to see a
    /// step of the wall clock between two sweeps.
    last_look: Arc<Mutex<Option<(Instant, Millis)>>>,
}

impl Coordinator {
    /// Starts waking waiting claims from the store's change feed; must be
    /// called inside a tokio runtime.
    pub fn new(store: SharedStore) -> Self {
        let waiters = Arc::new(WaitQueue::default());
        tokio::spawn(wake_from_changes(store.changes(), waiters.clone()));
        Self {
            store,
            waiters,
            limits: Limits::default(),
            last_look: Arc::default(),
        }
    }

    /// Enforces `limits`: waiting claims here, registrations in the store.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.store.set_limits(limits);
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn store(&self) -> &dyn CoordStore {
        self.store.as_ref()
    }

    pub fn now_ms(&self) -> Millis {
        self.store.now_ms()
    }

    /// Registers the caller's session and agent (first request) and touches it.
    pub async fn register(&self, user: &VirtualUser, connection_url: &str) -> Result<()> {
        self.store.touch_agent(user, connection_url).await
    }

    /// Records where an agent works, as `ccmulti team` knows it.
    pub async fn set_workspace(
        &self,
        user: &VirtualUser,
        workspace: &AgentWorkspace,
    ) -> Result<()> {
        self.store
            .set_agent_workspace(user, workspace, PlacedBy::Launcher)
            .await
    }

    /// Records where an agent works, as its hooks say with a call it makes.
    pub async fn report_workspace(
        &self,
        user: &VirtualUser,
        workspace: &AgentWorkspace,
    ) -> Result<()> {
        self.store
            .set_agent_workspace(user, workspace, PlacedBy::Agent)
            .await
    }

    /// A claim that answers at once.
    pub async fn claim_now(&self, request: &ClaimRequest) -> Result<ClaimOutcome> {
        self.store.claim(request, true).await
    }

    pub async fn release(
        &self,
        session: &str,
        agent: &str,
        scope: &ReleaseScope,
    ) -> Result<ReleaseOutcome> {
        self.store.release(session, agent, scope).await
    }

    /// A person releases locks by hand (CLI, dashboard, `team stop`).
    pub async fn force_release(&self, selector: &ForceSelector, by: &str) -> Result<Vec<LockRow>> {
        self.store.force_release(selector, by).await
    }

    pub async fn progress(
        &self,
        session: &str,
        agent: &str,
        update: &ProgressUpdate,
    ) -> Result<Millis> {
        self.store.sync_progress(session, agent, update).await
    }

    /// The session as its agents see it, with the caller's news if `news`
    /// (told once: reading it moves the caller's cursor).
    pub async fn status(
        &self,
        session: &str,
        agent: &str,
        news: bool,
    ) -> Result<(SessionView, Vec<News>)> {
        let news = if news {
            self.store.take_news(session, agent).await?
        } else {
            Vec::new()
        };
        Ok((self.store.session_view(session).await?, news))
    }

    pub async fn snapshot(&self, event_limit: usize) -> Result<Snapshot> {
        self.store.snapshot(event_limit).await
    }

    pub async fn counts(&self) -> Result<Counts> {
        self.store.counts().await
    }

    pub async fn verify(&self) -> Result<Verification> {
        self.store.verify().await
    }

    /// How many claims are waiting for their paths in this process.
    pub fn waiting_claims(&self) -> usize {
        self.waiters.len()
    }

    /// Forgets waiter rows: a starting coordinator's are a crashed one's.
    pub async fn clear_stale_waiters(&self) -> Result<usize> {
        self.store.clear_waiters().await
    }

    /// Keeps leases honest across a step of the wall clock
    /// ([`crate::rules::clock_step`]): after a step back every live lease is
    /// pulled back by the step, and no lease ever keeps more than the longest
    /// grant; after a step forward the leases it ran out expire in this sweep,
    /// each with its `expired` event.
    async fn follow_clock_steps(&self) {
        let (seen_at, wall) = (Instant::now(), self.now_ms());
        let before = self
            .last_look
            .lock()
            .ok()
            .and_then(|mut last| last.replace((seen_at, wall)));
        let step = before.map_or(ClockStep::Steady, |(then, wall_then)| {
            let monotonic = i64::try_from(seen_at.duration_since(then).as_millis());
            clock_step::detect(wall_then, wall, monotonic.unwrap_or(i64::MAX))
        });
        match step {
            ClockStep::Steady => {}
            ClockStep::Back(ms) => tracing::warn!(
                stepped_back_ms = ms,
                "the wall clock was set back; pulling live leases back as far"
            ),
            ClockStep::Forward(ms) => tracing::warn!(
                stepped_forward_ms = ms,
                "the wall clock was set forward; leases it ran out expire now"
            ),
        }
        let back_by = clock_step::pull_back_by(step, self.store.shared_across_machines());
        match self.store.pull_leases_back(back_by).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::warn!(
                    leases = n,
                    "leases pulled back to the time they were granted"
                );
                // Their waiters' timers were set for the old deadlines.
                self.waiters.wake_all();
            }
            Err(e) => tracing::error!(error = %e, "pulling leases back after a clock step failed"),
        }
    }

    /// One tick of the sweeper: expired locks go (which wakes their waiters),
    /// the audit trail is pruned, and while claims wait, writes by other
    /// processes are looked for.
    pub async fn sweep(&self) {
        self.follow_clock_steps().await;
        match self.store.sweep_expired().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "swept expired locks"),
            Err(e) => tracing::error!(error = %e, "expiry sweep failed"),
        }
        if let Err(e) = self.store.prune_events(PRUNE_BATCH).await {
            tracing::error!(error = %e, "pruning old events failed");
        }
        if self.waiters.len() > 0
            && let Err(e) = self.store.notice_changes_elsewhere().await
        {
            tracing::error!(error = %e, "could not look for other processes' writes");
        }
    }
}

/// Wakes the waiters first in line for what the store freed; on anything it
/// cannot place (another process wrote, or this listener fell behind), every
/// waiter that may try.
async fn wake_from_changes(
    mut changes: tokio::sync::broadcast::Receiver<Change>,
    waiters: Arc<WaitQueue>,
) {
    loop {
        match changes.recv().await {
            Ok(Change::Freed { session, paths }) => {
                waiters.wake_freed(&session, paths.iter().map(String::as_str));
            }
            Ok(Change::Other) | Err(RecvError::Lagged(_)) => waiters.wake_all(),
            // Every write a dashboard follows: waking every waiter on each
            // would make waiting cost a claim transaction per write.
            Ok(Change::Written) => {}
            Err(RecvError::Closed) => return,
        }
    }
}
