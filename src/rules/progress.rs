//! Task progress: the seed's statuses plus `paused` (and `planned`, which
//! only the planner writes); what a report stores; which planned tasks a new
//! plan may move; each agent's lock count and current task.

use std::collections::{BTreeSet, HashMap};

use ccmulti_model::snapshot::{AgentRow, LockRow, TaskRow};
use ccmulti_model::{PlannedTask, TaskStatus};

/// An agent's report on a task, as `sync_progress` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressUpdate {
    pub task_id: String,
    pub status: TaskStatus,
    pub progress_percentage: Option<u8>,
    pub message: Option<String>,
    /// Normalised paths.
    pub affected_files: Option<Vec<String>>,
}

impl ProgressUpdate {
    /// The percentage to store: `completed` without one means 100; otherwise
    /// none given keeps the one stored before.
    pub fn stored_percentage(&self) -> Option<u8> {
        self.progress_percentage.or(match self.status {
            TaskStatus::Completed => Some(100),
            _ => None,
        })
    }
}

/// What a new plan does to a session's stored tasks.
#[derive(Debug, PartialEq, Eq)]
pub struct Replan<'a> {
    /// Ids whose `planned` rows go: the session's earlier plan wherever no
    /// agent has started it, whether or not this plan names the task again.
    pub unplan: Vec<String>,
    /// The tasks to write as planned, each with its (new) agent.
    pub to_plan: Vec<&'a PlannedTask>,
    /// The ids of the plan's tasks some agent has already started: they stay
    /// with that agent.
    pub kept: Vec<String>,
}

/// A new plan over what is stored replaces the session's planned-but-
/// unstarted tasks: those go, and the plan's tasks are written in their
/// place, a task planned before going to its new agent; a task some agent
/// has started stays with it. `planned` and `started` are the session's
/// stored task ids with a `planned` row and with a row in any other status.
pub fn replan<'a>(
    tasks: &'a [PlannedTask],
    planned: &BTreeSet<String>,
    started: &BTreeSet<String>,
) -> Replan<'a> {
    let (kept, to_plan): (Vec<&PlannedTask>, Vec<&PlannedTask>) =
        tasks.iter().partition(|t| started.contains(&t.task_id));
    Replan {
        unplan: planned.difference(started).cloned().collect(),
        to_plan,
        kept: kept.into_iter().map(|t| t.task_id.clone()).collect(),
    }
}

/// Whether an agent is working on the task now.
fn is_active(status: TaskStatus) -> bool {
    matches!(
        status,
        TaskStatus::Started | TaskStatus::InProgress | TaskStatus::Paused | TaskStatus::Blocked
    )
}

/// How an agent's tasks rank for the one it is on: the latest of those it is
/// working on (started, in progress, paused or blocked), else the one it
/// reported on last.
fn rank(task: &TaskRow) -> (bool, i64) {
    (is_active(task.status), task.updated_at_ms)
}

/// Each agent's live lock count and current task, from the live locks and
/// the tasks read beside the agents at the same moment (rather than asking
/// the database again for every agent).
pub fn summarise_agents(agents: &mut [AgentRow], locks: &[LockRow], tasks: &[TaskRow]) {
    let mut lock_counts: HashMap<(&str, &str), usize> = HashMap::new();
    for lock in locks {
        *lock_counts
            .entry((&lock.session_id, &lock.agent_id))
            .or_default() += 1;
    }
    let mut current: HashMap<(&str, &str), &TaskRow> = HashMap::new();
    for task in tasks {
        current
            .entry((&task.session_id, &task.agent_id))
            .and_modify(|best| {
                if rank(task) >= rank(best) {
                    *best = task;
                }
            })
            .or_insert(task);
    }
    for agent in agents {
        let key = (agent.session_id.as_str(), agent.agent_id.as_str());
        agent.lock_count = lock_counts.get(&key).copied().unwrap_or(0);
        agent.current_task = current.get(&key).map(|t| t.task_id.clone());
    }
}

#[cfg(test)]
mod tests {
    use ccmulti_model::snapshot::{AgentRow, LockRow, TaskRow};
    use ccmulti_model::{Operation, PlannedTask, Role, TaskStatus};

