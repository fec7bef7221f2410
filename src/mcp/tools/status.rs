//! `check_agent_status(include_inactive=false, news=true)`: the caller's session
//! only, with what changed for the caller since it last looked (told once).

use std::sync::Arc;

use ccmulti_ui::model::Activity;
use rmcp::model::{CallToolResult, JsonObject, ToolAnnotations};
use serde_json::{Value, json};

use super::{annotations, iso, output_schema, result};
use crate::error::CoordError;
use crate::mcp::args::Args;
use crate::mcp::identity::Caller;
use crate::rules::locks::seconds_until;
use crate::rules::news::News;
use crate::state::AppState;

const NAME: &str = "check_agent_status";

pub fn schema() -> (&'static str, Value, Arc<JsonObject>, ToolAnnotations) {
    (
        "See what the other agents in your session are doing: who is active (called within 2 minutes) or recent (10 minutes), \
         which files are locked by whom and for how long, and every task's progress. \
         news lists, once, what changed for you since you last looked: a file you wanted was freed, another agent completed a task, \
         a lock of yours was force-released, expired or is about to expire.",
        json!({
            "type": "object",
            "properties": {
                "include_inactive": { "type": "boolean", "default": false },
                "news": {
                    "type": "boolean", "default": true,
                    "description": "false leaves your news for later (it is neither listed nor marked as seen)"
                }
            },
            "additionalProperties": false
        }),
        output_schema(json!({
            "session_id": { "type": "string" },
            "you": { "type": "string" },
            "agents": { "type": "array", "items": { "type": "object" } },
            "locks": { "type": "array", "items": { "type": "object" } },
            "tasks": { "type": "array", "items": { "type": "object" } },
            "news": { "type": "array", "items": { "type": "object" } }
        })),
        // Not read-only: with `news` (the default) it marks the news as told.
        annotations("Check agent status", false, false, false),
    )
}

pub async fn call(
    state: &Arc<AppState>,
    caller: &Caller,
    arguments: &JsonObject,
) -> Result<CallToolResult, CoordError> {
    let args = Args::new(NAME, arguments, &["include_inactive", "news"])?;
    let include_inactive = args.optional_bool("include_inactive")?.unwrap_or(false);
    let want_news = args.optional_bool("news")?.unwrap_or(true);
    let sa = caller.session()?.clone();
    let session = sa.session_id.clone();
    let agent = sa.agent_id.clone();
    let (view, news) = state
        .store
        .blocking(move |s| {
            let news = if want_news {
                s.take_news(&session, &agent)?
            } else {
                Vec::new()
            };
            Ok((s.session_view(&session)?, news))
        })
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
    if want_news {
        value["news"] = news
            .iter()
            .map(|n| json!({ "kind": n.kind(), "path": n.path(), "message": n.message() }))
            .collect();
    }
    // A person freed these by hand; the agent must not keep editing as if it held them.
    let notices: Vec<String> = news
        .iter()
        .filter(|n| n.kind() == "own_lock_force_released")
        .map(News::message)
        .collect();
    if !notices.is_empty() {
        value["notices"] = json!(notices);
    }
    Ok(result(value))
}
