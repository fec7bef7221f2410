//! An agent's readiness, and forgetting a whole session (`lifecycle` in the store).

use rusqlite::{Connection, params};

use super::locks::{LOCK_COLUMNS, collect_held, held_from_row};
use super::{Result, SqliteStore, time};
use crate::rules::locks::HeldLock;
use crate::rules::virtual_user::VirtualUser;
use crate::store::lifecycle::{ForgetOutcome, Forgotten, READY};

/// The tables holding a session's rows whose count [`Forgotten`] does not report.
const UNCOUNTED: [&str; 4] = [
    "lock_waiters",
    "agent_news_cursors",
    "task_analyses",
    "file_locks",
];

/// Deletes the session's rows of `table`; how many.
fn delete(tx: &Connection, table: &str, session: &str) -> Result<u64> {
    let sql = format!("DELETE FROM {table} WHERE session_id = ?1");
    Ok(tx.prepare_cached(&sql)?.execute([session])? as u64)
}

fn live_locks(tx: &Connection, session: &str, now: &str) -> Result<Vec<HeldLock>> {
    let sql = format!(
        "SELECT {LOCK_COLUMNS} FROM file_locks
         WHERE session_id = ?1 AND expires_at > ?2 ORDER BY file_path, agent_id"
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    collect_held(stmt.query_map(params![session, now], held_from_row)?)
}

impl SqliteStore {
    /// The agent's client has listed its tools: status `ready`. An agent
    /// not registered (yet, or any more) is left alone.
    pub fn note_tools_listed(&self, user: &VirtualUser) -> Result<()> {
        let Some(sa) = &user.session else {
            return Ok(());
        };
        self.write(|tx| {
            tx.prepare_cached(
                "UPDATE claude_code_agents SET status = ?3 WHERE session_id = ?1 AND id = ?2",
            )?
            .execute(params![sa.session_id, sa.agent_id, READY])?;
            Ok(())
        })
    }

    /// Removes the session and every row of it, in one transaction, unless
    /// it holds live locks (then nothing is removed, and they are named).
    pub fn forget_session(&self, session: &str) -> Result<ForgetOutcome> {
        let now = time::to_text(self.now_ms());
        self.write(|tx| {
            let known: bool = tx
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM claude_code_sessions WHERE id = ?1)")?
                .query_row([session], |r| r.get(0))?;
            if !known {
                return Ok(ForgetOutcome::Unknown);
            }
            let held = live_locks(tx, session, &now)?;
            if !held.is_empty() {
                return Ok(ForgetOutcome::HeldLocks(held));
            }
            for table in UNCOUNTED {
                delete(tx, table, session)?;
            }
            let forgotten = Forgotten {
                events: delete(tx, "coordination_events", session)?,
                tasks: delete(tx, "task_progress", session)?,
                agents: delete(tx, "claude_code_agents", session)?,
            };
            tx.prepare_cached("DELETE FROM claude_code_sessions WHERE id = ?1")?
                .execute([session])?;
            Ok(ForgetOutcome::Forgotten(forgotten))
        })
    }
}
