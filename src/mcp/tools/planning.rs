//! What the three planner tools share: checking tasks, running the analysis
//! through the service, dealing the plan and recording it.

use std::sync::Arc;

use crate::error::CoordError;
use crate::planner::{Analysis, Connection, Distribution};
use crate::rules::plan::conflicts::Complexity;
use crate::rules::plan::{MAX_FILES_PER_TASK, MAX_TASK_DESCRIPTION, TaskInput};
use crate::rules::targets::is_pattern;
use crate::state::AppState;
use ccmulti_model::tools::plan::{TASK_FORM, TaskSpec};

/// Checks what the task's type cannot (an empty or over-long description,
/// too many files, a pattern among them) and normalises its files among the
/// project's worktrees.
pub fn check_tasks(
    state: &AppState,
    tool: &str,
    tasks: Vec<TaskSpec>,
) -> Result<Vec<TaskInput>, CoordError> {
    tasks
        .iter()
        .enumerate()
        .map(|(i, task)| {
            let at = |problem: String| {
                CoordError::InvalidParams(format!("{tool}: tasks[{i}] {problem}; {TASK_FORM}"))
            };
            let description = task.description();
            if description.trim().is_empty() {
                return Err(at("has an empty description".into()));
            }
            if description.len() > MAX_TASK_DESCRIPTION {
                return Err(at(format!(
                    "has a description of {} bytes; at most {MAX_TASK_DESCRIPTION} are accepted",
                    description.len()
                )));
            }
            let files = match task.files() {
                None => None,
                Some(list) if list.len() > MAX_FILES_PER_TASK => {
                    return Err(at(format!(
                        "lists {} files; at most {MAX_FILES_PER_TASK} are accepted",
                        list.len()
                    )));
                }
                Some(list) => Some(
                    list.iter()
                        .map(|p| {
                            // A plan deals out files; a pattern could hide a file shared by two agents.
                            if is_pattern(p) {
                                return Err(at(format!(
                                    "files: {p:?} is a directory or glob; list the files themselves"
                                )));
                            }
                            state
                                .roots
                                .normalize(p)
                                .map_err(|e| at(format!("files: {e}")))
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                ),
            };
            Ok(TaskInput {
                description: description.trim().to_owned(),
                files,
            })
        })
        .collect()
}

/// Scans and analyses off the async runtime, then keeps the analysis in `session`.
pub async fn analyze_and_store(
    state: &Arc<AppState>,
    session: &str,
    tasks: Vec<TaskInput>,
    project_files: Vec<String>,
    complexity: Complexity,
) -> Result<Analysis, CoordError> {
    Ok(state
        .coord
        .analyze(
            state.root.clone(),
            session,
            tasks,
            project_files,
            complexity,
        )
        .await?)
}

/// Deals the plan and records every task as `planned` for its agent.
pub async fn distribute_and_record(
    state: &Arc<AppState>,
    conn: &Connection,
    analysis: &Analysis,
    agents: usize,
) -> Result<Distribution, CoordError> {
    Ok(state.coord.distribute(conn, analysis, agents).await?)
}
