//! `claim_file_lock(file_paths, operation="write", duration_minutes=15)`.

use std::sync::Arc;

use rmcp::model::{CallToolResult, JsonObject, ToolAnnotations};
use serde_json::{Value, json};

use super::{annotations, iso, normalize_all, output_schema, result};
use crate::error::CoordError;
use crate::mcp::args::Args;
use crate::mcp::identity::Caller;
use crate::rules::locks::{
    DEFAULT_DURATION_MINUTES, MAX_DURATION_MINUTES, MAX_PATHS_PER_CALL, MIN_DURATION_MINUTES,
    Operation,
};
use crate::state::AppState;
use crate::store::ClaimOutcome;

const NAME: &str = "claim_file_lock";

pub fn schema() -> (&'static str, Value, Arc<JsonObject>, ToolAnnotations) {
    (
        "Claim expiring locks on files before editing them, so other agents in this session do not edit them at the same time. \
         All paths are granted or none is. write and delete are exclusive; read is shared with other readers. \
         Claiming a path you already hold renews it. On conflict the result names the holder and the seconds left.",
        json!({
            "type": "object",
            "properties": {
                "file_paths": {
                    "type": "array", "items": { "type": "string" }, "minItems": 1, "maxItems": MAX_PATHS_PER_CALL,
                    "description": "Paths relative to the project root (absolute paths inside it are accepted)."
                },
                "operation": { "type": "string", "enum": ["read", "write", "delete"], "default": "write" },
                "duration_minutes": {
                    "type": "integer", "minimum": MIN_DURATION_MINUTES, "maximum": MAX_DURATION_MINUTES,
                    "default": DEFAULT_DURATION_MINUTES
                }
            },
            "required": ["file_paths"],
            "additionalProperties": false
        }),
        output_schema(json!({
            "operation": { "type": "string" },
            "locks": { "type": "array", "items": { "type": "object" } },
            "conflicts": { "type": "array", "items": { "type": "object" } }
        })),
        annotations("Claim file locks", false, false, true),
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
        &["file_paths", "operation", "duration_minutes"],
    )?;
    let raw = args
        .optional_string_list("file_paths", MAX_PATHS_PER_CALL)?
        .ok_or_else(|| {
            CoordError::InvalidParams(format!(
                "{NAME}: file_paths is required (an array of paths)"
            ))
        })?;
    if raw.is_empty() {
        return Err(CoordError::InvalidParams(format!(
            "{NAME}: file_paths is empty; give 1 to {MAX_PATHS_PER_CALL} paths"
        )));
    }
    let operation = match args.optional_string("operation", 16)? {
        None => Operation::Write,
        Some(op) => Operation::parse(op).ok_or_else(|| {
            CoordError::InvalidParams(format!(
                "{NAME}: operation {op:?} is not one of {}",
                Operation::ACCEPTED
            ))
        })?,
    };
    let duration = args
        .optional_int(
            "duration_minutes",
            MIN_DURATION_MINUTES..=MAX_DURATION_MINUTES,
        )?
        .unwrap_or(DEFAULT_DURATION_MINUTES);
    let paths = normalize_all(state, NAME, "file_paths", &raw)?;
    let sa = caller.session()?.clone();
    let outcome = state
        .store
        .blocking(move |s| s.claim(&sa.session_id, &sa.agent_id, operation, &paths, duration))
        .await?;
    let now = state.store.now_ms();
    Ok(result(match outcome {
        ClaimOutcome::Granted(locks) => json!({
            "success": true,
            "operation": operation.as_str(),
            "locks": locks.iter().map(|l| json!({
                "path": l.path,
                "lock_id": l.lock_id,
                "fencing_token": l.fencing_token,
                "expires_at": iso(l.expires_at_ms),
                "expires_in_seconds": crate::rules::locks::seconds_until(now, l.expires_at_ms),
                "renewed": l.renewed,
            })).collect::<Vec<_>>(),
        }),
        ClaimOutcome::Conflicted(conflicts) => {
            state.metrics.count_conflict();
            let first = &conflicts[0];
            json!({
                "success": false,
                "message": format!(
                    "{} is held by {} for {} ({}s left); nothing was claimed. Work on something else, check_agent_status, and claim again later.",
                    first.path, first.holder, first.operation.as_str(), first.seconds_left
                ),
                "conflicts": conflicts.iter().map(|c| json!({
                    "path": c.path,
                    "holder": c.holder,
                    "operation": c.operation.as_str(),
                    "seconds_left": c.seconds_left,
                })).collect::<Vec<_>>(),
            })
        }
    }))
}
