//! Reads for agents (`check_agent_status`), people (`ccmulti status`) and the
//! dashboard. A snapshot is one REPEATABLE READ transaction: one consistent
//! picture of every table, whichever coordinators are writing.

use ccmulti_model::snapshot::{
    AgentRow, EventRow, LockRow, SessionRow, Snapshot, TaskRow, WaiterRow,
};
use ccmulti_model::{AgentWorkspace, EventKind, Operation, Role, TaskStatus};
use deadpool_postgres::GenericClient;

use super::locks::{LOCK_COLUMNS, lock_row};
use super::{PostgresStore, Result, handover, ms, ts};
use crate::clock::Millis;
use crate::rules::handover::attach_pending;
use crate::rules::progress::summarise_agents;
use crate::rules::waiting::waiter_row;
use crate::store::{Counts, SessionView, StoreError};

fn word<T>(raw: &str, what: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T> {
    parse(raw).ok_or_else(|| StoreError::Corrupt(format!("{what} {raw:?}")))
}

/// `None` reads every session. An agent as stored; its lock count and
/// current task come from the locks and tasks read beside it
/// ([`summarise_agents`]).
async fn agents(c: &impl GenericClient, session: Option<&str>) -> Result<Vec<AgentRow>> {
    let stmt = c
        .prepare_cached(
            "SELECT a.session_id, a.id, a.status, a.last_activity, a.worktree, a.branch, a.host
             FROM claude_code_agents a WHERE ($1::text IS NULL OR a.session_id = $1)
             ORDER BY a.session_id, a.id",
        )
        .await?;
    c.query(&stmt, &[&session])
        .await?
        .iter()
        .map(|r| {
            let agent_id: String = r.try_get(1)?;
            Ok(AgentRow {
                session_id: r.try_get(0)?,
                role: Role::of_agent(&agent_id),
                agent_id,
                status: r.try_get(2)?,
                last_activity_ms: ms(r.try_get(3)?),
                current_task: None,
                lock_count: 0,
                pending_handovers: Vec::new(),
                landing: None,
                workspace: r
                    .try_get::<_, Option<String>>(4)?
                    .map(|worktree| -> Result<_> {
                        Ok(AgentWorkspace {
                            worktree,
                            branch: r.try_get(5)?,
                            host: r.try_get(6)?,
                        })
                    })
                    .transpose()?,
            })
        })
        .collect()
}

pub(super) async fn locks(
    c: &impl GenericClient,
    session: Option<&str>,
    now: Millis,
) -> Result<Vec<LockRow>> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {LOCK_COLUMNS}
             FROM file_locks WHERE ($1::text IS NULL OR session_id = $1) AND expires_at > $2
             ORDER BY session_id, file_path, agent_id"
        ))
        .await?;
    c.query(&stmt, &[&session, &ts(now)])
        .await?
        .iter()
        .map(lock_row)
        .collect()
}

async fn tasks(c: &impl GenericClient, session: Option<&str>) -> Result<Vec<TaskRow>> {
    let stmt = c
        .prepare_cached(
            "SELECT session_id, agent_id, task_id, status, progress_percentage, message, updated_at
             FROM task_progress WHERE ($1::text IS NULL OR session_id = $1)
             ORDER BY session_id, agent_id, task_id",
        )
        .await?;
    c.query(&stmt, &[&session])
        .await?
        .iter()
        .map(|r| {
            Ok(TaskRow {
                session_id: r.try_get(0)?,
                agent_id: r.try_get(1)?,
                task_id: r.try_get(2)?,
                status: word(r.try_get(3)?, "task status", TaskStatus::parse)?,
                progress_percentage: r
                    .try_get::<_, Option<i32>>(4)?
                    .map(|p| p.clamp(0, 100) as u8),
                message: r.try_get(5)?,
                updated_at_ms: ms(r.try_get(6)?),
            })
        })
        .collect()
}

async fn events(c: &impl GenericClient, limit: usize) -> Result<Vec<EventRow>> {
    let stmt = c
        .prepare_cached(
            "SELECT id, session_id, at, kind, agent_id, file_path, detail
             FROM coordination_events ORDER BY id DESC LIMIT $1",
        )
        .await?;
    c.query(&stmt, &[&i64::try_from(limit).unwrap_or(i64::MAX)])
        .await?
        .iter()
        .map(|r| {
            Ok(EventRow {
                id: r.try_get(0)?,
                session_id: r.try_get(1)?,
                at_ms: ms(r.try_get(2)?),
                kind: word(r.try_get(3)?, "event kind", EventKind::parse)?,
                agent_id: r.try_get(4)?,
                path: r.try_get(5)?,
                detail: r.try_get(6)?,
            })
        })
        .collect()
}

