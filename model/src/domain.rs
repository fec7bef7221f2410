//! The words the tools and the store share: lock operations and task statuses.

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
    pub const ACCEPTED: &'static str = "read, write or delete";

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
    pub const ACCEPTED: &'static str = "started, in_progress, completed, failed, blocked or paused";

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
}
