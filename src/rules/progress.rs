//! Task progress: the seed's statuses plus `paused` (and `planned`, which only the planner writes).

pub use ccmulti_model::tools::progress::{MAX_AFFECTED_FILES, MAX_MESSAGE_LEN, MAX_TASK_ID_LEN};
pub use ccmulti_model::{ReportedStatus, TaskStatus};
