//! The writes besides locks: events, the change notice, agents, progress,
//! the planner's analyses and plans, refused clients, waiting-claim rows,
//! and pruning. Each is one transaction that ends with a notice (see
//! `listen.rs`), so other coordinators' dashboards redraw.

use std::collections::{BTreeMap, BTreeSet};

use ccmulti_model::{AgentWorkspace, PlannedTask};
use std::sync::atomic::Ordering;

use deadpool_postgres::Transaction;

use super::{PostgresStore, Result, limits, lock_sessions, read, ts};
use crate::clock::Millis;
use crate::rules::audit::NewEvent;
use crate::rules::limits::Limits;
use crate::rules::locks::steps::ClaimRequest;
use crate::rules::progress::{ProgressUpdate, Replan, replan};
use crate::rules::wait_cycle::{JoinedWaits, closed_by};
use crate::store::{PlacedBy, StoreError};
use ccmulti_model::{SessionAgent, VirtualUser};

/// The notification channel every coordinator listens on.
pub(super) const CHANNEL: &str = "ccmulti_changes";
/// PostgreSQL refuses payloads of 8000 bytes or more; a bigger one says only
/// "anything may have changed".
const PAYLOAD_LIMIT: usize = 7_900;

/// What one committed transaction tells the other coordinators.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub(super) struct Notice {
    /// The writing process (its listener skips its own notices).
    pub origin: String,
    /// Paths freed, by session.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub freed: BTreeMap<String, Vec<String>>,
    /// Too much was freed to list: anything may have been.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overflow: bool,
}

/// Queues the notice for this transaction's commit (NOTIFY is transactional:
/// a rolled back write tells nobody).
pub(super) async fn notify(
    tx: &Transaction<'_>,
    origin: uuid::Uuid,
    freed: &BTreeMap<String, Vec<String>>,
) -> Result<()> {
    let mut notice = Notice {
        origin: origin.to_string(),
        freed: freed.clone(),
        overflow: false,
    };
    let mut payload = to_json(&notice)?;
    if payload.len() > PAYLOAD_LIMIT {
        notice.freed.clear();
        notice.overflow = true;
        payload = to_json(&notice)?;
    }
    let stmt = tx.prepare_cached("SELECT pg_notify($1, $2)").await?;
    tx.execute(&stmt, &[&CHANNEL, &payload]).await?;
    Ok(())
}

fn to_json(notice: &Notice) -> Result<String> {
    serde_json::to_string(notice).map_err(|e| StoreError::Corrupt(format!("notice: {e}")))
}

pub(super) async fn record_event(
    tx: &Transaction<'_>,
    now: Millis,
    e: &NewEvent<'_>,
) -> Result<()> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO coordination_events
               (session_id, at, kind, agent_id, file_path, operation, fencing_token, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &e.session_id,
            &ts(now),
            &e.kind.as_str(),
            &e.agent_id,
            &e.file_path,
            &e.operation_text(),
            &e.fencing_token,
            &e.detail,
        ],
    )
    .await?;
    Ok(())
}

/// Registers the session, owned by `user_id`, if new (within the user's
/// session limit); refuses another user's, and a new agent beyond the
/// session's limit. Two coordinators registering one new session at once:
/// one insert wins, and both read its owner.
async fn own_session(
    tx: &Transaction<'_>,
    sa: &SessionAgent,
    user_id: &str,
    now: Millis,
    limits: &Limits,
) -> Result<()> {
    limits::admit_session(tx, sa, user_id, limits).await?;
    let insert = tx
        .prepare_cached(
            "INSERT INTO claude_code_sessions (id, name, user_id, created_at)
             VALUES ($1, $1, $2, $3) ON CONFLICT (id) DO NOTHING",
        )
        .await?;
    tx.execute(&insert, &[&sa.session_id, &user_id, &ts(now)])
        .await?;
    let owner = tx
        .prepare_cached("SELECT user_id FROM claude_code_sessions WHERE id = $1")
        .await?;
    let owner: String = tx.query_one(&owner, &[&sa.session_id]).await?.try_get(0)?;
    if owner != user_id {
        return Err(StoreError::SessionOwnedByOther {
            session: sa.session_id.clone(),
        });
    }
    limits::admit_agent(tx, sa, limits).await?;
    Ok(())
}

