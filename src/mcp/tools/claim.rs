//! `claim_file_lock(file_paths, operation="write", duration_minutes=15, wait_seconds=0)`.

use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{CallToolResult, JsonObject, ToolAnnotations};
use serde_json::{Value, json};

use super::{annotations, iso, normalize_all, output_schema, result};
use crate::error::CoordError;
use crate::mcp::args::Args;
use crate::mcp::identity::Caller;
use crate::rules::locks::{
    DEFAULT_DURATION_MINUTES, MAX_DURATION_MINUTES, MAX_PATHS_PER_CALL, MAX_WAIT_SECONDS,
    MIN_DURATION_MINUTES, Operation, seconds_until,
};
use crate::state::AppState;
use crate::store::{ClaimOutcome, ClaimRequest};

const NAME: &str = "claim_file_lock";

pub fn schema() -> (&'static str, Value, Arc<JsonObject>, ToolAnnotations) {
    (
        "Claim expiring locks on files before editing them, so other agents in this session do not edit them at the same time. \
         A path ending in / locks everything under that directory; a glob (src/api/**/*.rs, *, ?, [abc], {a,b}) locks what it matches. \
         All paths are granted or none is. write and delete are exclusive; read is shared with other readers. \
         Claiming a path (or the same pattern) you already hold renews it. On conflict the result names the holder and the seconds left. \
         With wait_seconds, a blocked claim waits up to that long for the paths to be released or expire, in arrival order, \
         and then answers with the grant or with the same conflict.",
        json!({
            "type": "object",
            "properties": {
                "file_paths": {
                    "type": "array", "items": { "type": "string" }, "minItems": 1, "maxItems": MAX_PATHS_PER_CALL,
                    "description": "Paths relative to the project root (absolute paths inside it are accepted). \
                                    End a path with / to lock a directory; use a glob (*, ?, **, [abc], {a,b}; \\ escapes) to lock what it matches."
                },
                "operation": { "type": "string", "enum": ["read", "write", "delete"], "default": "write" },
                "duration_minutes": {
                    "type": "integer", "minimum": MIN_DURATION_MINUTES, "maximum": MAX_DURATION_MINUTES,
                    "default": DEFAULT_DURATION_MINUTES
                },
                "wait_seconds": {
                    "type": "integer", "minimum": 0, "maximum": MAX_WAIT_SECONDS, "default": 0,
                    "description": "How long to wait for blocked paths before answering with the conflict; 0 answers at once."
                }
            },
            "required": ["file_paths"],
            "additionalProperties": false
        }),
        output_schema(json!({
            "operation": { "type": "string" },
            "locks": { "type": "array", "items": { "type": "object" } },
            "conflicts": { "type": "array", "items": { "type": "object" } },
            "waited_seconds": { "type": "number" }
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
        &[
            "file_paths",
            "operation",
            "duration_minutes",
            "wait_seconds",
        ],
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
    let wait_seconds = args
        .optional_int("wait_seconds", 0..=MAX_WAIT_SECONDS)?
        .unwrap_or(0);
    let paths = normalize_all(state, NAME, "file_paths", &raw)?;
    let sa = caller.session()?.clone();
    let request = ClaimRequest {
        session: sa.session_id,
        agent: sa.agent_id,
        operation,
        paths,
        duration_minutes: duration,
    };
    let (outcome, waited) = if wait_seconds == 0 {
        let outcome = state.store.blocking(move |s| s.claim_now(&request)).await?;
        (outcome, None)
    } else {
        let wait = Duration::from_secs(wait_seconds.unsigned_abs());
        let waited = state.store.claim_waiting(request, wait).await?;
        (waited.outcome, Some(waited.waited))
    };
    let now = state.store.now_ms();
    let mut value = match outcome {
        ClaimOutcome::Granted(locks) => json!({
            "success": true,
            "operation": operation.as_str(),
            "locks": locks.iter().map(|l| json!({
                "path": l.path,
                "lock_id": l.lock_id,
                "fencing_token": l.fencing_token,
                "expires_at": iso(l.expires_at_ms),
                "expires_in_seconds": seconds_until(now, l.expires_at_ms),
                "renewed": l.renewed,
            })).collect::<Vec<_>>(),
        }),
        ClaimOutcome::Conflicted(conflicts) => {
            state.metrics.count_conflict();
            let first = &conflicts[0];
            let what = if first.held_path == first.path {
                first.path.clone()
            } else {
                format!("{} overlaps {}, which", first.path, first.held_path)
            };
            let waited = match waited {
                Some(w) => format!(" after waiting {:.1}s", w.as_secs_f64()),
                None => String::new(),
            };
            json!({
                "success": false,
                "message": format!(
                    "{what} is held by {} for {} ({}s left); nothing was claimed{waited}. Work on something else, check_agent_status, and claim again later (wait_seconds waits for it).",
                    first.holder, first.operation.as_str(), first.seconds_left
                ),
                "conflicts": conflicts.iter().map(|c| json!({
                    "path": c.path,
                    "held_path": c.held_path,
                    "holder": c.holder,
                    "operation": c.operation.as_str(),
                    "seconds_left": c.seconds_left,
                })).collect::<Vec<_>>(),
            })
        }
    };
    if let Some(waited) = waited {
        // Milliseconds are enough, and keep the number readable.
        value["waited_seconds"] = json!((waited.as_secs_f64() * 1000.0).round() / 1000.0);
    }
    Ok(result(value))
}
