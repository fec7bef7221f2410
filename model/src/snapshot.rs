//! What the dashboard and `ccmulti status` show: one consistent read of the
//! coordination state.
//!
//! All instants are milliseconds since the Unix epoch, UTC, read from the
//! coordinator's clock; countdowns are computed against [`Snapshot::now_ms`]
//! or a later tick, never against the viewer's own idea of time.

use crate::domain::{AgentWorkspace, EventKind, Operation, PendingHandOver, Role, TaskStatus};
use crate::landing::BranchLanding;

/// Everything the dashboard shows, read in one consistent pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// The coordinator's clock when the snapshot was read.
    pub now_ms: i64,
    pub sessions: Vec<SessionRow>,
    pub agents: Vec<AgentRow>,
    pub locks: Vec<LockRow>,
    pub tasks: Vec<TaskRow>,
    /// Newest first.
    pub events: Vec<EventRow>,
    /// Claims waiting for their paths, in arrival order.
    pub waiters: Vec<WaiterRow>,
}

/// One session as its agents see it (`check_agent_status`): its agents, its
/// live locks and its tasks, read at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionView {
    /// The coordinator's clock when it was read.
    pub now_ms: i64,
    pub agents: Vec<AgentRow>,
    pub locks: Vec<LockRow>,
    pub tasks: Vec<TaskRow>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    pub session_id: String,
    pub user_id: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgentRow {
    pub session_id: String,
    pub agent_id: String,
    pub role: Role,
    /// The seed's free-text `status` column (`connected`, ...).
    pub status: String,
    pub last_activity_ms: i64,
    /// The task this agent most recently reported on, if any.
    pub current_task: Option<String>,
    pub lock_count: usize,
    /// Where it works, when whoever started it said so (`ccmulti team`).
    pub workspace: Option<AgentWorkspace>,
    /// Versions its grants told it to bring in that it had not when it last
    /// looked, by path. Read for the dashboard's [`Snapshot`]; a
    /// [`SessionView`] leaves it empty (`check_agent_status` checks them in
    /// the agent's worktree instead).
    pub pending_handovers: Vec<PendingHandOver>,
    /// For an agent in a worktree of its own, whether its branch has landed.
    /// The store never reads it (it runs git): the dashboard's data source
    /// fills it in from a look it takes every few seconds off the async
    /// workers (`ccmulti::landing`); everywhere else it is `None`.
    pub landing: Option<BranchLanding>,
}

/// A claim waiting for its paths (`claim_file_lock` with `wait_seconds`).
#[derive(Debug, Clone, PartialEq)]
pub struct WaiterRow {
    pub session_id: String,
    pub agent_id: String,
    pub operation: Operation,
    /// The claim's normalised paths; it takes all of them or none.
    pub paths: Vec<String>,
    pub since_ms: i64,
    /// When it stops waiting and gets a plain claim's answer.
    pub deadline_ms: i64,
    /// The live locks it waits on (their `lock_id`s): held by another agent of
    /// its session, overlapping its paths, not both reads.
    pub blocked_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LockRow {
    pub lock_id: String,
    pub session_id: String,
    pub agent_id: String,
    pub path: String,
    pub operation: Operation,
    pub expires_at_ms: i64,
    pub fencing_token: i64,
    /// From when another agent's claim of the path takes the lock over; `None`:
    /// it holds until `expires_at_ms`.
    pub yields_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    pub session_id: String,
    pub agent_id: String,
    pub task_id: String,
    pub status: TaskStatus,
    pub progress_percentage: Option<u8>,
    pub message: Option<String>,
    pub updated_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub id: i64,
    pub session_id: Option<String>,
    pub at_ms: i64,
    pub kind: EventKind,
    pub agent_id: Option<String>,
    pub path: Option<String>,
    pub detail: Option<String>,
}
