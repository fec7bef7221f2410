//! `check_agent_status(include_inactive=false, news=true)`: the caller's session only.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::{Activity, Operation, Role, TaskStatus};
use crate::tools::claim::HandOver;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusArgs {
    /// Also list agents not heard from for 10 minutes.
    #[serde(default)]
    pub include_inactive: bool,
    /// false leaves your news for later (it is neither listed nor marked as seen).
    #[serde(default = "yes")]
    pub news: bool,
    /// Files you are reading (as the lock tools take paths): in a worktree of
    /// your own, each whose latest version another agent committed, which
    /// your worktree lacks, is listed in `newer_elsewhere`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reading: Vec<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StatusResult {
    pub success: bool,
    pub session_id: String,
    /// The caller's agent id.
    pub you: String,
    /// The coordinator's clock, RFC 3339, UTC.
    pub now: String,
    pub agents: Vec<AgentStatus>,
    /// Live locks of the session.
    pub locks: Vec<LockStatus>,
    pub tasks: Vec<TaskState>,
    /// What changed for you since you last looked, told once (absent with news=false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub news: Option<Vec<NewsItem>>,
    /// Locks of yours a person released by hand: stop editing those files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
    /// Files you hold whose latest version another agent committed in its own
    /// worktree, which yours still lacks: bring each in before editing it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub handovers: Vec<HandOver>,
    /// Of the files in `reading`: those whose latest version is in a commit
    /// your worktree lacks; bring it in before you edit the file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub newer_elsewhere: Vec<HandOver>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentStatus {
    pub agent_id: String,
    pub role: Role,
    /// `active` (called within 2 minutes), `recent` (10 minutes) or `inactive`.
    pub activity: Activity,
    pub seconds_since_activity: i64,
    pub current_task: Option<String>,
    /// How many live locks it holds.
    pub locks: usize,
    /// Its client has listed the ccmulti tools since it was (re)started, so
    /// its next model request offers them.
    #[serde(default)]
    pub tools_listed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LockStatus {
    pub path: String,
    pub agent_id: String,
    pub operation: Operation,
    pub expires_in_seconds: i64,
    pub fencing_token: i64,
    /// The lock gives way to another agent's claim in this many seconds (0:
    /// now) unless its holder claims the path again first: a lock taken for
    /// edits (the edit hook's, or a claim with `idle_yield_seconds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gives_way_in_seconds: Option<i64>,
    /// The holder edits in another checkout than yours (each in a worktree
    /// of its own): its lock orders the edits of the file and hands its
    /// change over, but what you commit in your worktree is your own.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub elsewhere: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskState {
    pub agent_id: String,
    pub task_id: String,
    pub status: TaskStatus,
    pub progress_percentage: Option<u8>,
    pub message: Option<String>,
    /// RFC 3339, UTC.
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NewsItem {
    /// e.g. `path_freed`, `task_completed`, `own_lock_force_released`, `own_lock_expired`, `own_lock_expiring`, `change_wanted` (another agent needs
    /// your changes to a file that are in no commit in your worktree).
    pub kind: String,
    #[serde(default)]
    pub path: Option<String>,
    pub message: String,
}
