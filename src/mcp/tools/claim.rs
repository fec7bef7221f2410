//! `claim_file_lock(file_paths, operation="write", duration_minutes=15, wait_seconds=0)`.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use ccmulti_model::schema::{input_schema, output_schema};
use ccmulti_model::tools::{ClaimArgs, ClaimResult, Conflict, GrantedLock};
use rmcp::model::{JsonObject, ToolAnnotations};
use serde_json::Value;

use super::{ToolOutput, annotations, iso, normalize_all};
use crate::error::CoordError;
use crate::mcp::identity::Caller;
use crate::mcp::typed_args;
use crate::rules::locks::seconds_until;
use crate::state::AppState;
use crate::store::{ClaimOutcome, ClaimRequest};

const NAME: &str = "claim_file_lock";

static INPUT: LazyLock<JsonObject> = LazyLock::new(input_schema::<ClaimArgs>);
static OUTPUT: LazyLock<Arc<JsonObject>> =
    LazyLock::new(|| Arc::new(output_schema::<ClaimResult>()));

pub fn schema() -> (&'static str, Value, Arc<JsonObject>, ToolAnnotations) {
    (
        "Claim expiring locks on files before editing them, so other agents in this session do not edit them at the same time. \
         A path ending in / locks everything under that directory; a glob (src/api/**/*.rs, *, ?, [abc], {a,b}) locks what it matches. \
         All paths are granted or none is. write and delete are exclusive; read is shared with other readers. \
         Claiming a path (or the same pattern) you already hold renews it. On conflict the result names the holder and the seconds left. \
         With wait_seconds, a blocked claim waits up to that long for the paths to be released or expire, in arrival order, \
         and then answers with the grant or with the same conflict.",
        Value::Object(INPUT.clone()),
        OUTPUT.clone(),
        annotations("Claim file locks", false, false, true),
    )
}

pub async fn call(
    state: &Arc<AppState>,
    caller: &Caller,
    arguments: &JsonObject,
) -> Result<ToolOutput, CoordError> {
    let ClaimArgs {
        file_paths: raw,
        operation,
        duration_minutes: duration,
        wait_seconds,
    } = typed_args::parse(NAME, &INPUT, arguments)?;
    let raw: Vec<&str> = raw.iter().map(String::as_str).collect();
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
        let outcome = state.coord.claim_now(&request).await?;
        (outcome, None)
    } else {
        let wait = Duration::from_secs(wait_seconds.unsigned_abs());
        let waited = state.coord.claim_waiting(request, wait).await?;
        (waited.outcome, Some(waited.waited))
    };
    let now = state.coord.now_ms();
    let waited_seconds =
        // Milliseconds are enough, and keep the number readable.
        waited.map(|w| (w.as_secs_f64() * 1000.0).round() / 1000.0);
    let result = match outcome {
        ClaimOutcome::Granted(locks) => ClaimResult {
            success: true,
            message: None,
            operation: Some(operation),
            locks: locks
                .iter()
                .map(|l| GrantedLock {
                    path: l.path.clone(),
                    lock_id: l.lock_id.clone(),
                    fencing_token: l.fencing_token,
                    expires_at: iso(l.expires_at_ms),
                    expires_in_seconds: seconds_until(now, l.expires_at_ms),
                    renewed: l.renewed,
                })
                .collect(),
            conflicts: Vec::new(),
            waited_seconds,
        },
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
            ClaimResult {
                success: false,
                message: Some(format!(
                    "{what} is held by {} for {} ({}s left); nothing was claimed{waited}. Work on something else, check_agent_status, and claim again later (wait_seconds waits for it).",
                    first.holder,
                    first.operation.as_str(),
                    first.seconds_left
                )),
                operation: None,
                locks: Vec::new(),
                conflicts: conflicts
                    .iter()
                    .map(|c| Conflict {
                        path: c.path.clone(),
                        held_path: c.held_path.clone(),
                        holder: c.holder.clone(),
                        operation: c.operation,
                        seconds_left: c.seconds_left,
                    })
                    .collect(),
                waited_seconds,
            }
        }
    };
    ToolOutput::typed(&result, result.success)
}
