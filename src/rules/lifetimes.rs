//! An agent's life as the store records it, and a session's end.
//!
//! An agent's `status` (the seed's free-text column) says how far its client
//! has come since whoever starts agents (`ccmulti team`) last started it:
//! [`STARTING`] (placed there, it has not called since), [`CONNECTED`] (it
//! has called), [`READY`] (its client has listed its tools, so its next turn
//! can call them). A launcher waits for [`READY`] before it gives the agent
//! its first prompt.
//!
//! A session is forgotten whole (its agents, locks, tasks, events, analyses,
//! waiting claims and news cursors) or not at all: [`forget`] decides from
//! the session's locks as a store read them in its transaction.

use ccmulti_model::snapshot::LockRow;

use super::locks::is_live;
use crate::clock::Millis;

/// Placed by whoever starts it; it has not called since.
pub const STARTING: &str = "starting";
/// It has called the coordinator.
pub const CONNECTED: &str = "connected";
/// Its client has listed its tools since it was started.
pub const READY: &str = "ready";

/// How long after its client listed the tools Claude Code is given to take
/// them in before a prompt may count on them (it took up to 0.8 s on a
/// loaded two-core machine): `team` types the first prompt no sooner, and
/// the news hook holds a first prompt as long.
pub const TOOLS_TAKEN_IN: std::time::Duration = std::time::Duration::from_millis(1500);

/// Whether an agent whose status is `status` has listed its tools since it
/// was started: its next model request offers them.
pub fn has_listed_tools(status: &str) -> bool {
    status == READY
}

/// What forgetting a session removed, row counts by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Forgotten {
    pub agents: u64,
    pub tasks: u64,
    pub events: u64,
}

/// The answer to forgetting a session.
#[derive(Debug, Clone, PartialEq)]
pub enum ForgetOutcome {
    /// The session and everything of it are gone.
    Forgotten(Forgotten),
    /// Nothing was removed: these live locks are still held in it.
    HeldLocks(Vec<LockRow>),
    /// There is no such session.
    Unknown,
}

/// What to do with a session asked to be forgotten.
#[derive(Debug, Clone, PartialEq)]
pub enum Forget {
    /// There is no such session: nothing to remove.
    Unknown,
    /// It holds these live locks: an agent may still be writing under one,
    /// so nothing is removed (a person releases them first, by force).
    Held(Vec<LockRow>),
    /// Remove every row of it, its expired locks with the rest.
    Remove,
}

/// Whether the session (`known`: it has a row) may be forgotten at `now`,
/// given its locks, expired ones included.
pub fn forget(known: bool, locks: &[LockRow], now: Millis) -> Forget {
    if !known {
        return Forget::Unknown;
    }
    let mut live: Vec<LockRow> = locks.iter().filter(|l| is_live(l, now)).cloned().collect();
    if live.is_empty() {
        return Forget::Remove;
    }
    live.sort_by(|a, b| (&a.path, &a.agent_id).cmp(&(&b.path, &b.agent_id)));
    Forget::Held(live)
}

#[cfg(test)]
mod tests {
    use ccmulti_model::Operation;
    use ccmulti_model::snapshot::LockRow;

    use super::{Forget, forget};

    fn lock(path: &str, expires_at_ms: i64) -> LockRow {
        LockRow {
            lock_id: path.into(),
            session_id: "s".into(),
            agent_id: "a".into(),
            path: path.into(),
            operation: Operation::Write,
            expires_at_ms,
            fencing_token: 1,
            yields_at_ms: None,
        }
    }

    #[test]
    fn a_session_is_forgotten_unless_unknown_or_holding_a_live_lock() {
        assert_eq!(forget(false, &[], 10), Forget::Unknown);
        assert_eq!(forget(true, &[], 10), Forget::Remove);
        // Expired at 10 or before: they go with the session.
        assert_eq!(
            forget(true, &[lock("x", 5), lock("y", 10)], 10),
            Forget::Remove
        );
        assert_eq!(
            forget(true, &[lock("z", 11), lock("x", 5), lock("b", 20)], 10),
            Forget::Held(vec![lock("b", 20), lock("z", 11)])
        );
    }
}
