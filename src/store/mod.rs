//! The coordination state behind one trait, [`CoordStore`]: what the
//! coordination service ([`crate::coord`]) asks of a database, in the rules'
//! and the model's types, with one error type that names no database. Only
//! the implementations write SQL: SQLite ([`sqlite`], the default) for one
//! machine, PostgreSQL ([`postgres`]) for coordinators sharing one database.
//!
//! A store decides nothing about coordination. A lock step reads the rows
//! the rules name, takes the rules' effects on them and writes them
//! (`lock_steps.rs`, once for both backends); the other writes take their
//! decisions from the rules too. What a backend owns is its SQL and its
//! transactions: SQLite's single write thread and its batches, PostgreSQL's
//! per-session advisory locks.
//!
//! Every write that frees paths (release, expiry, forced release) is announced
//! on the store's change feed ([`CoordStore::changes`]) once it has
//! committed, and so is a write noticed from another process: the service
//! wakes waiting claims from it and the dashboard redraws from it.

#[cfg(test)]
pub(crate) mod behaviour;
mod forget;
mod lock_steps;
pub mod postgres;
pub mod sqlite;
mod types;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::broadcast;

use ccmulti_model::snapshot::{LockRow, SessionView, Snapshot};
use ccmulti_model::{AgentWorkspace, PathVersion, PendingHandOver, PlannedTask};

use crate::clock::Millis;
use crate::rules::handover::NewVersion;
use crate::rules::lifetimes::ForgetOutcome;
use crate::rules::limits::{LimitReached, Limits};
use crate::rules::locks::ReleaseScope;
use crate::rules::locks::steps::{ClaimOutcome, ClaimRequest, ForceSelector, ReleaseOutcome};
use crate::rules::news::News;
use crate::rules::progress::ProgressUpdate;
use crate::rules::wait_cycle::JoinedWaits;
use ccmulti_model::VirtualUser;

pub use postgres::PostgresStore;
pub use sqlite::{Durability, SqliteStore, WriteBatches, create_private_file, restrict_to_owner};
pub use types::{Counts, DEFAULT_EVENTS_KEPT, Verification};

/// One error for every backend. Database and pool failures carry their cause
/// for the log; callers see only that the database failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The disk holding the database is full; the write was rolled back whole.
    #[error("the disk holding the database is full: {0}")]
    DiskFull(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("database file {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "database schema version {found} is newer than this ccmulti ({known}); upgrade ccmulti"
    )]
    NewerSchema { found: i64, known: i64 },
    #[error("migrating the database schema: {0}")]
    Migration(String),
    #[error(
        "there is no ccmulti database at {}: start a coordinator first (`ccmulti up`, or `ccmulti serve --db {}`), or pass the --db it uses",
        path.display(), path.display()
    )]
    Missing { path: PathBuf },
    /// A PostgreSQL database no coordinator has used: a command that only
    /// reads or releases must not create ccmulti's tables in it (it may be
    /// another application's database, named by a typo).
    #[error(
        "the PostgreSQL database {location} holds no ccmulti tables: start a coordinator on it first (`ccmulti serve --db` with this URL), or pass the --db it uses"
    )]
    MissingSchema { location: String },
    #[error("session {session:?} belongs to another user")]
    SessionOwnedByOther { session: String },
    /// A new session or agent beyond the limits; nothing was written.
    #[error(transparent)]
    LimitReached(#[from] LimitReached),
    #[error("the write connection was poisoned by a panic")]
    Poisoned,
    #[error("a blocking database task failed: {0}")]
    Join(String),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The database cannot be reached or did not answer in time (a network
    /// database that is down, restarting or overloaded): nothing is known to
    /// have changed, and the same call may succeed in a moment.
    #[error("the database is unavailable ({0}); retry shortly")]
    Unavailable(String),
}

impl StoreError {
    /// Worth retrying as it is: the database was unavailable, not the call wrong.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What the change feed tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// These paths of a session were released, expired or force-released, by
    /// this process or (heard from a shared database) another coordinator.
    Freed { session: String, paths: Vec<String> },
    /// Another process wrote (seen by [`CoordStore::notice_changes_elsewhere`]):
    /// anything may have been freed.
    Other,
    /// Something was written, by anyone (once [`CoordStore::follow_all_writes`]
    /// is on): for a dashboard to redraw, not a reason to wake waiting claims.
    Written,
}

/// The coordination state. Async, so that a backend may be a network
/// database; SQLite runs its writes on a thread of its own.
/// Who says where an agent works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlacedBy {
    /// Whoever starts the agent (`ccmulti team`), about to (re)start it.
    Launcher,
    /// The agent's own hooks, with a call it makes.
    Agent,
}

