//! PostgreSQL as a [`CoordStore`]: each call bounded by
//! [`CALL_TIMEOUT`], and by what is left of the time of the request it is
//! made for ([`crate::deadline`]), so a database that is down, frozen or cut
//! off answers a retryable error instead of holding the caller, within one
//! bound per request however many calls it makes. Everything a call waits
//! for is inside the bound: a pooled connection, a new one's connect and
//! start-up, each statement. A call cut off there is dropped: a transaction
//! it left open is rolled back (tokio-postgres queues a `ROLLBACK` when a
//! transaction is dropped unfinished; a connection that is gone takes its
//! transaction with it), so nothing is half applied; one cut off while its
//! `COMMIT` was on the way may have committed, which the error says.

use std::future::Future;
use std::sync::atomic::Ordering;

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::{CALL_TIMEOUT, PostgresStore, Result, SCHEMA_VERSION, StoreError};
use crate::clock::Millis;
use crate::rules::handover::NewVersion;
use crate::rules::lifetimes::ForgetOutcome;
use crate::rules::limits::Limits;
use crate::rules::locks::ReleaseScope;
use crate::rules::locks::steps::{
    Claim, ClaimOutcome, ClaimRequest, ForceRelease, ForceSelector, Release, ReleaseOutcome,
};
use crate::rules::news::News;
use crate::rules::progress::ProgressUpdate;
use crate::rules::wait_cycle::JoinedWaits;
use crate::store::{Change, CoordStore, Counts, PlacedBy, Verification};
use ccmulti_model::VirtualUser;
use ccmulti_model::snapshot::{LockRow, SessionView, Snapshot};
use std::collections::BTreeMap;

use ccmulti_model::{AgentWorkspace, PathVersion, PendingHandOver, PlannedTask};

impl PostgresStore {
    /// Runs one store call within [`CALL_TIMEOUT`] and the request's time left.
    async fn bounded<T>(&self, call: impl Future<Output = Result<T>>) -> Result<T> {
        let limit =
            crate::deadline::remaining().map_or(CALL_TIMEOUT, |left| left.min(CALL_TIMEOUT));
        match tokio::time::timeout(limit, call).await {
            Ok(done) => done,
            Err(_) => Err(StoreError::Unavailable(format!(
                "the database did not answer within {} ms (a write cut off as it committed may have been applied)",
                limit.as_millis()
            ))),
        }
    }
}