impl PostgresStore {
    /// Commits `tx` after queuing a notice that frees nothing.
    pub(super) async fn commit_written(&self, tx: Transaction<'_>) -> Result<()> {
        notify(&tx, self.inner.origin, &BTreeMap::new()).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn touch_agent(&self, user: &VirtualUser, connection_url: &str) -> Result<()> {
        let Some(sa) = &user.session else {
            return Ok(());
        };
        let now = self.now_ms();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        own_session(&tx, sa, &user.user_id, now, &self.limits()).await?;
        let stmt = tx
            .prepare_cached(
                "INSERT INTO claude_code_agents
                   (id, session_id, name, connection_url, status, last_activity, created_at)
                 VALUES ($1, $2, $1, $3, 'connected', $4, $4)
                 ON CONFLICT (session_id, id) DO UPDATE
                   SET last_activity = excluded.last_activity,
                       connection_url = excluded.connection_url,
                       status = CASE claude_code_agents.status WHEN 'ready' THEN 'ready' ELSE 'connected' END",
            )
            .await?;
        tx.execute(
            &stmt,
            &[&sa.agent_id, &sa.session_id, &connection_url, &ts(now)],
        )
        .await?;
        self.commit_written(tx).await
    }

    /// As SQLite's: registers like `touch_agent`, leaves a known agent's activity alone.
    pub(super) async fn set_agent_workspace(
        &self,
        user: &VirtualUser,
        workspace: &AgentWorkspace,
        by: PlacedBy,
    ) -> Result<()> {
        let Some(sa) = &user.session else {
            return Ok(());
        };
        let now = self.now_ms();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        own_session(&tx, sa, &user.user_id, now, &self.limits()).await?;
        let stmt = tx
            .prepare_cached(
                "INSERT INTO claude_code_agents
                   (id, session_id, name, status, last_activity, created_at, worktree, branch, host)
                 VALUES ($1, $2, $1, CASE WHEN $7 THEN 'starting' ELSE 'connected' END, $3, $3, $4, $5, $6)
                 ON CONFLICT (session_id, id) DO UPDATE
                   SET worktree = excluded.worktree, branch = excluded.branch, host = excluded.host,
                       status = CASE WHEN $7 THEN 'starting' ELSE claude_code_agents.status END",
            )
            .await?;
        tx.execute(
            &stmt,
            &[
                &sa.agent_id,
                &sa.session_id,
                &ts(now),
                &workspace.worktree,
                &workspace.branch,
                &workspace.host,
                &(by == PlacedBy::Launcher),
            ],
        )
        .await?;
        self.commit_written(tx).await
    }

    /// Records progress; stamped under the session's lock, so stamps follow
    /// commit order within the session and an agent's news (which reads up to
    /// its own now under the same lock) never skips an update.
    pub(super) async fn sync_progress(
        &self,
        session: &str,
        agent: &str,
        update: &ProgressUpdate,
    ) -> Result<Millis> {
        let files = update
            .affected_files
            .as_ref()
            .map(|f| serde_json::Value::from(f.clone()));
        let pct = update.stored_percentage().map(i32::from);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        lock_sessions(&tx, &[session]).await?;
        let now = self.now_ms();
        let stmt = tx
            .prepare_cached(
                "INSERT INTO task_progress AS t
                   (session_id, agent_id, task_id, status, progress_percentage, message, affected_files, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
                 ON CONFLICT (session_id, agent_id, task_id) DO UPDATE SET
                   status = excluded.status,
                   progress_percentage = COALESCE(excluded.progress_percentage, t.progress_percentage),
                   message = COALESCE(excluded.message, t.message),
                   affected_files = COALESCE(excluded.affected_files, t.affected_files),
                   updated_at = excluded.updated_at",
            )
            .await?;
        tx.execute(
            &stmt,
            &[
                &session,
                &agent,
                &update.task_id,
                &update.status.as_str(),
                &pct,
                &update.message,
                &files,
                &ts(now),
            ],
        )
        .await?;
        self.commit_written(tx).await?;
        Ok(now)
    }

    pub(super) async fn save_analysis(&self, session: &str, id: &str, body: &str) -> Result<()> {
        let body: serde_json::Value = serde_json::from_str(body)
            .map_err(|e| StoreError::Corrupt(format!("analysis {id}: {e}")))?;
        let now = self.now_ms();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let stmt = tx
            .prepare_cached(
                "INSERT INTO task_analyses (id, session_id, created_at, body) VALUES ($1, $2, $3, $4)",
            )
            .await?;
        tx.execute(&stmt, &[&id, &session, &ts(now), &body]).await?;
        self.commit_written(tx).await
    }

    pub(super) async fn load_analysis(&self, session: &str, id: &str) -> Result<Option<String>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT body::text FROM task_analyses WHERE id = $1 AND session_id = $2",
            )
            .await?;
        Ok(match client.query_opt(&stmt, &[&id, &session]).await? {
            Some(row) => Some(row.try_get(0)?),
            None => None,
        })
    }

