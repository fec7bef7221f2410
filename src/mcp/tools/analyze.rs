//! `analyze_task_conflicts(tasks, project_files=[], complexity_level="moderate")`.

use std::sync::Arc;

use rmcp::model::{CallToolResult, JsonObject, ToolAnnotations};
use serde_json::{Value, json};

use super::planning::{analyze_and_store, parse_tasks};
use super::{annotations, normalize_all, output_schema, result};
use crate::error::CoordError;
use crate::mcp::args::Args;
use crate::mcp::identity::Caller;
use crate::rules::plan::conflicts::Complexity;
use crate::rules::plan::{MAX_FILES_PER_TASK, MAX_TASKS};
use crate::state::AppState;

const NAME: &str = "analyze_task_conflicts";
const MAX_PROJECT_FILES: usize = 10_000;

pub fn schema() -> (&'static str, Value, Arc<JsonObject>, ToolAnnotations) {
    (
        "Planner: find which files each task touches, which tasks collide, and how many agents (2 to 5) to use. \
         Files are ranked by the words of the code (identifiers, comments, strings), paths, definitions and imports; \
         each task's files come as {path: \"matched,words:score\"} with the next candidates below the cut. \
         It is a lexical guess: read the candidates, confirm with your own search, and if files are wrong call again \
         with tasks as {description, files}. shared_files put two tasks on one agent (\"weak\" ones only while the \
         load allows); import_links counts imports between tasks; groups lists tasks that must share an agent. Then call create_task_distribution.",
        json!({
            "type": "object",
            "properties": {
                "tasks": {
                    "type": "array", "minItems": 1, "maxItems": MAX_TASKS,
                    "items": { "anyOf": [
                        { "type": "string" },
                        { "type": "object", "properties": {
                            "description": { "type": "string" },
                            "files": { "type": "array", "items": { "type": "string" }, "maxItems": MAX_FILES_PER_TASK }
                        }, "required": ["description"], "additionalProperties": false }
                    ] }
                },
                "project_files": { "type": "array", "items": { "type": "string" }, "default": [], "maxItems": MAX_PROJECT_FILES },
                "complexity_level": { "type": "string", "enum": ["simple", "moderate", "complex"], "default": "moderate" }
            },
            "required": ["tasks"],
            "additionalProperties": false
        }),
        output_schema(json!({
            "analysis_id": { "type": "string" },
            "recommended_agent_count": { "type": "integer" },
            "tasks": { "type": "array", "items": { "type": "object" } },
            "shared_files": { "type": "array", "items": { "type": "object" } },
            "import_links": { "type": "integer" },
            "groups": { "type": "array", "items": { "type": "array", "items": { "type": "string" } } },
            "project": { "type": "object" },
            "next": { "type": "string" }
        })),
        // Not read-only: the analysis is stored for create_task_distribution.
        annotations("Analyze task conflicts", false, false, false),
    )
}

pub async fn call(
    state: &Arc<AppState>,
    caller: &Caller,
    arguments: &JsonObject,
) -> Result<CallToolResult, CoordError> {
    let args = Args::new(
        NAME,
        arguments,
        &["tasks", "project_files", "complexity_level"],
    )?;
    let tasks = parse_tasks(state, NAME, arguments.get("tasks"))?;
    let project_files = match args.optional_string_list("project_files", MAX_PROJECT_FILES)? {
        Some(raw) => normalize_all(state, NAME, "project_files", &raw)?
            .into_iter()
            .collect(),
        None => Vec::new(),
    };
    let complexity = match args.optional_string("complexity_level", 16)? {
        None => Complexity::Moderate,
        Some(raw) => Complexity::parse(raw).ok_or_else(|| {
            CoordError::InvalidParams(format!(
                "{NAME}: complexity_level {raw:?} is not one of {}",
                Complexity::ACCEPTED
            ))
        })?,
    };
    let session = caller.session()?.session_id.clone();
    let analysis = analyze_and_store(state, &session, tasks, project_files, complexity).await?;
    let out = analysis.reply();
    Ok(result(out))
}
