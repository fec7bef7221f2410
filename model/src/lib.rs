#![forbid(unsafe_code)]
//! ccmulti's plain types: the domain (lock operations, task statuses, roles,
//! activity, events), the snapshot the dashboard draws, and the coordination
//! tools' arguments and results. Nothing here does I/O; the
//! coordinator, its hooks and its dashboard all speak these types.
//!
//! Each tool's name, argument type and result type are written once, here
//! ([`tools::Tool`]), and so is each field: serde reads and writes them, and
//! the tool's input and output JSON Schemas are generated from the same
//! structs ([`schema::input_schema`], [`schema::output_schema`]). Who calls,
//! the virtual user of the URL, is written and read here too
//! ([`VirtualUser`], [`agent_url`]).

mod domain;
mod landing;
pub mod schema;
pub mod snapshot;
pub mod tools;
mod virtual_user;

pub use domain::{
    ACTIVE_WITHIN_MS, Activity, AgentWorkspace, EventKind, Operation, PathVersion, PendingHandOver,
    PlannedTask, RECENT_WITHIN_MS, ReportedStatus, Role, SHORT_COMMIT_ID, TaskStatus,
    merge_command,
};
pub use landing::{BranchLanding, LandingState};
pub use virtual_user::{
    MAX_PART_LEN, PLANNER, SessionAgent, VirtualUser, VirtualUserError, agent_url, check_part,
};