#[async_trait]
impl CoordStore for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn location(&self) -> String {
        self.inner.location.clone()
    }

    fn schema_version(&self) -> i64 {
        SCHEMA_VERSION
    }

    fn now_ms(&self) -> Millis {
        PostgresStore::now_ms(self)
    }

    /// Every coordinator on the database may run on its own machine.
    fn shared_across_machines(&self) -> bool {
        true
    }

    fn changes(&self) -> broadcast::Receiver<Change> {
        self.inner.changes.subscribe()
    }

    /// Nothing to look for: other coordinators' writes are pushed (`listen.rs`).
    async fn notice_changes_elsewhere(&self) -> Result<()> {
        Ok(())
    }

    fn follow_all_writes(&self) -> Result<()> {
        self.inner.follow_all.store(true, Ordering::Relaxed);
        Ok(())
    }

    async fn touch_agent(&self, user: &VirtualUser, connection_url: &str) -> Result<()> {
        self.bounded(PostgresStore::touch_agent(self, user, connection_url))
            .await
    }

    async fn set_agent_workspace(
        &self,
        user: &VirtualUser,
        workspace: &AgentWorkspace,
        by: PlacedBy,
    ) -> Result<()> {
        self.bounded(PostgresStore::set_agent_workspace(
            self, user, workspace, by,
        ))
        .await
    }

    async fn note_tools_listed(&self, user: &VirtualUser) -> Result<()> {
        self.bounded(PostgresStore::note_tools_listed(self, user))
            .await
    }

    async fn forget_session(&self, session: &str) -> Result<ForgetOutcome> {
        self.bounded(PostgresStore::forget_session(self, session))
            .await
    }

    async fn claim(&self, request: &ClaimRequest, record_conflicts: bool) -> Result<ClaimOutcome> {
        self.bounded(self.lock_step(&Claim {
            request,
            record_conflicts,
        }))
        .await
    }

    async fn release_recording(
        &self,
        session: &str,
        agent: &str,
        scope: &ReleaseScope,
        versions: &[NewVersion],
    ) -> Result<ReleaseOutcome> {
        self.bounded(self.lock_step(&Release {
            session,
            agent,
            scope,
            versions,
        }))
        .await
    }

    async fn force_release_recording(
        &self,
        selector: &ForceSelector,
        by: &str,
        versions: &[NewVersion],
    ) -> Result<Vec<LockRow>> {
        self.bounded(self.lock_step(&ForceRelease {
            selector,
            by,
            versions,
        }))
        .await
    }

    async fn sweep_expired(&self) -> Result<usize> {
        self.bounded(PostgresStore::sweep_expired(self)).await
    }

    async fn prune_events(&self, batch: u64) -> Result<usize> {
        self.bounded(PostgresStore::prune_events(self, batch)).await
    }

    fn keep_events(&self, keep: u64) {
        PostgresStore::keep_events(self, keep);
    }

    async fn pull_leases_back(&self, back_by: Millis) -> Result<usize> {
        self.bounded(PostgresStore::pull_leases_back(self, back_by))
            .await
    }

    fn set_limits(&self, limits: Limits) {
        PostgresStore::set_limits(self, limits);
    }

    async fn record_versions(
        &self,
        session: &str,
        versions: &[NewVersion],
        seen: Option<i64>,
    ) -> Result<bool> {
        self.bounded(PostgresStore::record_versions(
            self, session, versions, seen,
        ))
        .await
    }

    async fn path_versions(&self, session: &str) -> Result<Vec<PathVersion>> {
        self.bounded(PostgresStore::path_versions(self, session))
            .await
    }

    async fn granted_at(&self, session: &str, agent: &str) -> Result<BTreeMap<String, Millis>> {
        self.bounded(PostgresStore::granted_at(self, session, agent))
            .await
    }

    async fn add_pending_handovers(&self, pending: &[(String, i64)]) -> Result<()> {
        self.bounded(self.set_pending_handovers(pending, true))
            .await
    }

    async fn drop_pending_handovers(&self, done: &[(String, i64)]) -> Result<()> {
        self.bounded(self.set_pending_handovers(done, false)).await
    }

    async fn pending_handovers(&self, session: &str) -> Result<Vec<PendingHandOver>> {
        self.bounded(PostgresStore::pending_handovers(self, session))
            .await
    }

    async fn record_waiter(
        &self,
        request: &ClaimRequest,
        deadline_ms: Millis,
    ) -> Result<JoinedWaits> {
        self.bounded(PostgresStore::record_waiter(self, request, deadline_ms))
            .await
    }

    async fn forget_waiter(&self, id: i64) -> Result<()> {
        self.bounded(PostgresStore::forget_waiter(self, id)).await
    }

    async fn clear_waiters(&self) -> Result<usize> {
        self.bounded(PostgresStore::clear_waiters(self)).await
    }

    async fn sync_progress(
        &self,
        session: &str,
        agent: &str,
        update: &ProgressUpdate,
    ) -> Result<Millis> {
        self.bounded(PostgresStore::sync_progress(self, session, agent, update))
            .await
    }

    async fn take_news(&self, session: &str, agent: &str) -> Result<Vec<News>> {
        self.bounded(PostgresStore::take_news(self, session, agent))
            .await
    }

    async fn session_view(&self, session: &str) -> Result<SessionView> {
        self.bounded(PostgresStore::session_view(self, session))
            .await
    }

    async fn agent_workspaces(&self, session: &str) -> Result<Vec<(String, AgentWorkspace)>> {
        self.bounded(PostgresStore::agent_workspaces(self, session))
            .await
    }

    async fn snapshot(&self, event_limit: usize) -> Result<Snapshot> {
        self.bounded(PostgresStore::snapshot(self, event_limit))
            .await
    }

    async fn counts(&self) -> Result<Counts> {
        self.bounded(PostgresStore::counts(self)).await
    }

    async fn verify(&self) -> Result<Verification> {
        self.bounded(PostgresStore::verify(self)).await
    }

    async fn save_analysis(&self, session: &str, analysis_id: &str, body: &str) -> Result<()> {
        self.bounded(PostgresStore::save_analysis(
            self,
            session,
            analysis_id,
            body,
        ))
        .await
    }

    async fn load_analysis(&self, session: &str, analysis_id: &str) -> Result<Option<String>> {
        self.bounded(PostgresStore::load_analysis(self, session, analysis_id))
            .await
    }

    async fn record_plan(&self, session: &str, tasks: &[PlannedTask]) -> Result<Vec<String>> {
        self.bounded(PostgresStore::record_plan(self, session, tasks))
            .await
    }
}
