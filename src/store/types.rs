//! What every backend's store speaks: plain data in and out of the
//! [`CoordStore`](super::CoordStore) trait, nothing of any database.

use std::collections::BTreeSet;

use crate::clock::Millis;
use crate::rules::locks::{Conflict, HeldLock, Operation};
use crate::rules::progress::TaskStatus;
use ccmulti_model::snapshot::{AgentRow, LockRow, TaskRow};

pub use ccmulti_model::{AgentWorkspace, EventKind};

/// How many of the newest events the audit trail keeps unless told otherwise
/// (`ccmulti serve --keep-events`): days of a busy session's history, tens
/// of megabytes on disk at about 160 bytes an event (BENCHMARKS.md, "Soak").
pub const DEFAULT_EVENTS_KEPT: u64 = 200_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantedLock {
    pub lock_id: String,
    pub path: String,
    pub operation: Operation,
    pub expires_at_ms: Millis,
    pub fencing_token: i64,
    pub renewed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    Granted(Vec<GrantedLock>),
    Conflicted(Vec<Conflict>),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReleaseOutcome {
    pub released: Vec<HeldLock>,
    pub not_held: Vec<String>,
}

/// Which locks a person releases by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForceSelector {
    LockId(String),
    Path {
        session_id: Option<String>,
        path: String,
    },
    Agent {
        session_id: Option<String>,
        agent_id: String,
    },
}

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
pub struct ProgressUpdate {
    pub task_id: String,
    pub status: TaskStatus,
    pub progress_percentage: Option<u8>,
    pub message: Option<String>,
    /// Normalised paths.
    pub affected_files: Option<Vec<String>>,
}

/// One task handed to one agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTask {
    pub agent_id: String,
    pub task_id: String,
    pub description: String,
    pub files: Vec<String>,
}

/// One session as its agents see it: live locks only.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionView {
    pub now_ms: i64,
    pub agents: Vec<AgentRow>,
    pub locks: Vec<LockRow>,
    pub tasks: Vec<TaskRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Counts {
    pub sessions: i64,
    pub agents: i64,
    pub active_locks: i64,
    pub tasks: i64,
    pub events: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// What the backend's own name for its engine is, e.g. `sqlite`.
    pub backend: &'static str,
    pub user_version: i64,
    /// The newest schema version this build knows.
    pub expected_version: i64,
    /// (table, present)
    pub tables: Vec<(String, bool)>,
    /// (index, table)
    pub indexes: Vec<(String, String)>,
    pub integrity: String,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.user_version == self.expected_version
            && self.tables.iter().all(|(_, present)| *present)
            && self.integrity == "ok"
    }
}
