//! SQLite as a [`CoordStore`]: writes run on the store's own write thread
//! (they queue for the one write connection there, never on the async side),
//! short reads run where they are called (a WAL reader never waits for the
//! writer), and long reads (snapshot, verify) on tokio's blocking pool.

use crate::rules::wait_cycle::JoinedWaits;
use std::sync::atomic::Ordering;

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::{Result, SCHEMA_VERSION, SqliteStore};
use crate::clock::Millis;
use crate::rules::handover::NewVersion;
use crate::rules::lifetimes::ForgetOutcome;
use crate::rules::limits::Limits;
use crate::rules::locks::ReleaseScope;
use crate::rules::locks::steps::{ClaimOutcome, ClaimRequest, ForceSelector, ReleaseOutcome};
use crate::rules::news::News;
use crate::rules::progress::ProgressUpdate;
use crate::store::{Change, CoordStore, Counts, PlacedBy, Verification};
use ccmulti_model::VirtualUser;
use ccmulti_model::snapshot::{LockRow, SessionView, Snapshot};
use std::collections::BTreeMap;

use ccmulti_model::{AgentWorkspace, PathVersion, PendingHandOver, PlannedTask};

impl SqliteStore {
    /// `PRAGMA data_version` on the write connection changes only when
    /// another connection commits, and this process writes through that one
    /// connection alone: a change means another process wrote.
    fn notice_elsewhere_now(&self) -> Result<()> {
        let version: i64 = self
            .writer()?
            .pragma_query_value(None, "data_version", |r| r.get(0))?;
        if self.inner.data_version.swap(version, Ordering::SeqCst) != version {
            let _ = self.inner.changes.send(Change::Other);
        }
        Ok(())
    }
}

