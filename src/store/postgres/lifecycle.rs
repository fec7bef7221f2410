//! An agent's readiness, and forgetting a whole session: as SQLite's
//! (`store/sqlite/lifecycle.rs`), the forgetting under the session's lock.

use deadpool_postgres::Transaction;

use super::locks::{LOCK_COLUMNS, held};
use super::{PostgresStore, Result, lock_sessions, ts};
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
async fn delete(tx: &Transaction<'_>, table: &str, session: &str) -> Result<u64> {
    let stmt = tx
        .prepare_cached(&format!("DELETE FROM {table} WHERE session_id = $1"))
        .await?;
    Ok(tx.execute(&stmt, &[&session]).await?)
}

async fn live_locks(
    tx: &Transaction<'_>,
    session: &str,
    now: crate::clock::Millis,
) -> Result<Vec<HeldLock>> {
    let stmt = tx
        .prepare_cached(&format!(
            "SELECT {LOCK_COLUMNS} FROM file_locks
             WHERE session_id = $1 AND expires_at > $2 ORDER BY file_path, agent_id"
        ))
        .await?;
    tx.query(&stmt, &[&session, &ts(now)])
        .await?
        .iter()
        .map(|row| Ok(held(row)?.1))
        .collect()
}

impl PostgresStore {
    pub(super) async fn note_tools_listed(&self, user: &VirtualUser) -> Result<()> {
        let Some(sa) = &user.session else {
            return Ok(());
        };
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let stmt = tx
            .prepare_cached(
                "UPDATE claude_code_agents SET status = $3 WHERE session_id = $1 AND id = $2",
            )
            .await?;
        tx.execute(&stmt, &[&sa.session_id, &sa.agent_id, &READY])
            .await?;
        self.commit_written(tx).await
    }

    pub(super) async fn forget_session(&self, session: &str) -> Result<ForgetOutcome> {
        let now = self.now_ms();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        lock_sessions(&tx, &[session]).await?;
        let known = tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM claude_code_sessions WHERE id = $1)")
            .await?;
        let known: bool = tx.query_one(&known, &[&session]).await?.try_get(0)?;
        if !known {
            return Ok(ForgetOutcome::Unknown);
        }
        let held = live_locks(&tx, session, now).await?;
        if !held.is_empty() {
            return Ok(ForgetOutcome::HeldLocks(held));
        }
        for table in UNCOUNTED {
            delete(&tx, table, session).await?;
        }
        let forgotten = Forgotten {
            events: delete(&tx, "coordination_events", session).await?,
            tasks: delete(&tx, "task_progress", session).await?,
            agents: delete(&tx, "claude_code_agents", session).await?,
        };
        let stmt = tx
            .prepare_cached("DELETE FROM claude_code_sessions WHERE id = $1")
            .await?;
        tx.execute(&stmt, &[&session]).await?;
        self.commit_written(tx).await?;
        Ok(ForgetOutcome::Forgotten(forgotten))
    }
}
