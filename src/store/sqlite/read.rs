//! Reads for agents (`check_agent_status`), people (`ccmulti status`) and the dashboard.

use std::sync::Arc;

use ccmulti_model::snapshot::{AgentRow, EventRow, LockRow, SessionRow, Snapshot, TaskRow};
use ccmulti_model::{AgentWorkspace, EventKind, Role, TaskStatus};
use rusqlite::{Connection, Row, params};

use super::columns::word;
use super::locks::{LOCK_COLUMNS, select as select_locks};
use super::views::SessionRows;
use super::{Result, SqliteStore, handover, time, waiters};
use crate::rules::handover::attach_pending;
use crate::rules::progress::summarise_agents;
use crate::store::{Counts, SessionView};

/// `None` reads every session.
fn scoped(sql: &str, column: &str, session: Option<&str>) -> String {
    match session {
        Some(_) => sql.replace("/*scope*/", &format!("WHERE {column} = ?1")),
        None => sql.replace("/*scope*/", "WHERE ?1 IS NULL"),
    }
}

/// Runs `f` in one read transaction, so that what it reads in several
/// statements is from one moment (every lock listed has its agent listed);
/// inside a transaction already (a batch's job reading on the
/// writer), in that one.
fn at_one_moment<T>(c: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    if !c.is_autocommit() {
        return f(c);
    }
    c.prepare_cached("BEGIN")?.execute([])?;
    let read = f(c);
    // A read transaction keeps nothing: it ends whatever `f` returned.
    c.prepare_cached("COMMIT")?.execute([])?;
    read
}

/// An agent as stored; its lock count and current task come from the locks
/// and tasks read beside it ([`summarise_agents`]).
fn agent_row(row: &Row<'_>) -> rusqlite::Result<(AgentRow, String)> {
    Ok((
        AgentRow {
            session_id: row.get(0)?,
            agent_id: row.get(1)?,
            role: Role::of_agent(&row.get::<_, String>(1)?),
            status: row.get(2)?,
            last_activity_ms: 0,
            current_task: None,
            lock_count: 0,
            pending_handovers: Vec::new(),
            landing: None,
            workspace: row
                .get::<_, Option<String>>(4)?
                .map(|worktree| -> rusqlite::Result<_> {
                    Ok(AgentWorkspace {
                        worktree,
                        branch: row.get(5)?,
                        host: row.get(6)?,
                    })
                })
                .transpose()?,
        },
        row.get(3)?,
    ))
}

fn agents(conn: &Connection, session: Option<&str>) -> Result<Vec<AgentRow>> {
    let sql = scoped(
        "SELECT a.session_id, a.id, a.status, a.last_activity, a.worktree, a.branch, a.host
         FROM claude_code_agents a /*scope*/ ORDER BY a.session_id, a.id",
        "a.session_id",
        session,
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![session], agent_row)?;
    rows.map(|r| {
        let (mut a, last) = r?;
        a.last_activity_ms = time::from_text(&last)?;
        Ok(a)
    })
    .collect()
}

pub(super) fn locks(
    conn: &Connection,
    session: Option<&str>,
    now_text: &str,
) -> Result<Vec<LockRow>> {
    let sql = scoped(
        &format!(
            "SELECT {LOCK_COLUMNS} FROM file_locks /*scope*/ AND expires_at > ?2
             ORDER BY session_id, file_path, agent_id"
        ),
        "session_id",
        session,
    );
    select_locks(conn, &sql, params![session, now_text])
}

fn tasks(conn: &Connection, session: Option<&str>) -> Result<Vec<TaskRow>> {
    let sql = scoped(
        "SELECT session_id, agent_id, task_id, status, progress_percentage, message, updated_at
         FROM task_progress /*scope*/ ORDER BY session_id, agent_id, task_id",
        "session_id",
        session,
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![session], |r| {
        Ok((
            TaskRow {
                session_id: r.get(0)?,
                agent_id: r.get(1)?,
                task_id: r.get(2)?,
                status: word(r, 3, TaskStatus::parse)?,
                progress_percentage: r.get::<_, Option<i64>>(4)?.map(|p| p.clamp(0, 100) as u8),
                message: r.get(5)?,
                updated_at_ms: 0,
            },
            r.get::<_, String>(6)?,
        ))
    })?;
    rows.map(|r| {
        let (mut t, updated) = r?;
        t.updated_at_ms = time::from_text(&updated)?;
        Ok(t)
    })
    .collect()
}

const EVENT_COLUMNS: &str = "id, session_id, at, kind, agent_id, file_path, detail";

