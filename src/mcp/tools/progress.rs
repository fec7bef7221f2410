//! `sync_progress(task_id, status, progress_percentage?, message?, affected_files?)`.

use std::sync::Arc;

use rmcp::model::{CallToolResult, JsonObject, ToolAnnotations};
use serde_json::{Value, json};

use super::{annotations, iso, normalize_all, output_schema, result};
use crate::error::CoordError;
use crate::mcp::args::Args;
use crate::mcp::identity::Caller;
use crate::rules::progress::{MAX_AFFECTED_FILES, MAX_MESSAGE_LEN, MAX_TASK_ID_LEN, TaskStatus};
use crate::state::AppState;
use crate::store::ProgressUpdate;

const NAME: &str = "sync_progress";

pub fn schema() -> (&'static str, Value, Arc<JsonObject>, ToolAnnotations) {
    (
        "Broadcast your progress on a task to the other agents in this session: when you start, as you go, and when you finish, fail or are blocked.",
        json!({
            "type": "object",
            "properties": {
                "task_id": { "type": "string", "maxLength": MAX_TASK_ID_LEN },
                "status": { "type": "string", "enum": ["started", "in_progress", "completed", "failed", "blocked", "paused"] },
                "progress_percentage": { "type": "integer", "minimum": 0, "maximum": 100 },
                "message": { "type": "string", "maxLength": MAX_MESSAGE_LEN },
                "affected_files": { "type": "array", "items": { "type": "string" }, "maxItems": MAX_AFFECTED_FILES }
            },
            "required": ["task_id", "status"],
            "additionalProperties": false
        }),
        output_schema(json!({
            "task_id": { "type": "string" },
            "status": { "type": "string" },
            "updated_at": { "type": "string" }
        })),
        annotations("Sync task progress", false, false, true),
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
        &[
            "task_id",
            "status",
            "progress_percentage",
            "message",
            "affected_files",
        ],
    )?;
    let task_id = args.required_string("task_id", MAX_TASK_ID_LEN)?.to_owned();
    let raw_status = args.required_string("status", 32)?;
    let status = TaskStatus::parse_reported(raw_status).ok_or_else(|| {
        CoordError::InvalidParams(format!(
            "{NAME}: status {raw_status:?} is not one of {}",
            TaskStatus::REPORTABLE
        ))
    })?;
    let progress_percentage = args
        .optional_int("progress_percentage", 0..=100)?
        .map(|p| p as u8);
    let message = args
        .optional_string("message", MAX_MESSAGE_LEN)?
        .map(str::to_owned);
    let affected_files = match args.optional_string_list("affected_files", MAX_AFFECTED_FILES)? {
        Some(raw) => Some(
            normalize_all(state, NAME, "affected_files", &raw)?
                .into_iter()
                .collect(),
        ),
        None => None,
    };
    let sa = caller.session()?.clone();
    let update = ProgressUpdate {
        task_id,
        status,
        progress_percentage,
        message,
        affected_files,
    };
    let (update, at) = state
        .store
        .blocking(move |s| {
            let at = s.sync_progress(&sa.session_id, &sa.agent_id, &update)?;
            Ok((update, at))
        })
        .await?;
    Ok(result(json!({
        "success": true,
        "task_id": update.task_id,
        "status": update.status.as_str(),
        "progress_percentage": update.progress_percentage,
        "updated_at": iso(at),
    })))
}
