//! What the three planner tools share: reading tasks, running the analysis off
//! the async runtime, storing it, dealing the plan and recording it.

use std::sync::Arc;

use serde_json::Value;

use crate::error::CoordError;
use crate::planner::{Analysis, Connection, Distribution};
use crate::rules::plan::conflicts::Complexity;
use crate::rules::plan::{MAX_FILES_PER_TASK, MAX_TASK_DESCRIPTION, MAX_TASKS, TaskInput};
use crate::rules::targets::is_pattern;
use crate::state::AppState;

pub const TASK_FORM: &str =
    "each task is a string, or {\"description\": string, \"files\": [paths]}";

/// `tasks`: 1 to 50 entries, each a description or `{description, files}`.
pub fn parse_tasks(
    state: &AppState,
    tool: &str,
    raw: Option<&Value>,
) -> Result<Vec<TaskInput>, CoordError> {
    let invalid = |problem: String| CoordError::InvalidParams(format!("{tool}: tasks {problem}"));
    let items = match raw {
        None | Some(Value::Null) => {
            return Err(invalid(format!(
                "is required: a list of 1 to {MAX_TASKS} tasks; {TASK_FORM}"
            )));
        }
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid(format!("must be a list; {TASK_FORM}"))),
    };
    if items.is_empty() {
        return Err(invalid(format!(
            "is empty; give 1 to {MAX_TASKS} tasks; {TASK_FORM}"
        )));
    }
    if items.len() > MAX_TASKS {
        return Err(invalid(format!(
            "has {} entries; at most {MAX_TASKS} are accepted: plan a first batch, then the next",
            items.len()
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let at = |problem: String| {
                CoordError::InvalidParams(format!("{tool}: tasks[{i}] {problem}; {TASK_FORM}"))
            };
            let (description, files) = match item {
                Value::String(s) => (s.as_str(), None),
                Value::Object(map) => {
                    if let Some(k) = map
                        .keys()
                        .find(|k| !matches!(k.as_str(), "description" | "files"))
                    {
                        return Err(at(format!("has an unknown field {k:?}")));
                    }
                    let Some(Value::String(d)) = map.get("description") else {
                        return Err(at("needs a description string".into()));
                    };
                    (d.as_str(), map.get("files").filter(|f| !f.is_null()))
                }
                _ => return Err(at("is neither a string nor an object".into())),
            };
            if description.trim().is_empty() {
                return Err(at("has an empty description".into()));
            }
            if description.len() > MAX_TASK_DESCRIPTION {
                return Err(at(format!(
                    "has a description of {} bytes; at most {MAX_TASK_DESCRIPTION} are accepted",
                    description.len()
                )));
            }
            let files = match files {
                None => None,
                Some(Value::Array(list)) if list.len() <= MAX_FILES_PER_TASK => Some(
                    list.iter()
                        .map(|f| match f {
                            // A plan deals out files; a pattern could hide a file shared by two agents.
                            Value::String(p) if is_pattern(p) => Err(at(format!(
                                "files: {p:?} is a directory or glob; list the files themselves"
                            ))),
                            Value::String(p) => state
                                .roots
                                .normalize(p)
                                .map_err(|e| at(format!("files: {e}"))),
                            _ => Err(at("files must hold path strings".into())),
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                ),
                Some(Value::Array(list)) => {
                    return Err(at(format!(
                        "lists {} files; at most {MAX_FILES_PER_TASK} are accepted",
                        list.len()
                    )));
                }
                Some(_) => return Err(at("files must be a list of paths".into())),
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