/// The live waiters in arrival order, each with the locks among `locks`
/// (the same read's live locks) that hold it back.
pub(super) async fn waiters(
    c: &impl GenericClient,
    now: Millis,
    locks: &[LockRow],
) -> Result<Vec<WaiterRow>> {
    let stmt = c
        .prepare_cached(
            "SELECT session_id, agent_id, operation, file_paths, since, deadline FROM lock_waiters
             WHERE deadline > $1 ORDER BY id",
        )
        .await?;
    c.query(&stmt, &[&ts(now)])
        .await?
        .iter()
        .map(|r| {
            let session_id: String = r.try_get(0)?;
            let agent_id: String = r.try_get(1)?;
            let operation = word(r.try_get(2)?, "waiter operation", Operation::parse)?;
            let paths: Vec<String> = serde_json::from_value(r.try_get(3)?)
                .map_err(|e| StoreError::Corrupt(format!("waiter paths: {e}")))?;
            let at = (ms(r.try_get(4)?), ms(r.try_get(5)?));
            Ok(waiter_row(
                session_id, agent_id, operation, paths, at, locks,
            ))
        })
        .collect()
}

/// A read-only transaction whose statements all read one snapshot (READ
/// COMMITTED would take one per statement): the agents, locks and tasks of a
/// view are of one moment.
async fn at_one_moment(
    client: &mut deadpool_postgres::Object,
) -> Result<deadpool_postgres::Transaction<'_>> {
    Ok(client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?)
}

impl PostgresStore {
    /// Where the session's agents with a known workspace work.
    pub(super) async fn agent_workspaces(
        &self,
        session: &str,
    ) -> Result<Vec<(String, AgentWorkspace)>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT id, worktree, branch, host FROM claude_code_agents
                 WHERE session_id = $1 AND worktree IS NOT NULL ORDER BY id",
            )
            .await?;
        client
            .query(&stmt, &[&session])
            .await?
            .iter()
            .map(|r| {
                Ok((
                    r.try_get(0)?,
                    AgentWorkspace {
                        worktree: r.try_get(1)?,
                        branch: r.try_get(2)?,
                        host: r.try_get(3)?,
                    },
                ))
            })
            .collect()
    }

    pub(super) async fn session_view(&self, session: &str) -> Result<SessionView> {
        let now = self.now_ms();
        let mut client = self.client().await?;
        let tx = at_one_moment(&mut client).await?;
        let mut agents = agents(&tx, Some(session)).await?;
        let locks = locks(&tx, Some(session), now).await?;
        let tasks = tasks(&tx, Some(session)).await?;
        summarise_agents(&mut agents, &locks, &tasks);
        let view = SessionView {
            now_ms: now,
            agents,
            locks,
            tasks,
        };
        tx.commit().await?;
        Ok(view)
    }

    pub(super) async fn snapshot(&self, event_limit: usize) -> Result<Snapshot> {
        let now = self.now_ms();
        let mut client = self.client().await?;
        let tx = at_one_moment(&mut client).await?;
        let stmt = tx
            .prepare_cached(
                "SELECT id, user_id, created_at FROM claude_code_sessions ORDER BY created_at, id",
            )
            .await?;
        let sessions = tx
            .query(&stmt, &[])
            .await?
            .iter()
            .map(|r| {
                Ok(SessionRow {
                    session_id: r.try_get(0)?,
                    user_id: r.try_get(1)?,
                    created_at_ms: ms(r.try_get(2)?),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let locks = locks(&tx, None, now).await?;
        let mut agents = agents(&tx, None).await?;
        let tasks = tasks(&tx, None).await?;
        summarise_agents(&mut agents, &locks, &tasks);
        attach_pending(&mut agents, handover::pending(&tx, None).await?);
        let snapshot = Snapshot {
            now_ms: now,
            sessions,
            agents,
            waiters: waiters(&tx, now, &locks).await?,
            locks,
            tasks,
            events: events(&tx, event_limit).await?,
        };
        tx.commit().await?;
        Ok(snapshot)
    }

    pub(super) async fn counts(&self) -> Result<Counts> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT (SELECT COUNT(*) FROM claude_code_sessions),
                        (SELECT COUNT(*) FROM claude_code_agents),
                        (SELECT COUNT(*) FROM file_locks WHERE expires_at > $1),
                        (SELECT COUNT(*) FROM task_progress),
                        (SELECT COUNT(*) FROM coordination_events)",
            )
            .await?;
        let r = client.query_one(&stmt, &[&ts(self.now_ms())]).await?;
        Ok(Counts {
            sessions: r.try_get(0)?,
            agents: r.try_get(1)?,
            active_locks: r.try_get(2)?,
            tasks: r.try_get(3)?,
            events: r.try_get(4)?,
        })
    }
}
