//! `sync_progress(task_id, status, progress_percentage?, message?, affected_files?)`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::{ReportedStatus, TaskStatus};

pub const MAX_TASK_ID_LEN: usize = 200;
pub const MAX_MESSAGE_LEN: usize = 4000;
pub const MAX_AFFECTED_FILES: usize = 500;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressArgs {
    #[schemars(length(min = 1, max = MAX_TASK_ID_LEN))]
    pub task_id: String,
    pub status: ReportedStatus,
    #[serde(default)]
    #[schemars(range(min = 0, max = 100))]
    pub progress_percentage: Option<u8>,
    #[serde(default)]
    #[schemars(length(min = 1, max = MAX_MESSAGE_LEN))]
    pub message: Option<String>,
    #[serde(default)]
    #[schemars(length(max = MAX_AFFECTED_FILES))]
    pub affected_files: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProgressResult {
    pub success: bool,
    pub task_id: String,
    pub status: TaskStatus,
    pub progress_percentage: Option<u8>,
    /// RFC 3339, UTC.
    pub updated_at: String,
}