#[async_trait]
impl CoordStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn location(&self) -> String {
        self.path().display().to_string()
    }

    fn schema_version(&self) -> i64 {
        SCHEMA_VERSION
    }

    fn now_ms(&self) -> Millis {
        SqliteStore::now_ms(self)
    }

    fn changes(&self) -> broadcast::Receiver<Change> {
        self.inner.changes.subscribe()
    }

    fn write_batches(&self) -> Option<crate::store::WriteBatches> {
        Some(SqliteStore::write_batches(self))
    }

    fn follow_all_writes(&self) -> Result<()> {
        self.watch_files()
    }

    async fn notice_changes_elsewhere(&self) -> Result<()> {
        self.blocking(move |s| s.notice_elsewhere_now()).await
    }

    async fn touch_agent(&self, user: &VirtualUser, connection_url: &str) -> Result<()> {
        let (user, url) = (user.clone(), connection_url.to_owned());
        self.on_write_thread(move |s| s.touch_agent(&user, &url))
            .await
    }

    async fn set_agent_workspace(
        &self,
        user: &VirtualUser,
        workspace: &AgentWorkspace,
        by: PlacedBy,
    ) -> Result<()> {
        let (user, workspace) = (user.clone(), workspace.clone());
        self.on_write_thread(move |s| s.set_agent_workspace(&user, &workspace, by))
            .await
    }

    async fn note_tools_listed(&self, user: &VirtualUser) -> Result<()> {
        let user = user.clone();
        self.on_write_thread(move |s| s.note_tools_listed(&user))
            .await
    }

    async fn forget_session(&self, session: &str) -> Result<ForgetOutcome> {
        let session = session.to_owned();
        self.on_write_thread(move |s| s.forget_session(&session))
            .await
    }

    async fn claim(&self, request: &ClaimRequest, record_conflicts: bool) -> Result<ClaimOutcome> {
        let request = request.clone();
        self.on_write_thread(move |s| s.claim_request(&request, record_conflicts))
            .await
    }

    async fn release_recording(
        &self,
        session: &str,
        agent: &str,
        scope: &ReleaseScope,
        versions: &[NewVersion],
    ) -> Result<ReleaseOutcome> {
        let (session, agent, scope) = (session.to_owned(), agent.to_owned(), scope.clone());
        let versions = versions.to_vec();
        self.on_write_thread(move |s| s.release_recording(&session, &agent, &scope, &versions))
            .await
    }

    async fn force_release_recording(
        &self,
        selector: &ForceSelector,
        by: &str,
        versions: &[NewVersion],
    ) -> Result<Vec<LockRow>> {
        let (selector, by, versions) = (selector.clone(), by.to_owned(), versions.to_vec());
        self.on_write_thread(move |s| s.force_release_recording(&selector, &by, &versions))
            .await
    }

    async fn record_versions(
        &self,
        session: &str,
        versions: &[NewVersion],
        seen: Option<i64>,
    ) -> Result<bool> {
        let (session, versions) = (session.to_owned(), versions.to_vec());
        self.on_write_thread(move |s| s.record_versions(&session, &versions, seen))
            .await
    }

    async fn path_versions(&self, session: &str) -> Result<Vec<PathVersion>> {
        let session = session.to_owned();
        self.blocking(move |s| s.path_versions(&session)).await
    }

    async fn granted_at(&self, session: &str, agent: &str) -> Result<BTreeMap<String, Millis>> {
        let (session, agent) = (session.to_owned(), agent.to_owned());
        self.blocking(move |s| s.granted_at(&session, &agent)).await
    }

    async fn add_pending_handovers(&self, pending: &[(String, i64)]) -> Result<()> {
        // Most grants and releases have none: no turn on the write thread.
        if pending.is_empty() {
            return Ok(());
        }
        let pending = pending.to_vec();
        self.on_write_thread(move |s| s.set_pending_handovers(&pending, true))
            .await
    }

    async fn drop_pending_handovers(&self, done: &[(String, i64)]) -> Result<()> {
        if done.is_empty() {
            return Ok(());
        }
        let done = done.to_vec();
        self.on_write_thread(move |s| s.set_pending_handovers(&done, false))
            .await
    }

    async fn pending_handovers(&self, session: &str) -> Result<Vec<PendingHandOver>> {
        let session = session.to_owned();
        self.blocking(move |s| s.pending_handovers(&session)).await
    }

    async fn sweep_expired(&self) -> Result<usize> {
        // Several bounded transactions on purpose: not one batch's.
        self.on_write_thread_alone(move |s| s.sweep_expired()).await
    }

    async fn prune_events(&self, batch: u64) -> Result<usize> {
        self.on_write_thread_alone(move |s| s.prune_events(s.events_kept(), batch))
            .await
    }

    async fn pull_leases_back(&self, back_by: Millis) -> Result<usize> {
        self.blocking(move |s| s.pull_leases_back(back_by)).await
    }

    fn keep_events(&self, keep: u64) {
        SqliteStore::keep_events(self, keep);
    }

    fn set_limits(&self, limits: Limits) {
        SqliteStore::set_limits(self, limits);
    }

    async fn record_waiter(
        &self,
        request: &ClaimRequest,
        deadline_ms: Millis,
    ) -> Result<JoinedWaits> {
        let request = request.clone();
        self.on_write_thread(move |s| s.record_waiter(&request, deadline_ms))
            .await
    }

    async fn forget_waiter(&self, id: i64) -> Result<()> {
        self.on_write_thread(move |s| s.forget_waiter(id)).await
    }

    async fn clear_waiters(&self) -> Result<usize> {
        self.on_write_thread(move |s| s.clear_waiters()).await
    }

    async fn sync_progress(
        &self,
        session: &str,
        agent: &str,
        update: &ProgressUpdate,
    ) -> Result<Millis> {
        let (session, agent, update) = (session.to_owned(), agent.to_owned(), update.clone());
        self.on_write_thread(move |s| s.sync_progress(&session, &agent, &update))
            .await
    }

    async fn take_news(&self, session: &str, agent: &str) -> Result<Vec<News>> {
        let (session, agent) = (session.to_owned(), agent.to_owned());
        self.on_write_thread(move |s| s.take_news(&session, &agent))
            .await
    }

    async fn session_view(&self, session: &str) -> Result<SessionView> {
        // A read of a few rows: run here, on the caller's thread, rather
        // than hand it to another thread and back (BENCHMARKS.md, "HTTP under
        // wrk"). A WAL reader does not wait for the writer.
        SqliteStore::session_view(self, session)
    }

    async fn agent_workspaces(&self, session: &str) -> Result<Vec<(String, AgentWorkspace)>> {
        // As session_view: a read of a few rows, on the caller's thread.
        SqliteStore::agent_workspaces(self, session)
    }

    async fn snapshot(&self, event_limit: usize) -> Result<Snapshot> {
        self.blocking(move |s| s.snapshot(event_limit)).await
    }

    async fn counts(&self) -> Result<Counts> {
        // A few index counts, read here as session_view is.
        SqliteStore::counts(self)
    }

    async fn verify(&self) -> Result<Verification> {
        self.blocking(move |s| s.verify()).await
    }

    async fn save_analysis(&self, session: &str, analysis_id: &str, body: &str) -> Result<()> {
        let (session, id, body) = (session.to_owned(), analysis_id.to_owned(), body.to_owned());
        self.on_write_thread(move |s| s.save_analysis(&session, &id, &body))
            .await
    }

    async fn load_analysis(&self, session: &str, analysis_id: &str) -> Result<Option<String>> {
        let (session, id) = (session.to_owned(), analysis_id.to_owned());
        self.blocking(move |s| s.load_analysis(&session, &id)).await
    }

    async fn record_plan(&self, session: &str, tasks: &[PlannedTask]) -> Result<Vec<String>> {
        let (session, tasks) = (session.to_owned(), tasks.to_vec());
        self.on_write_thread(move |s| s.record_plan(&session, &tasks))
            .await
    }
}
