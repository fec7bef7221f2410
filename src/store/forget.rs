//! Forgetting a session inside one backend transaction, the same for every
//! backend: read the session's locks (a backend that serialises per session
//! takes its lock there), take the decision ([`crate::rules::lifetimes::forget`])
//! and, if it is to go, delete every row of it. A backend supplies the reads
//! and deletes in its own SQL ([`SessionTx`]) and draws the transaction around
//! [`run`].

use super::Result;
use super::lock_steps::LockTx;
use crate::clock::Millis;
use crate::rules::lifetimes::{Forget, ForgetOutcome, Forgotten, forget};
use crate::rules::locks::steps::LockRows;

/// The tables holding a session's rows (by `session_id`) whose count
/// [`Forgotten`] does not report; deleted before the counted ones.
const UNCOUNTED: [&str; 5] = [
    "lock_waiters",
    "agent_news_cursors",
    "task_analyses",
    // A lock's pending hand-overs go with it, and with their version.
    "file_locks",
    "path_versions",
];

/// One backend's session rows inside one of its transactions.
pub(crate) trait SessionTx: LockTx {
    /// Whether the session has its row.
    async fn session_known(&mut self, session: &str) -> Result<bool>;
    /// Deletes the session's rows of `table` (by its `session_id`); how many.
    async fn delete_of_session(&mut self, table: &'static str, session: &str) -> Result<u64>;
    /// Deletes the session's own row.
    async fn delete_session(&mut self, session: &str) -> Result<()>;
}

/// Forgets `session` at `now` in the transaction `tx`, or says why not
/// (then nothing was written).
pub(crate) async fn run(
    tx: &mut impl SessionTx,
    session: &str,
    now: Millis,
) -> Result<ForgetOutcome> {
    let locks = tx.read(LockRows::OfSession { session }).await?;
    let known = tx.session_known(session).await?;
    match forget(known, &locks, now) {
        Forget::Unknown => Ok(ForgetOutcome::Unknown),
        Forget::Held(live) => Ok(ForgetOutcome::HeldLocks(live)),
        Forget::Remove => {
            for table in UNCOUNTED {
                tx.delete_of_session(table, session).await?;
            }
            let forgotten = Forgotten {
                events: tx.delete_of_session("coordination_events", session).await?,
                tasks: tx.delete_of_session("task_progress", session).await?,
                agents: tx.delete_of_session("claude_code_agents", session).await?,
            };
            tx.delete_session(session).await?;
            Ok(ForgetOutcome::Forgotten(forgotten))
        }
    }
}
