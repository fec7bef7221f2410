//! Registration limits and clock steps on the shared database.

use std::sync::PoisonError;

use deadpool_postgres::Transaction;

use super::{PostgresStore, Result, lock_sessions};
use crate::clock::Millis;
use crate::rules::limits::{Limit, Limits, admit_one_more};
use crate::rules::locks::steps::PullBack;
use ccmulti_model::SessionAgent;

/// Refuses a new session beyond the user's limit. The user's own advisory
/// key (the two-key form, which never meets the sessions' one-key locks)
/// serialises two coordinators counting the same user's sessions at once.
/// What is counted is the user's *other* sessions: a request racing this one
/// into the same new session may have created it while this one waited for
/// the lock, and joining it is not one session more.
pub(super) async fn admit_session(
    tx: &Transaction<'_>,
    sa: &SessionAgent,
    user_id: &str,
    limits: &Limits,
) -> Result<()> {
    let known = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM claude_code_sessions WHERE id = $1)")
        .await?;
    if tx.query_one(&known, &[&sa.session_id]).await?.try_get(0)? {
        return Ok(());
    }
    let lock = tx
        .prepare_cached("SELECT pg_advisory_xact_lock(1, hashtext($1))")
        .await?;
    tx.execute(&lock, &[&user_id]).await?;
    let count = tx
        .prepare_cached("SELECT COUNT(*) FROM claude_code_sessions WHERE user_id = $1 AND id <> $2")
        .await?;
    let sessions: i64 = tx
        .query_one(&count, &[&user_id, &sa.session_id])
        .await?
        .try_get(0)?;
    admit_one_more(Limit::SessionsPerUser, limits, sessions.max(0) as u64)?;
    Ok(())
}

/// Refuses a new agent in a session that has as many as allowed; a known
/// agent is always let in. Counted under the session's lock, and, as for
/// sessions, only the *other* agents: the same agent's racing first request
/// may have registered it meanwhile.
pub(super) async fn admit_agent(
    tx: &Transaction<'_>,
    sa: &SessionAgent,
    limits: &Limits,
) -> Result<()> {
    let known = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM claude_code_agents WHERE session_id = $1 AND id = $2)",
        )
        .await?;
    if tx
        .query_one(&known, &[&sa.session_id, &sa.agent_id])
        .await?
        .try_get(0)?
    {
        return Ok(());
    }
    lock_sessions(tx, &[sa.session_id.as_str()]).await?;
    let count = tx
        .prepare_cached(
            "SELECT COUNT(*) FROM claude_code_agents WHERE session_id = $1 AND id <> $2",
        )
        .await?;
    let agents: i64 = tx
        .query_one(&count, &[&sa.session_id, &sa.agent_id])
        .await?
        .try_get(0)?;
    admit_one_more(Limit::AgentsPerSession, limits, agents.max(0) as u64)?;
    Ok(())
}

impl PostgresStore {
    pub(super) fn limits(&self) -> Limits {
        *self
            .inner
            .limits
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn set_limits(&self, limits: Limits) {
        *self
            .inner
            .limits
            .write()
            .unwrap_or_else(PoisonError::into_inner) = limits;
    }

    /// Pulls leases back as [`PullBack`] decides. The service passes 0 on
    /// a database shared across machines, where only the longest-grant cap
    /// applies (`rules::clock_step::pull_back_by`).
    pub(super) async fn pull_leases_back(&self, back_by: Millis) -> Result<usize> {
        self.lock_step(&PullBack { back_by }).await
    }
}
