//! The words the tools and the store share: lock operations, task statuses,
//! roles, activity, event kinds, where an agent works, a planned task.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `write` and `delete` are exclusive; `read` is shared among readers.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Read,
    #[default]
    Write,
    Delete,
}

impl Operation {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            "delete" => Some(Self::Delete),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Delete => "delete",
        }
    }

    pub fn is_shared(self) -> bool {
        self == Self::Read
    }
}

/// A task's state: the seed's statuses plus `paused` (an agent waiting on a
/// lock) and `planned` (assigned by the planner, not yet started).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Planned,
    Started,
    InProgress,
    Completed,
    Failed,
    Blocked,
    Paused,
}

impl TaskStatus {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "planned" => Some(Self::Planned),
            other => ReportedStatus::parse(other).map(Self::from),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Started => "started",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Blocked => "blocked",
            Self::Paused => "paused",
        }
    }
}

/// What an agent may report through `sync_progress`: every status but `planned`,
/// which only the planner writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportedStatus {
    Started,
    InProgress,
    Completed,
    Failed,
    Blocked,
    Paused,
}

impl ReportedStatus {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "started" => Some(Self::Started),
            "in_progress" => Some(Self::InProgress),
            "completed" => Some(Self::Completed),
            "failed" => Some(Self::Failed),
            "blocked" => Some(Self::Blocked),
            "paused" => Some(Self::Paused),
            _ => None,
        }
    }
}

impl From<ReportedStatus> for TaskStatus {
    fn from(s: ReportedStatus) -> Self {
        match s {
            ReportedStatus::Started => Self::Started,
            ReportedStatus::InProgress => Self::InProgress,
            ReportedStatus::Completed => Self::Completed,
            ReportedStatus::Failed => Self::Failed,
            ReportedStatus::Blocked => Self::Blocked,
            ReportedStatus::Paused => Self::Paused,
        }
    }
}

/// An agent is "active" if it called within this many milliseconds (the seed's 2 minutes).
pub const ACTIVE_WITHIN_MS: i64 = 2 * 60 * 1000;
/// An agent is "recent" if it called within this many milliseconds (the seed's 10 minutes).
pub const RECENT_WITHIN_MS: i64 = 10 * 60 * 1000;

/// How recently an agent was heard from, as the seed defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
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

/// The agent named `planner` plans; every other agent implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Planner,
    Implementer,
}

impl Role {
    pub const PLANNER_ID: &'static str = "planner";

    pub fn of_agent(agent_id: &str) -> Self {
        if agent_id == Self::PLANNER_ID {
            Self::Planner
        } else {
            Self::Implementer
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planner => "planner",
            Self::Implementer => "implementer",
        }
    }
}

/// What the audit trail records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Granted,
    Renewed,
    Released,
    Expired,
    Conflict,
    ForcedRelease,
    BlockedClient,
}

impl EventKind {
    pub const ALL: [Self; 7] = [
        Self::Granted,
        Self::Renewed,
        Self::Released,
        Self::Expired,
        Self::Conflict,
        Self::ForcedRelease,
        Self::BlockedClient,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Granted => "granted",
            Self::Renewed => "renewed",
            Self::Released => "released",
            Self::Expired => "expired",
            Self::Conflict => "conflict",
            Self::ForcedRelease => "forced_release",
            Self::BlockedClient => "blocked_client",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// Where an agent works: its git worktree, the branch checked out there, and
/// the machine (the same path on two machines is two clones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AgentWorkspace {
    /// The worktree's path, as given.
    pub worktree: String,
    /// `None` for a detached HEAD or when not known.
    pub branch: Option<String>,
    /// The machine's name; `None` when whoever recorded it did not say.
    #[serde(default)]
    pub host: Option<String>,
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

/// One task the planner hands to one agent, recorded as a `planned` task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTask {
    pub agent_id: String,
    pub task_id: String,
    pub description: String,
    pub files: Vec<String>,
}

/// One recorded version of a path, between agents in worktrees of their own:
/// where its latest content is. Per path, the newest is the latest version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathVersion {
    pub id: i64,
    pub session_id: String,
    /// The lock path of the file, relative to the project root.
    pub path: String,
    /// Who changed it.
    pub agent_id: String,
    /// Where that agent worked.
    pub workspace: AgentWorkspace,
    /// The commit that holds it; `None` when the agent's lock ended (forced,
    /// expired) with its changes left uncommitted and none of them committed.
    pub commit: Option<String>,
    /// The file's git blob in that commit; `None` when the commit deleted it.
    pub blob: Option<String>,
    /// The lock ended with changes to the file not committed.
    pub left_uncommitted: bool,
    pub recorded_at_ms: i64,
}

/// How many hex digits of a commit id a person reads.
pub const SHORT_COMMIT_ID: usize = 10;

impl PathVersion {
    /// Where it is, as a person reads it: its commit and branch, or the
    /// worktree its changes were left uncommitted in.
    pub fn origin(&self) -> String {
        match self.short_commit() {
            Some(commit) => format!(
                "commit {commit} on {}",
                self.workspace
                    .branch
                    .as_deref()
                    .unwrap_or("a detached HEAD")
            ),
            None => format!("uncommitted in {}", self.workspace.worktree),
        }
    }

    /// Its commit as a person reads it.
    pub fn short_commit(&self) -> Option<&str> {
        self.commit
            .as_deref()
            .map(|c| c.get(..SHORT_COMMIT_ID).unwrap_or(c))
    }

    /// The command that brings this version into a worktree of the same
    /// repository; `None` when it is in no commit.
    pub fn merge_command(&self) -> Option<String> {
        self.commit.as_deref().map(merge_command)
    }
}

/// The command that merges `commit` into the current branch.
pub fn merge_command(commit: &str) -> String {
    format!("git merge --no-edit {commit}")
}

/// A version a grant told the lock's holder to bring in, not brought in yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingHandOver {
    pub lock_id: String,
    /// The holder of the lock.
    pub agent_id: String,
    pub version: PathVersion,
}

/// Each word prints as the tools spell it (and pads, for tables).
macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }
    )*};
}

display_as_str!(Operation, TaskStatus, Activity, Role, EventKind);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_back_what_they_write() {
        for s in [
            "planned",
            "started",
            "in_progress",
            "completed",
            "failed",
            "blocked",
            "paused",
        ] {
            let status = TaskStatus::parse(s).expect(s);
            assert_eq!(status.as_str(), s);
            assert_eq!(serde_json::to_value(status).unwrap(), s);
        }
        assert_eq!(
            ReportedStatus::parse("planned"),
            None,
            "only the planner plans"
        );
        for s in ["done", "", "COMPLETED"] {
            assert_eq!(TaskStatus::parse(s), None, "{s}");
        }
    }

    #[test]
    fn operations_read_back_what_they_write() {
        for op in [Operation::Read, Operation::Write, Operation::Delete] {
            assert_eq!(Operation::parse(op.as_str()), Some(op));
            assert_eq!(serde_json::to_value(op).unwrap(), op.as_str());
        }
        assert_eq!(Operation::default(), Operation::Write);
    }

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

    #[test]
    fn event_kinds_and_roles_read_back() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert_eq!(EventKind::parse("granted "), None);
        assert_eq!(Role::of_agent("planner"), Role::Planner);
        assert_eq!(Role::of_agent("planner2"), Role::Implementer);
    }
}
