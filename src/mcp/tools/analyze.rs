//! `analyze_task_conflicts(tasks, project_files=[], complexity_level="moderate")`.

use std::sync::{Arc, LazyLock};

use ccmulti_model::schema::{input_schema, output_schema};
use ccmulti_model::tools::{AnalysisReply, AnalyzeArgs};
use ccmulti_planner::PlanRequest;
use rmcp::model::{JsonObject, ToolAnnotations};
use serde_json::Value;

use super::planning::check_tasks;
use super::{ToolContext, ToolOutput, annotations, normalize_all};
use crate::error::CoordError;
use crate::mcp::typed_args;

const NAME: &str = "analyze_task_conflicts";

static OUTPUT: LazyLock<Arc<JsonObject>> =
    LazyLock::new(|| Arc::new(output_schema::<AnalysisReply>()));
static INPUT: LazyLock<JsonObject> = LazyLock::new(input_schema::<AnalyzeArgs>);

pub fn schema() -> (&'static str, Value, Arc<JsonObject>, ToolAnnotations) {
    (
        "Planner: find which files each task touches, which tasks collide, and how many agents (2 to 5) to use. \
         Files are ranked by the words of the code (identifiers, comments, strings), paths, definitions and imports; \
         each task's files come as {path: \"matched,words:score\"} with the next candidates below the cut. \
         It is a lexical guess: read the candidates, confirm with your own search, and if files are wrong call again \
         with tasks as {description, files}. shared_files put two tasks on one agent (\"weak\" ones only while the \
         load allows); import_links counts imports between tasks; groups lists tasks that must share an agent. Then call create_task_distribution.",
        Value::Object(INPUT.clone()),
        OUTPUT.clone(),
        // Not read-only: the analysis is stored for create_task_distribution.
        annotations("Analyze task conflicts", false, false, false),
    )
}

pub async fn call(cx: &ToolContext<'_>, arguments: &JsonObject) -> Result<ToolOutput, CoordError> {
    let AnalyzeArgs {
        tasks,
        project_files,
        complexity_level,
    } = typed_args::parse(NAME, &INPUT, arguments)?;
    let tasks = check_tasks(cx.roots, NAME, tasks)?;
    let project_files: Vec<&str> = project_files.iter().map(String::as_str).collect();
    let project_files = normalize_all(cx.roots, NAME, "project_files", &project_files)?
        .into_iter()
        .collect();
    let session = cx.caller.session()?.session_id.clone();
    let request = PlanRequest {
        project_files,
        complexity: complexity_level,
        ..PlanRequest::new(cx.root.to_path_buf(), tasks)
    };
    let analysis = cx.coord.analyze(&session, request).await?;
    ToolOutput::typed(&analysis.reply(), true)
}
