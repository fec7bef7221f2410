//! Task progress: the seed's statuses plus `paused` (and `planned`, which only the planner writes).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// What an agent may report through `sync_progress`.
    pub const REPORTABLE: &'static str =
        "started, in_progress, completed, failed, blocked or paused";

    pub fn parse_reported(raw: &str) -> Option<Self> {
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

pub const MAX_TASK_ID_LEN: usize = 200;
pub const MAX_MESSAGE_LEN: usize = 4000;
pub const MAX_AFFECTED_FILES: usize = 500;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_reportable_statuses_parse() {
        for s in [
            "started",
            "in_progress",
            "completed",
            "failed",
            "blocked",
            "paused",
        ] {
            assert_eq!(
                TaskStatus::parse_reported(s).map(TaskStatus::as_str),
                Some(s)
            );
        }
        for s in ["done", "planned", "", "COMPLETED"] {
            assert_eq!(TaskStatus::parse_reported(s), None, "{s}");
        }
    }
}