#[async_trait]
pub trait CoordStore: Send + Sync + std::fmt::Debug {
    /// The engine, for `/health/detailed` and `db verify`: `sqlite`, ...
    fn backend(&self) -> &'static str;
    /// Where the state lives, for people (a file path; never a password).
    fn location(&self) -> String;
    /// The newest schema version this build knows for this backend.
    fn schema_version(&self) -> i64;
    /// The store's clock: lease deadlines are read against it.
    fn now_ms(&self) -> Millis;
    /// Whether coordinators on other machines (other clocks) share this
    /// store's state; a step of this machine's clock is not theirs.
    fn shared_across_machines(&self) -> bool {
        false
    }
    /// Subscribes to the change feed.
    fn changes(&self) -> broadcast::Receiver<Change>;
    /// How the store's writes were grouped into transactions so far, for
    /// `/metrics`; `None` for a backend that does not group them.
    fn write_batches(&self) -> Option<WriteBatches> {
        None
    }
    /// Looks for writes made elsewhere since the last look and announces
    /// them as [`Change::Other`]; cheap, called every second while claims wait.
    async fn notice_changes_elsewhere(&self) -> Result<()>;
    /// From now on announces every write, by anyone, as [`Change::Written`]
    /// (the dashboard redraws on it). SQLite watches its files.
    fn follow_all_writes(&self) -> Result<()>;

    /// Registers the session (owned by this user) and agent if new and touches it.
    async fn touch_agent(&self, user: &VirtualUser, connection_url: &str) -> Result<()>;
    /// Records where an agent works (its worktree, branch and host). Placed
    /// by whoever starts it, as it is about to (re)start it, its status is
    /// `starting` until it calls ([`crate::rules::lifetimes`]); placed by the
    /// agent's own hooks, its status is left alone.
    async fn set_agent_workspace(
        &self,
        user: &VirtualUser,
        workspace: &AgentWorkspace,
        by: PlacedBy,
    ) -> Result<()>;
    /// The agent's client has listed its tools: status `ready` ([`crate::rules::lifetimes`]).
    async fn note_tools_listed(&self, user: &VirtualUser) -> Result<()>;
    /// Removes the session and everything of it (agents, locks, tasks,
    /// events, analyses, waiting claims, news cursors) in one transaction;
    /// refuses, removing nothing, while it holds live locks.
    async fn forget_session(&self, session: &str) -> Result<ForgetOutcome>;

