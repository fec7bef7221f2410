//! `check_agent_status(include_inactive=false)`: the caller's session only.

use std::sync::Arc;

use ccmulti_ui::model::Activity;
use rmcp::model::{CallToolResult, JsonObject, ToolAnnotations};
use serde_json::{Value, json};

use super::{annotations, iso, output_schema, result};
use crate::error::CoordError;
use crate::mcp::args::Args;
use crate::mcp::identity::Caller;
use crate::rules::locks::seconds_until;
use crate::state::AppState;

const NAME: &str = "check_agent_status";

pub fn schema() -> (&'static str, Value, Arc<JsonObject>, ToolAnnotations) {
    (
        "See what the other agents in your session are doing: who is active (called within 2 minutes) or recent (10 minutes), \
         which files are locked by whom and for how long, and every task's progress.",
        json!({
            "type": "object",
            "properties": { "include_inactive": { "type": "boolean", "default": false } },
            "additionalProperties": false
        }),
        output_schema(json!({
            "session_id": { "type": "string" },
            "you": { "type": "string" },
            "agents": { "type": "array", "items": { "type": "object" } },
            "locks": { "type": "array", "items": { "type": "object" } },
            "tasks": { "type": "array", "items": { "type": "object" } }
        })),
        annotations("Check agent status", true, false, true),
    )
}

pub async fn call(
    state: &Arc<AppState>,
    caller: &Caller,
    arguments: &JsonObject,
) -> Result<CallToolResult, CoordError> {
    let args = Args::new(NAME, arguments, &["include_inactive"])?;
    let include_inactive = args.optional_bool("include_inactive")?.unwrap_or(false);
    let sa = caller.session()?.clone();
    let session = sa.session_id.clone();
    let view = state
        .store
        .blocking(move |s| s.session_view(&session))
        .await?;
    let now = view.now_ms;
    let agents: Vec<Value> = view
        .agents
        .iter()
        .filter_map(|a| {
            let activity = Activity::classify(now, a.last_activity_ms);
            (include_inactive || activity != Activity::Inactive).then(|| {
                json!({
                    "agent_id": a.agent_id,
                    "role": a.role,
                    "activity": activity.as_str(),
                    "seconds_since_activity": (now - a.last_activity_ms).max(0) / 1000,
                    "current_task": a.current_task,
                    "locks": a.lock_count,
                })
            })
        })
        .collect();
    Ok(result(json!({
        "success": true,
        "session_id": sa.session_id,
        "you": sa.agent_id,
        "now": iso(now),
        "agents": agents,
        "locks": view.locks.iter().map(|l| json!({
            "path": l.path,
            "agent_id": l.agent_id,
            "operation": l.operation,
            "expires_in_seconds": seconds_until(now, l.expires_at_ms),
            "fencing_token": l.fencing_token,
        })).collect::<Vec<_>>(),
        "tasks": view.tasks.iter().map(|t| json!({
            "agent_id": t.agent_id,
            "task_id": t.task_id,
            "status": t.status,
            "progress_percentage": t.progress_percentage,
            "message": t.message,
            "updated_at": iso(t.updated_at_ms),
        })).collect::<Vec<_>>(),
    })))
}
