//! Plain data shared by the coordinator and the dashboard.
//!
//! All instants are milliseconds since the Unix epoch, UTC, read from the
//! coordinator's clock; countdowns are computed against [`Snapshot::now_ms`]
//! or a later tick, never against the viewer's own idea of time.

/// An agent is "active" if it called within this many milliseconds (the seed's 2 minutes).
pub const ACTIVE_WITHIN_MS: i64 = 2 * 60 * 1000;
/// An agent is "recent" if it called within this many milliseconds (the seed's 10 minutes).
pub const RECENT_WITHIN_MS: i64 = 10 * 60 * 1000;

/// How recently an agent was heard from, as the seed defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activity {
    Active,
    Recent,
    Inactive,
}

impl Activity {
    pub fn classify(now_ms: i64, last_activity_ms: i64) -> Self {
        let idle = now_ms.saturating_sub(last_activity_ms);
        if idle <= ACTIVE_WITHIN_MS {
            Activity::Active
        } else if idle <= RECENT_WITHIN_MS {
            Activity::Recent
        } else {
            Activity::Inactive
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Activity::Active => "active",
            Activity::Recent => "recent",
            Activity::Inactive => "inactive",
        }
    }
}

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
    /// `planner` or `implementer`.
    pub role: String,
    /// The seed's `status` column (`connected`, ...).
    pub status: String,
    pub last_activity_ms: i64,
    /// The task this agent most recently reported on, if any.
    pub current_task: Option<String>,
    pub lock_count: usize,
    /// Where it works, when whoever started it said so (`ccmulti team`).
    pub workspace: Option<AgentWorkspace>,
}

/// Where an agent works: its git worktree and the branch checked out there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentWorkspace {
    /// The worktree's path, as given.
    pub worktree: String,
    /// `None` for a detached HEAD or when not known.
    pub branch: Option<String>,
}

impl AgentWorkspace {
    /// What a narrow column shows: the branch, else the worktree's last component.
    pub fn short_name(&self) -> &str {
        match &self.branch {
            Some(branch) => branch,
            None => self
                .worktree
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or(&self.worktree),
        }
    }
}

/// What a lock or a waiting claim is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockOperation {
    Read,
    Write,
    Delete,
}

impl LockOperation {
    pub fn as_str(self) -> &'static str {
        match self {
            LockOperation::Read => "read",
            LockOperation::Write => "write",
            LockOperation::Delete => "delete",
        }
    }
}

/// A claim waiting for its paths (`claim_file_lock` with `wait_seconds`).
#[derive(Debug, Clone, PartialEq)]
pub struct WaiterRow {
    pub session_id: String,
    pub agent_id: String,
    pub operation: LockOperation,
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
    /// `read`, `write` or `delete`.
    pub operation: String,
    pub expires_at_ms: i64,
    pub fencing_token: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    pub session_id: String,
    pub agent_id: String,
    pub task_id: String,
    /// `planned`, `started`, `in_progress`, `completed`, `failed`, `blocked` or `paused`.
    pub status: String,
    pub progress_percentage: Option<u8>,
    pub message: Option<String>,
    pub updated_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub id: i64,
    pub session_id: Option<String>,
    pub at_ms: i64,
    /// `granted`, `renewed`, `released`, `expired`, `conflict`, `forced_release`, `blocked_client`.
    pub kind: String,
    pub agent_id: Option<String>,
    pub path: Option<String>,
    pub detail: Option<String>,
}

/// What a key press asks the data side to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Release one lock by hand; recorded as a forced release by `dashboard`.
    ReleaseLock {
        lock_id: String,
        session_id: String,
        path: String,
        holder: String,
    },
    Quit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_follows_the_seed_thresholds() {
        let now = 1_000_000_000;
        assert_eq!(Activity::classify(now, now), Activity::Active);
        assert_eq!(
            Activity::classify(now, now - ACTIVE_WITHIN_MS),
            Activity::Active
        );
        assert_eq!(
            Activity::classify(now, now - ACTIVE_WITHIN_MS - 1),
            Activity::Recent
        );
        assert_eq!(
            Activity::classify(now, now - RECENT_WITHIN_MS - 1),
            Activity::Inactive
        );
        // A clock step backwards must not make an agent look older than it is.
        assert_eq!(Activity::classify(now, now + 5_000), Activity::Active);
    }
}
