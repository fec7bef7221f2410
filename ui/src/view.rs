//! The rows each panel shows once the session and text filters apply.
//!
//! Drawing and key handling both read rows through here, so a selection
//! index always means the same row to both.

use crate::model::{
    Activity, AgentRow, EventRow, LockRow, Operation, Snapshot, TaskRow, TaskStatus, WaiterRow,
};
use crate::panel::Panel;

/// Which rows show.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter<'f> {
    /// One session's rows, or every session's.
    pub session: Option<&'f str>,
    /// Matches case-insensitively anywhere in a row's visible fields.
    pub text: &'f str,
    /// When set, agents [`dormant`] at this instant, and their tasks, are left out.
    pub hide_dormant_at: Option<i64>,
}

#[derive(Debug, Default)]
pub struct View<'a> {
    pub agents: Vec<&'a AgentRow>,
    pub locks: Vec<&'a LockRow>,
    pub tasks: Vec<&'a TaskRow>,
    /// Newest first, as the snapshot has them.
    pub events: Vec<&'a EventRow>,
    /// Agents of the shown sessions left out as dormant.
    pub hidden_agents: usize,
    /// Tasks left out with them.
    pub hidden_tasks: usize,
}

impl<'a> View<'a> {
    pub fn new(snapshot: &'a Snapshot, filter: &Filter) -> Self {
        let needle = filter.text.trim().to_lowercase();
        let session = filter.session;
        let in_session = |s: &str| session.is_none_or(|want| want == s);
        let matches = |fields: &[&str]| {
            needle.is_empty() || fields.iter().any(|f| f.to_lowercase().contains(&needle))
        };
        let (hidden, agents): (Vec<&AgentRow>, Vec<&AgentRow>) = snapshot
            .agents
            .iter()
            .filter(|a| in_session(&a.session_id))
            .partition(|a| {
                filter
                    .hide_dormant_at
                    .is_some_and(|now| dormant(snapshot, a, now))
            });
        let of_hidden = |t: &TaskRow| {
            hidden
                .iter()
                .any(|a| a.session_id == t.session_id && a.agent_id == t.agent_id)
        };
        let (hidden_tasks, tasks): (Vec<&TaskRow>, Vec<&TaskRow>) = snapshot
            .tasks
            .iter()
            .filter(|t| in_session(&t.session_id))
            .partition(|t| of_hidden(t));
        View {
            hidden_agents: hidden.len(),
            hidden_tasks: hidden_tasks.len(),
            agents: agents
                .into_iter()
                .filter(|a| {
                    let task = a.current_task.as_deref().unwrap_or("");
                    let (worktree, branch) = a.workspace.as_ref().map_or(("", ""), |w| {
                        (w.worktree.as_str(), w.branch.as_deref().unwrap_or(""))
                    });
                    let fields = [&a.agent_id, a.role.as_str(), &a.status, task, &a.session_id];
                    matches(&fields) || matches(&[worktree, branch])
                })
                .collect(),
            locks: snapshot
                .locks
                .iter()
                .filter(|l| in_session(&l.session_id))
                .filter(|l| matches(&[&l.path, &l.agent_id, l.operation.as_str(), &l.session_id]))
                .collect(),
            tasks: tasks
                .into_iter()
                .filter(|t| {
                    let msg = t.message.as_deref().unwrap_or("");
                    matches(&[
                        &t.agent_id,
                        &t.task_id,
                        t.status.as_str(),
                        msg,
                        &t.session_id,
                    ])
                })
                .collect(),
            // Coordinator-wide events (no session) only show when every
            // session is shown; a filter means "only this session".
            events: snapshot
                .events
                .iter()
                .filter(|e| match (session, e.session_id.as_deref()) {
                    (None, _) => true,
                    (Some(want), Some(s)) => want == s,
                    (Some(_), None) => false,
                })
                .filter(|e| {
                    let opt = |o: &'a Option<String>| o.as_deref().unwrap_or("");
                    matches(&[
                        e.kind.as_str(),
                        opt(&e.agent_id),
                        opt(&e.path),
                        opt(&e.detail),
                    ])
                })
                .collect(),
        }
    }

    pub fn len(&self, panel: Panel) -> usize {
        match panel {
            Panel::Agents => self.agents.len(),
            Panel::Locks => self.locks.len(),
            Panel::Tasks => self.tasks.len(),
            Panel::Events => self.events.len(),
        }
    }

