//! An agent's readiness, and forgetting a whole session: as SQLite's
//! (`store/sqlite/lifecycle.rs`), the forgetting under the session's lock
//! (taken as its locks are read).

use super::locks::Locks;
use super::{PostgresStore, Result};
use crate::rules::lifetimes::{ForgetOutcome, READY};
use crate::store::forget::{self, SessionTx};
use ccmulti_model::VirtualUser;

impl SessionTx for Locks<'_, '_> {
    async fn session_known(&mut self, session: &str) -> Result<bool> {
        let stmt = self
            .tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM claude_code_sessions WHERE id = $1)")
            .await?;
        Ok(self.tx.query_one(&stmt, &[&session]).await?.try_get(0)?)
    }

    async fn delete_of_session(&mut self, table: &'static str, session: &str) -> Result<u64> {
        let stmt = self
            .tx
            .prepare_cached(&format!("DELETE FROM {table} WHERE session_id = $1"))
            .await?;
        Ok(self.tx.execute(&stmt, &[&session]).await?)
    }

    async fn delete_session(&mut self, session: &str) -> Result<()> {
        let stmt = self
            .tx
            .prepare_cached("DELETE FROM claude_code_sessions WHERE id = $1")
            .await?;
        self.tx.execute(&stmt, &[&session]).await?;
        Ok(())
    }
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

    /// As SQLite's; a refusal writes nothing and is rolled back as dropped.
    pub(super) async fn forget_session(&self, session: &str) -> Result<ForgetOutcome> {
        let now = self.now_ms();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let outcome = forget::run(&mut Locks { tx: &tx }, session, now).await?;
        if matches!(outcome, ForgetOutcome::Forgotten(_)) {
            self.commit_written(tx).await?;
        }
        Ok(outcome)
    }
}