    use super::{ProgressUpdate, replan, summarise_agents};

    #[test]
    fn completed_means_a_hundred_percent_and_none_keeps_the_last() {
        let update = |status, pct| ProgressUpdate {
            task_id: "t".into(),
            status,
            progress_percentage: pct,
            message: None,
            affected_files: None,
        };
        assert_eq!(
            update(TaskStatus::Completed, None).stored_percentage(),
            Some(100)
        );
        assert_eq!(
            update(TaskStatus::Completed, Some(90)).stored_percentage(),
            Some(90)
        );
        assert_eq!(
            update(TaskStatus::InProgress, None).stored_percentage(),
            None
        );
    }

    #[test]
    fn a_new_plan_replaces_what_no_one_started_and_moves_only_that() {
        let task = |id: &str| PlannedTask {
            agent_id: "implementer-2".into(),
            task_id: id.into(),
            description: "d".into(),
            files: Vec::new(),
        };
        let tasks = [task("T1"), task("T2"), task("T3")];
        let ids = |ids: &[&str]| ids.iter().map(|id| (*id).to_owned()).collect();
        // Before: T1 and OLD planned, T2 started, GONE planned once and started.
        let planned = ids(&["T1", "OLD", "GONE"]);
        let started = ids(&["T2", "GONE"]);
        let replan = replan(&tasks, &planned, &started);
        assert_eq!(
            replan
                .to_plan
                .iter()
                .map(|t| t.task_id.as_str())
                .collect::<Vec<_>>(),
            ["T1", "T3"]
        );
        assert_eq!(replan.kept, ["T2"]);
        assert_eq!(replan.unplan, ["OLD", "T1"]);
    }

    fn task(agent: &str, id: &str, status: TaskStatus, at: i64) -> TaskRow {
        TaskRow {
            session_id: "s".into(),
            agent_id: agent.into(),
            task_id: id.into(),
            status,
            progress_percentage: None,
            message: None,
            updated_at_ms: at,
        }
    }

    fn lock(session: &str, agent: &str, path: &str) -> LockRow {
        LockRow {
            lock_id: path.into(),
            session_id: session.into(),
            agent_id: agent.into(),
            path: path.into(),
            operation: Operation::Write,
            expires_at_ms: 10,
            fencing_token: 1,
            yields_at_ms: None,
        }
    }

    fn agent(id: &str) -> AgentRow {
        AgentRow {
            session_id: "s".into(),
            agent_id: id.into(),
            role: Role::of_agent(id),
            status: "connected".into(),
            last_activity_ms: 0,
            current_task: Some("stale".into()),
            lock_count: 99,
            workspace: None,
            pending_handovers: Vec::new(),
            landing: None,
        }
    }

    #[test]
    fn an_agent_is_on_its_latest_active_task_else_its_latest_report() {
        let tasks = [
            task("a", "old-active", TaskStatus::InProgress, 1),
            task("a", "done-later", TaskStatus::Completed, 5),
            task("a", "paused", TaskStatus::Paused, 3),
            task("b", "finished", TaskStatus::Completed, 2),
            task("b", "failed-later", TaskStatus::Failed, 4),
            task("c", "planned", TaskStatus::Planned, 9),
        ];
        let locks = [
            lock("s", "a", "x.rs"),
            lock("s", "a", "y.rs"),
            lock("other", "a", "z.rs"),
            lock("s", "b", "x.rs"),
        ];
        let mut agents = [agent("a"), agent("b"), agent("c"), agent("d")];
        summarise_agents(&mut agents, &locks, &tasks);
        let summary: Vec<(&str, Option<&str>, usize)> = agents
            .iter()
            .map(|a| (a.agent_id.as_str(), a.current_task.as_deref(), a.lock_count))
            .collect();
        assert_eq!(
            summary,
            [
                ("a", Some("paused"), 2),
                ("b", Some("failed-later"), 1),
                ("c", Some("planned"), 0),
                ("d", None, 0),
            ]
        );
    }
}