    /// Claims every path or none; records conflicts as events if `record_conflicts`.
    async fn claim(&self, request: &ClaimRequest, record_conflicts: bool) -> Result<ClaimOutcome>;
    /// Releases the caller's own live locks.
    async fn release(
        &self,
        session: &str,
        agent: &str,
        scope: &ReleaseScope,
    ) -> Result<ReleaseOutcome> {
        self.release_recording(session, agent, scope, &[]).await
    }
    /// [`Self::release`], recording in the same transaction `versions`
    /// (`rules::handover::on_release`) for the locks it removes.
    async fn release_recording(
        &self,
        session: &str,
        agent: &str,
        scope: &ReleaseScope,
        versions: &[NewVersion],
    ) -> Result<ReleaseOutcome>;
    /// A person releases locks by hand, recorded as a forced release by
    /// `by`; the locks released.
    async fn force_release(&self, selector: &ForceSelector, by: &str) -> Result<Vec<LockRow>> {
        self.force_release_recording(selector, by, &[]).await
    }
    /// [`Self::force_release`], recording `versions` for the locks it removes.
    async fn force_release_recording(
        &self,
        selector: &ForceSelector,
        by: &str,
        versions: &[NewVersion],
    ) -> Result<Vec<LockRow>>;
    /// Records versions a look found in other worktrees
    /// (`rules::handover::discovered`), stamped now, unless a version of one
    /// of their paths was recorded after `seen` (the newest version id the
    /// look read; `None`: it read none): the look then decided against facts
    /// that are out of date, and nothing is recorded. Whether it recorded.
    async fn record_versions(
        &self,
        session: &str,
        versions: &[NewVersion],
        seen: Option<i64>,
    ) -> Result<bool>;
    /// Every version recorded in the session (`rules::handover`), oldest first.
    async fn path_versions(&self, session: &str) -> Result<Vec<PathVersion>>;
    /// When each of the agent's locks was granted (a renewal keeps it), by lock id.
    async fn granted_at(&self, session: &str, agent: &str) -> Result<BTreeMap<String, Millis>>;
    /// Keeps, for each lock, the versions its grant told the holder to bring in.
    async fn add_pending_handovers(&self, pending: &[(String, i64)]) -> Result<()>;
    /// Forgets those its holder now has.
    async fn drop_pending_handovers(&self, done: &[(String, i64)]) -> Result<()>;
    /// The session's pending hand-overs: the lock, its holder, the version.
    async fn pending_handovers(&self, session: &str) -> Result<Vec<PendingHandOver>>;
    /// Deletes expired locks, one `expired` event each; how many.
    async fn sweep_expired(&self) -> Result<usize>;
    /// After the wall clock stepped back by `back_by` ms (0: no step seen),
    /// pulls every live lease's deadline back by as much, and caps any lease
    /// at the longest grant from now (`rules::locks::steps::PullBack`); how many changed.
    async fn pull_leases_back(&self, back_by: Millis) -> Result<usize>;
    /// Keeps the newest events (as set by `keep_events`), deleting at most `batch`.
    async fn prune_events(&self, batch: u64) -> Result<usize>;
    fn keep_events(&self, keep: u64);
    /// Sets what registration refuses beyond: agents per session and
    /// sessions per user ([`Limits`]); checked inside the registering write.
    fn set_limits(&self, limits: Limits);

    /// Writes down a claim that waits until `deadline_ms`, for other
    /// processes' dashboards and for the claims that wait after it; returns
    /// its id. A claim whose wait would close a cycle of lock waits
    /// ([`crate::rules::wait_cycle`]) is not written: the cycle is returned.
    async fn record_waiter(
        &self,
        request: &ClaimRequest,
        deadline_ms: Millis,
    ) -> Result<JoinedWaits>;
    async fn forget_waiter(&self, id: i64) -> Result<()>;
    /// Forgets every waiter row: a starting coordinator's are a crashed one's.
    async fn clear_waiters(&self) -> Result<usize>;

    async fn sync_progress(
        &self,
        session: &str,
        agent: &str,
        update: &ProgressUpdate,
    ) -> Result<Millis>;
    /// What changed for the agent since it last looked; moves its cursor.
    async fn take_news(&self, session: &str, agent: &str) -> Result<Vec<News>>;
    async fn session_view(&self, session: &str) -> Result<SessionView>;
    /// Where the session's agents work, for those whose workspace is known
    /// (agent id, workspace), by agent id: what a release or a grant reads to
    /// learn whether hand-over applies, at the cost of no rows in a session
    /// whose agents were started by hand.
    async fn agent_workspaces(&self, session: &str) -> Result<Vec<(String, AgentWorkspace)>>;
    /// Everything, for the dashboard and `ccmulti status`.
    async fn snapshot(&self, event_limit: usize) -> Result<Snapshot>;
    async fn counts(&self) -> Result<Counts>;
    async fn verify(&self) -> Result<Verification>;

    async fn save_analysis(&self, session: &str, analysis_id: &str, body: &str) -> Result<()>;
    async fn load_analysis(&self, session: &str, analysis_id: &str) -> Result<Option<String>>;
    /// Records a plan for the session: its tasks planned before and not
    /// started are replaced by these; returns the ids of these kept with an
    /// agent that started them.
    async fn record_plan(&self, session: &str, tasks: &[PlannedTask]) -> Result<Vec<String>>;
}

pub type SharedStore = Arc<dyn CoordStore>;
