//! What the store says about itself: its size ([`Counts`]) and its health
//! ([`Verification`]). The coordination words it speaks are the rules' and
//! the model's.

/// How many of the newest events the audit trail keeps unless told otherwise
/// (`ccmulti serve --keep-events`): days of a busy session's history, tens
/// of megabytes on disk at about 160 bytes an event (BENCHMARKS.md, "Soak").
pub const DEFAULT_EVENTS_KEPT: u64 = 200_000;

#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Counts {
    pub sessions: i64,
    pub agents: i64,
    pub active_locks: i64,
    pub tasks: i64,
    pub events: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// What the backend's own name for its engine is, e.g. `sqlite`.
    pub backend: &'static str,
    pub user_version: i64,
    /// The newest schema version this build knows.
    pub expected_version: i64,
    /// (table, present)
    pub tables: Vec<(String, bool)>,
    /// (index, table)
    pub indexes: Vec<(String, String)>,
    pub integrity: String,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.user_version == self.expected_version
            && self.tables.iter().all(|(_, present)| *present)
            && self.integrity == "ok"
    }
}
