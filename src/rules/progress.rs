//! Task progress: the seed's statuses plus `paused` (and `planned`, which only the planner writes).

pub use ccmulti_model::tools::progress::{MAX_AFFECTED_FILES, MAX_MESSAGE_LEN, MAX_TASK_ID_LEN};
pub use ccmulti_model::{ReportedStatus, TaskStatus};

use std::collections::HashMap;

use ccmulti_model::snapshot::{AgentRow, LockRow, TaskRow};

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
    use ccmulti_model::{Operation, Role, TaskStatus};

    use super::summarise_agents;

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
