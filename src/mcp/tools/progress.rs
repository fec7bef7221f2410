//! `sync_progress(task_id, status, progress_percentage?, message?, affected_files?)`.

use std::sync::{Arc, LazyLock};

use ccmulti_model::schema::{input_schema, output_schema};
use ccmulti_model::tools::{ProgressArgs, ProgressResult};
use rmcp::model::{JsonObject, ToolAnnotations};
use serde_json::Value;

use super::{ToolContext, ToolOutput, annotations, iso, normalize_all};
use crate::error::CoordError;
use crate::mcp::typed_args;
use crate::rules::progress::ProgressUpdate;

const NAME: &str = "sync_progress";

static INPUT: LazyLock<JsonObject> = LazyLock::new(input_schema::<ProgressArgs>);
static OUTPUT: LazyLock<Arc<JsonObject>> =
    LazyLock::new(|| Arc::new(output_schema::<ProgressResult>()));

pub fn schema() -> (&'static str, Value, Arc<JsonObject>, ToolAnnotations) {
    (
        "Broadcast your progress on a task to the other agents in this session: when you start, as you go, and when you finish, fail or are blocked.",
        Value::Object(INPUT.clone()),
        OUTPUT.clone(),
        annotations("Sync task progress", false, false, true),
    )
}

pub async fn call(cx: &ToolContext<'_>, arguments: &JsonObject) -> Result<ToolOutput, CoordError> {
    let args: ProgressArgs = typed_args::parse(NAME, &INPUT, arguments)?;
    let affected_files = match &args.affected_files {
        Some(raw) => {
            let raw: Vec<&str> = raw.iter().map(String::as_str).collect();
            Some(
                normalize_all(cx.roots, NAME, "affected_files", &raw)?
                    .into_iter()
                    .collect(),
            )
        }
        None => None,
    };
    let sa = cx.caller.session()?.clone();
    let update = ProgressUpdate {
        task_id: args.task_id,
        status: args.status.into(),
        progress_percentage: args.progress_percentage,
        message: args.message,
        affected_files,
    };
    let at = cx
        .coord
        .progress(&sa.session_id, &sa.agent_id, &update)
        .await?;
    ToolOutput::typed(
        &ProgressResult {
            success: true,
            task_id: update.task_id,
            status: update.status,
            progress_percentage: update.progress_percentage,
            updated_at: iso(at),
        },
        true,
    )
}
