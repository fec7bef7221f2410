//! `claim_file_lock(file_paths, operation="write", duration_minutes=15, wait_seconds=0)`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::Operation;

pub const MIN_DURATION_MINUTES: i64 = 1;
pub const MAX_DURATION_MINUTES: i64 = 60;
pub const DEFAULT_DURATION_MINUTES: i64 = 15;
/// Enough for any real edit; a claim of thousands of paths is a mistake, not a plan.
pub const MAX_PATHS_PER_CALL: usize = 100;
/// A lease given in seconds: the pre-tool hook's claim at an edit, renewed by
/// the next edit of the file, so that a file the agent has moved on from is
/// free soon. Shorter than a few seconds would lapse between two edits of one hunk.
pub const MIN_LEASE_SECONDS: i64 = 5;
pub const MAX_LEASE_SECONDS: i64 = MAX_DURATION_MINUTES * 60;
/// How long a lock may stay idle (no claim or renewal by its holder) before it
/// gives way to another agent's claim: `idle_yield_seconds`.
pub const MIN_IDLE_YIELD_SECONDS: i64 = 1;
/// How long a blocked claim may wait for its paths. 0 (the default) answers at once;
/// two minutes stays well inside the time a client waits for a tool call.
pub const MAX_WAIT_SECONDS: i64 = 120;

fn default_duration() -> i64 {
    DEFAULT_DURATION_MINUTES
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimArgs {
    /// Paths relative to the project root (absolute paths inside it are accepted).
    /// End a path with / to lock a directory; use a glob (*, ?, **, [abc], {a,b}; \ escapes) to lock what it matches.
    #[schemars(length(min = 1, max = MAX_PATHS_PER_CALL))]
    pub file_paths: Vec<String>,
    #[serde(default)]
    pub operation: Operation,
    #[serde(default = "default_duration")]
    #[schemars(range(min = MIN_DURATION_MINUTES, max = MAX_DURATION_MINUTES))]
    pub duration_minutes: i64,
    /// The lease in seconds instead of duration_minutes, for a short hold renewed by each edit (what the edit hook takes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = MIN_LEASE_SECONDS, max = MAX_LEASE_SECONDS))]
    pub lease_seconds: Option<i64>,
    /// Give way to another agent's claim of these paths once this many seconds pass without your claiming them again (each edit's claim by the hook renews it); unset: hold them for the whole lease. The edit hook sets it, so that a file its agent has left is not kept from an agent that wants it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = MIN_IDLE_YIELD_SECONDS, max = MAX_LEASE_SECONDS))]
    pub idle_yield_seconds: Option<i64>,
    /// How long to wait for blocked paths before answering with the conflict; 0 answers at once.
    #[serde(default)]
    #[schemars(range(min = 0, max = MAX_WAIT_SECONDS))]
    pub wait_seconds: i64,
}

impl ClaimArgs {
    /// A claim of `file_paths` for `operation`, for the default duration, answered at once.
    pub fn new(file_paths: Vec<String>, operation: Operation) -> Self {
        Self {
            file_paths,
            operation,
            duration_minutes: DEFAULT_DURATION_MINUTES,
            lease_seconds: None,
            idle_yield_seconds: None,
            wait_seconds: 0,
        }
    }
}

/// A grant (`success`, `operation`, `locks`) or a conflict (`success: false`,
/// `message`, `conflicts`); either carries `waited_seconds` after a wait.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClaimResult {
    pub success: bool,
    /// Why nothing was claimed, and what to do meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
    /// What was granted (or renewed): every path of the claim.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locks: Vec<GrantedLock>,
    /// Why the claim was refused: each path and who holds it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
    /// How long the claim waited, with `wait_seconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waited_seconds: Option<f64>,
    /// A waiting claim answered at once because its wait would never end:
    /// the agents it would wait on wait, in turn, for the caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_cycle: Option<WaitCycle>,
    /// Granted paths whose latest version another agent committed in a
    /// worktree of its own, which yours lacks: bring each in (its `command`)
    /// before editing the file. Only between agents in worktrees of their own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub handovers: Vec<HandOver>,
    /// A waiting claim answered early because another agent needs your
    /// changes to these files, which are in no commit in your worktree:
    /// commit them, then claim again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes_wanted: Vec<String>,
}

/// Lock waits that close on themselves: each agent waits for a lock the
/// next one holds, and the last waits for one of the caller's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WaitCycle {
    /// The waits in turn, the caller's first.
    pub waits: Vec<LockWait>,
    /// The caller's locks the cycle waits for: releasing them breaks it.
    pub release: Vec<String>,
}

/// One agent waiting for another's locks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LockWait {
    pub agent: String,
    /// The paths it asked for that the holder's locks cover.
    pub wants: Vec<String>,
    pub held_by: String,
    /// The holder's locks that block it (a path, a directory or a glob).
    pub held_paths: Vec<String>,
}

/// The latest version of a path, made by another agent in its own worktree,
/// that yours lacks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HandOver {
    pub path: String,
    /// The agent that changed it.
    pub from: String,
    /// The commit that holds it; absent when the change was left uncommitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The branch that commit is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The file's git blob in that commit; absent when the commit deleted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
    /// What brings it in, run in your worktree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The commit was made in another clone: fetch it from where that agent pushes first.
    #[serde(default)]
    pub fetch: bool,
    /// The worktree the change was made in: where a change in no commit
    /// waits to be committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worktree: Option<String>,
    /// What happened and what to do, in a sentence or two.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GrantedLock {
    pub path: String,
    pub lock_id: String,
    /// Grows with every grant; a stale holder is told apart by a smaller token.
    pub fencing_token: i64,
    /// RFC 3339, UTC.
    pub expires_at: String,
    pub expires_in_seconds: i64,
    /// True when the caller already held it and the lease was extended.
    pub renewed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Conflict {
    /// The path asked for.
    pub path: String,
    /// The lock that blocks it: the same path, or a directory or glob covering it.
    pub held_path: String,
    pub holder: String,
    pub operation: Operation,
    pub seconds_left: i64,
    /// The lock gives way to your claim in this many seconds unless its
    /// holder claims the path again first (the edit hook does at each edit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gives_way_in_seconds: Option<i64>,
}
