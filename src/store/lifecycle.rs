//! An agent's life as the store records it, and a session's end.
//!
//! An agent's `status` (the seed's free-text column) says how far its client
//! has come since whoever starts agents (`ccmulti team`) last started it:
//! [`STARTING`] (placed there, it has not called since), [`CONNECTED`] (it
//! has called), [`READY`] (its client has listed its tools, so its next turn
//! can call them). A launcher waits for [`READY`] before it gives the agent
//! its first prompt.

use crate::rules::locks::HeldLock;

/// Placed by whoever starts it; it has not called since.
pub const STARTING: &str = "starting";
/// It has called the coordinator.
pub const CONNECTED: &str = "connected";
/// Its client has listed its tools since it was started.
pub const READY: &str = "ready";

/// What forgetting a session removed, row counts by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Forgotten {
    pub agents: u64,
    pub tasks: u64,
    pub events: u64,
}

/// The answer to forgetting a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForgetOutcome {
    /// The session and everything of it are gone.
    Forgotten(Forgotten),
    /// Nothing was removed: these live locks are still held in it.
    HeldLocks(Vec<HeldLock>),
    /// There is no such session.
    Unknown,
}
