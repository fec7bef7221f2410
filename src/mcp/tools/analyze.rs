//! `analyze_task_conflicts(tasks, project_files=[], complexity_level="moderate")`.

use ccmulti_model::tools::{AnalysisReply, Analyze, AnalyzeArgs, Tool};
use ccmulti_planner::PlanRequest;

use super::planning::check_tasks;
use super::{Hints, Served, ToolContext, normalize_all};
use crate::error::CoordError;

impl Served for Analyze {
    const DESCRIPTION: &'static str = "Planner: find which files each task touches, which tasks collide, and how many agents (2 to 5) to use. \
         Files are ranked by the words of the code (identifiers, comments, strings), paths, definitions and imports; \
         each task's files come as {path: \"matched,words:score\"} with the next candidates below the cut. \
         It is a lexical guess: read the candidates, confirm with your own search, and if files are wrong call again \
         with tasks as {description, files}. shared_files put two tasks on one agent (\"weak\" ones only while the \
         load allows); import_links counts imports between tasks; groups lists tasks that must share an agent. Then call create_task_distribution.";
    // Not read-only: the analysis is stored for create_task_distribution.
    const HINTS: Hints = Hints {
        title: "Analyze task conflicts",
        read_only: false,
        destructive: false,
        idempotent: false,
    };

    async fn run(cx: &ToolContext<'_>, args: AnalyzeArgs) -> Result<AnalysisReply, CoordError> {
        run(cx, args).await
    }
}

const NAME: &str = Analyze::NAME;

async fn run(cx: &ToolContext<'_>, args: AnalyzeArgs) -> Result<AnalysisReply, CoordError> {
    let AnalyzeArgs {
        tasks,
        project_files,
        complexity_level,
    } = args;
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
    Ok(analysis.reply())
}
