//! An agent's readiness, and forgetting a whole session (decided in
//! `rules::lifetimes`, run by `store/forget.rs` over this backend's SQL).

use rusqlite::params;

use super::locks::Locks;
use super::{Result, SqliteStore};
use crate::rules::lifetimes::{ForgetOutcome, READY};
use crate::store::forget::{self, SessionTx};
use crate::store::lock_steps::at_once;
use ccmulti_model::VirtualUser;

impl SessionTx for Locks<'_> {
    async fn session_known(&mut self, session: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM claude_code_sessions WHERE id = ?1)")?
            .query_row([session], |r| r.get(0))?)
    }

    async fn delete_of_session(&mut self, table: &'static str, session: &str) -> Result<u64> {
        let sql = format!("DELETE FROM {table} WHERE session_id = ?1");
        Ok(self.conn.prepare_cached(&sql)?.execute([session])? as u64)
    }

    async fn delete_session(&mut self, session: &str) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM claude_code_sessions WHERE id = ?1")?
            .execute([session])?;
        Ok(())
    }
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
        let now = self.now_ms();
        self.write(|tx| at_once(forget::run(&mut Locks { conn: tx }, session, now)))
    }
}
