#![forbid(unsafe_code)]
//! ccmulti's plain types: the domain (lock operations, task statuses, roles,
//! activity, events), the snapshot the dashboard draws, and the coordination
//! tools' arguments and results. Nothing here does I/O; the
//! coordinator, its hooks and its dashboard all speak these types.
//!
//! Each tool's fields are named once, here: serde reads and writes them, and
//! the tool's input and output JSON Schemas are generated from the same
//! structs ([`schema::input_schema`], [`schema::output_schema`]).

mod domain;
pub mod schema;
pub mod snapshot;
pub mod tools;

pub use domain::{
    ACTIVE_WITHIN_MS, Activity, AgentWorkspace, EventKind, Operation, PlannedTask,
    RECENT_WITHIN_MS, ReportedStatus, Role, TaskStatus,
};
