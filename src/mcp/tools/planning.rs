//! What the three planner tools share: checking tasks (what their type
//! cannot say) and the connection their generated lines name.

use super::ToolContext;
use crate::error::CoordError;
use crate::rules::targets::is_pattern;
use crate::worktrees::Roots;
use ccmulti_model::tools::plan::{MAX_FILES_PER_TASK, MAX_TASK_DESCRIPTION, TASK_FORM, TaskSpec};
use ccmulti_planner::{Connection, TaskInput};

/// Checks what the task's type cannot (an empty or over-long description,
/// too many files, a pattern among them) and normalises its files among the
/// project's worktrees.
pub fn check_tasks(
    roots: &Roots,
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
                            roots.normalize(p).map_err(|e| at(format!("files: {e}")))
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

/// What the generated lines need to reach this coordinator as `user_id` in `session_id`.
pub fn connection(cx: &ToolContext<'_>, user_id: &str, session_id: &str) -> Connection {
    Connection {
        public_url: cx.public_url.to_owned(),
        auth_header: cx.auth_header.map(str::to_owned),
        user_id: user_id.to_owned(),
        session_id: session_id.to_owned(),
    }
}
