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
    let key = format!("{}/{}", sa.session_id, sa.agent_id);
    let seen = state
        .forced_release_seen
        .lock()
        .map(|m| m.get(&key).copied().unwrap_or(0))
        .unwrap_or(0);
    let agent = sa.agent_id.clone();
    let (view, forced) = state
        .store
        .blocking(move |s| {
            Ok((
                s.session_view(&session)?,
                s.forced_releases_since(&session, &agent, seen)?,
            ))
        })
        .await?;
    if let (Some(last), Ok(mut m)) = (forced.last(), state.forced_release_seen.lock()) {
        m.insert(key, last.id);
    }
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
    let mut value = json!({
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
    });
    if !forced.is_empty() {
        // A person freed these by hand; the agent must not keep editing as if it held them.
        value["notices"] = forced
            .iter()
            .map(|e| {
                json!(format!(
                    "your lock on {} was {} at {}; claim it again before editing",
                    e.path.as_deref().unwrap_or("?"),
                    e.detail.as_deref().unwrap_or("force-released"),
                    iso(e.at_ms)
                ))
            })
            .collect();
    }
    Ok(result(value))
}