fn event_rows(conn: &Connection, sql: &str, args: impl rusqlite::Params) -> Result<Vec<EventRow>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(args, |r| {
        Ok((
            EventRow {
                id: r.get(0)?,
                session_id: r.get(1)?,
                at_ms: 0,
                kind: word(r, 3, EventKind::parse)?,
                agent_id: r.get(4)?,
                path: r.get(5)?,
                detail: r.get(6)?,
            },
            r.get::<_, String>(2)?,
        ))
    })?;
    rows.map(|r| {
        let (mut e, at) = r?;
        e.at_ms = time::from_text(&at)?;
        Ok(e)
    })
    .collect()
}

fn events(conn: &Connection, limit: usize) -> Result<Vec<EventRow>> {
    event_rows(
        conn,
        &format!("SELECT {EVENT_COLUMNS} FROM coordination_events ORDER BY id DESC LIMIT ?1"),
        [limit as i64],
    )
}

impl SqliteStore {
    pub fn session_view(&self, session: &str) -> Result<SessionView> {
        let now = self.now_ms();
        Ok(self.session_rows(session)?.view_at(now))
    }

    /// Where the session's agents with a known workspace work.
    pub fn agent_workspaces(&self, session: &str) -> Result<Vec<(String, AgentWorkspace)>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, worktree, branch, host FROM claude_code_agents
                 WHERE session_id = ?1 AND worktree IS NOT NULL ORDER BY id",
            )?;
            let rows = stmt.query_map([session], |r| {
                Ok((
                    r.get(0)?,
                    AgentWorkspace {
                        worktree: r.get(1)?,
                        branch: r.get(2)?,
                        host: r.get(3)?,
                    },
                ))
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// The session's rows: as last read while the database has not changed
    /// since (`views.rs`), else read now. Inside a batch the writer's
    /// uncommitted rows are read, and never kept.
    fn session_rows(&self, session: &str) -> Result<Arc<SessionRows>> {
        let views = &self.inner.session_views;
        let stamp = if self.in_batch() { None } else { views.stamp() };
        if let Some(rows) = stamp.as_ref().and_then(|s| views.get(session, s)) {
            return Ok(rows);
        }
        // Every lock, expired or not (no stored time is before the epoch's):
        // each answer keeps those live at its own moment.
        let every_lock = time::to_text(0);
        let rows = Arc::new(self.read(|c| {
            at_one_moment(c, |c| {
                Ok(SessionRows {
                    agents: agents(c, Some(session))?,
                    locks: locks(c, Some(session), &every_lock)?,
                    tasks: tasks(c, Some(session))?,
                })
            })
        })?);
        if let Some(stamp) = stamp {
            views.put(session, stamp, rows.clone());
        }
        Ok(rows)
    }

    /// Everything, for the dashboard and `ccmulti status`, in one read transaction.
    pub fn snapshot(&self, event_limit: usize) -> Result<Snapshot> {
        let now = self.now_ms();
        let now_text = time::to_text(now);
        self.read(|c| {
            at_one_moment(c, |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT id, user_id, created_at FROM claude_code_sessions ORDER BY created_at, id",
                )?;
                let sessions = stmt
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, String>(2)?)))?
                    .map(|r| {
                        let (session_id, user_id, created) = r?;
                        Ok(SessionRow { session_id, user_id, created_at_ms: time::from_text(&created)? })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let mut agents = agents(c, None)?;
                let locks = locks(c, None, &now_text)?;
                let tasks = tasks(c, None)?;
                summarise_agents(&mut agents, &locks, &tasks);
                attach_pending(&mut agents, handover::pending(c, None)?);
                Ok(Snapshot {
                    now_ms: now,
                    sessions,
                    agents,
                    waiters: waiters::waiters(c, &now_text, &locks)?,
                    locks,
                    tasks,
                    events: events(c, event_limit)?,
                })
            })
        })
    }

    pub fn counts(&self) -> Result<Counts> {
        let now_text = time::to_text(self.now_ms());
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT (SELECT COUNT(*) FROM claude_code_sessions),
                        (SELECT COUNT(*) FROM claude_code_agents),
                        (SELECT COUNT(*) FROM file_locks WHERE expires_at > ?1),
                        (SELECT COUNT(*) FROM task_progress),
                        (SELECT COUNT(*) FROM coordination_events)",
            )?
            .query_row([now_text], |r| {
                Ok(Counts {
                    sessions: r.get(0)?,
                    agents: r.get(1)?,
                    active_locks: r.get(2)?,
                    tasks: r.get(3)?,
                    events: r.get(4)?,
                })
            })?)
        })
    }
}
