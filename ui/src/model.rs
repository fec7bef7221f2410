//! The dashboard's data: the coordinator's snapshot types (the model crate)
//! and what a key press asks the data side to do.

pub use ccmulti_model::snapshot::{
    AgentRow, EventRow, LockRow, SessionRow, Snapshot, TaskRow, WaiterRow,
};
pub use ccmulti_model::{ACTIVE_WITHIN_MS, RECENT_WITHIN_MS};
pub use ccmulti_model::{
    Activity, AgentWorkspace, BranchLanding, EventKind, LandingState, Operation, PathVersion,
    PendingHandOver, Role, TaskStatus,
};

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