    /// As SQLite's: written as [`replan`] says; the ids of the tasks kept
    /// with the agent that started them are returned.
    pub(super) async fn record_plan(
        &self,
        session: &str,
        tasks: &[PlannedTask],
    ) -> Result<Vec<String>> {
        let now = self.now_ms();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        lock_sessions(&tx, &[session]).await?;
        let stored = tx
            .prepare_cached(
                "SELECT DISTINCT task_id, status = 'planned' FROM task_progress WHERE session_id = $1",
            )
            .await?;
        let unplan = tx
            .prepare_cached(
                "DELETE FROM task_progress WHERE session_id = $1 AND task_id = $2 AND status = 'planned'",
            )
            .await?;
        let plan = tx
            .prepare_cached(
                "INSERT INTO task_progress
                   (session_id, agent_id, task_id, status, progress_percentage, message, affected_files, created_at, updated_at)
                 VALUES ($1, $2, $3, 'planned', 0, $4, $5, $6, $6)
                 ON CONFLICT (session_id, agent_id, task_id) DO NOTHING",
            )
            .await?;
        let (mut planned, mut started) = (BTreeSet::new(), BTreeSet::new());
        for row in tx.query(&stored, &[&session]).await? {
            let task_id: String = row.try_get(0)?;
            if row.try_get::<_, bool>(1)? {
                planned.insert(task_id);
            } else {
                started.insert(task_id);
            }
        }
        let Replan {
            unplan: unplanned,
            to_plan,
            kept,
        } = replan(tasks, &planned, &started);
        for task_id in &unplanned {
            tx.execute(&unplan, &[&session, task_id]).await?;
        }
        for task in to_plan {
            let files = serde_json::Value::from(task.files.clone());
            tx.execute(
                &plan,
                &[
                    &session,
                    &task.agent_id,
                    &task.task_id,
                    &task.description,
                    &files,
                    &ts(now),
                ],
            )
            .await?;
        }
        self.commit_written(tx).await?;
        Ok(kept)
    }

    pub(super) async fn record_waiter(
        &self,
        request: &ClaimRequest,
        deadline_ms: Millis,
    ) -> Result<JoinedWaits> {
        let paths = serde_json::to_value(&request.paths)
            .map_err(|e| StoreError::Corrupt(format!("waiter paths: {e}")))?;
        let now = self.now_ms();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Under the session's lock, as every wait of the session is written:
        // of two waits closing one cycle, the later sees the earlier's row.
        lock_sessions(&tx, &[&request.session]).await?;
        let locks = read::locks(&tx, Some(&request.session), now).await?;
        let waiting = read::waiters(&tx, now, &locks).await?;
        if let Some(cycle) = closed_by(request, &waiting, &locks) {
            return Ok(JoinedWaits::WouldCycle(cycle));
        }
        let stmt = tx
            .prepare_cached(
                "INSERT INTO lock_waiters (session_id, agent_id, operation, file_paths, since, deadline)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .await?;
        let id: i64 = tx
            .query_one(
                &stmt,
                &[
                    &request.session,
                    &request.agent,
                    &request.operation.as_str(),
                    &paths,
                    &ts(now),
                    &ts(deadline_ms),
                ],
            )
            .await?
            .try_get(0)?;
        self.commit_written(tx).await?;
        Ok(JoinedWaits::Waiting(id))
    }

    pub(super) async fn forget_waiter(&self, id: i64) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let stmt = tx
            .prepare_cached("DELETE FROM lock_waiters WHERE id = $1")
            .await?;
        tx.execute(&stmt, &[&id]).await?;
        self.commit_written(tx).await
    }

    /// Rows of claims past their deadline; a write only when there are some.
    pub(super) async fn forget_waiters_past_deadline(&self) -> Result<usize> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("DELETE FROM lock_waiters WHERE deadline <= $1")
            .await?;
        let gone = client.execute(&stmt, &[&ts(self.now_ms())]).await?;
        Ok(usize::try_from(gone).unwrap_or(usize::MAX))
    }

    /// Several coordinators share the table, and a starting one cannot tell a
    /// crashed one's rows from a live one's: only rows past their deadline go
    /// (see migrations/postgres/V2).
    pub(super) async fn clear_waiters(&self) -> Result<usize> {
        self.forget_waiters_past_deadline().await
    }

    pub(super) fn events_kept(&self) -> u64 {
        self.inner.events_kept.load(Ordering::Relaxed)
    }

    pub(super) fn keep_events(&self, keep: u64) {
        self.inner.events_kept.store(keep.max(1), Ordering::Relaxed);
    }

    /// Keeps the newest events, as SQLite's: ids only grow, so the newest
    /// `keep` are the ids above `MAX(id) - keep`; at most `batch` go. Every
    /// coordinator prunes; two deleting the same old rows only wait for each other.
    pub(super) async fn prune_events(&self, batch: u64) -> Result<usize> {
        let keep = i64::try_from(self.events_kept()).unwrap_or(i64::MAX);
        let batch = i64::try_from(batch).unwrap_or(i64::MAX);
        let client = self.client().await?;
        let bounds = client
            .prepare_cached(
                "SELECT (SELECT MIN(id) FROM coordination_events), (SELECT MAX(id) FROM coordination_events)",
            )
            .await?;
        let row = client.query_one(&bounds, &[]).await?;
        let (Some(oldest), Some(newest)) = (
            row.try_get::<_, Option<i64>>(0)?,
            row.try_get::<_, Option<i64>>(1)?,
        ) else {
            return Ok(0);
        };
        let last_to_go = newest.saturating_sub(keep);
        if oldest > last_to_go {
            return Ok(0);
        }
        let stmt = client
            .prepare_cached(
                "DELETE FROM coordination_events WHERE id <= $1 AND id < $2::bigint + $3::bigint",
            )
            .await?;
        let gone = client
            .execute(&stmt, &[&last_to_go, &oldest, &batch])
            .await?;
        Ok(usize::try_from(gone).unwrap_or(usize::MAX))
    }
}