    /// A row's identity, stable across snapshots, for keeping the selection
    /// on the same row when rows come and go.
    pub fn key(&self, panel: Panel, index: usize) -> Option<String> {
        match panel {
            Panel::Agents => self
                .agents
                .get(index)
                .map(|a| format!("{}\0{}", a.session_id, a.agent_id)),
            Panel::Locks => self.locks.get(index).map(|l| l.lock_id.clone()),
            Panel::Tasks => self
                .tasks
                .get(index)
                .map(|t| format!("{}\0{}\0{}", t.session_id, t.agent_id, t.task_id)),
            Panel::Events => self.events.get(index).map(|e| e.id.to_string()),
        }
    }

    pub fn position(&self, panel: Panel, key: &str) -> Option<usize> {
        (0..self.len(panel)).find(|&i| self.key(panel, i).as_deref() == Some(key))
    }
}

/// An agent the default view leaves out: inactive by [`Activity`], holding
/// no lock and waiting for none (those still matter to the others). Its
/// tasks go with it whatever their status: an inactive agent's task in
/// progress is stalled, and old teams' tasks are what the view hides.
pub fn dormant(snapshot: &Snapshot, agent: &AgentRow, now_ms: i64) -> bool {
    Activity::classify(now_ms, agent.last_activity_ms) == Activity::Inactive
        && agent.lock_count == 0
        && waiting_of(snapshot, agent).is_none()
}

/// How many read locks are held on the same path in the same session,
/// counted over the whole snapshot so a text filter cannot hide sharing.
pub fn read_sharers(snapshot: &Snapshot, lock: &LockRow) -> usize {
    snapshot
        .locks
        .iter()
        .filter(|l| {
            l.operation == Operation::Read && l.session_id == lock.session_id && l.path == lock.path
        })
        .count()
}

/// "read (shared x3)" when several agents read the same path, else the operation.
pub fn operation_label(snapshot: &Snapshot, lock: &LockRow) -> String {
    if lock.operation == Operation::Read {
        let n = read_sharers(snapshot, lock);
        if n > 1 {
            return format!("read (shared x{n})");
        }
    }
    lock.operation.as_str().to_owned()
}

/// What a task's bar shows; a planned task has not started whatever it claims.
pub fn task_percent(task: &TaskRow) -> u8 {
    match (task.status, task.progress_percentage) {
        (TaskStatus::Planned, _) => 0,
        (_, Some(p)) => p.min(100),
        (TaskStatus::Completed, None) => 100,
        (_, None) => 0,
    }
}

/// The claim this agent is waiting on, if any (an agent waits on one at a time).
pub fn waiting_of<'a>(snapshot: &'a Snapshot, agent: &AgentRow) -> Option<&'a WaiterRow> {
    snapshot
        .waiters
        .iter()
        .find(|w| w.session_id == agent.session_id && w.agent_id == agent.agent_id)
}

/// The claims waiting on this lock, in arrival order.
pub fn waiters_on<'a>(snapshot: &'a Snapshot, lock: &LockRow) -> Vec<&'a WaiterRow> {
    snapshot
        .waiters
        .iter()
        .filter(|w| w.blocked_by.contains(&lock.lock_id))
        .collect()
}

/// The latest word on the agent's current task.
pub fn current_message<'a>(snapshot: &'a Snapshot, agent: &AgentRow) -> Option<&'a str> {
    let task = agent.current_task.as_deref()?;
    snapshot
        .tasks
        .iter()
        .find(|t| {
            t.session_id == agent.session_id && t.agent_id == agent.agent_id && t.task_id == task
        })
        .and_then(|t| t.message.as_deref())
}

/// What an agent waits for, after the word "waiting": the paths and who holds them.
pub fn waiting_note(snapshot: &Snapshot, waiter: &WaiterRow) -> String {
    let mut holders: Vec<&str> = snapshot
        .locks
        .iter()
        .filter(|l| waiter.blocked_by.contains(&l.lock_id))
        .map(|l| l.agent_id.as_str())
        .collect();
    holders.dedup();
    let why = if holders.is_empty() {
        "behind other waiters".to_string()
    } else {
        format!("held by {}", holders.join(", "))
    };
    let op = match waiter.operation {
        Operation::Read => "to read ",
        Operation::Write => "",
        Operation::Delete => "to delete ",
    };
    format!("{op}for {} {why}", waiter.paths.join(", "))
}
