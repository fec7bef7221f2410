//! `release_file_lock(file_paths?, all?)`: the tool the seed lacked. Own locks only.

use std::sync::Arc;

use rmcp::model::{CallToolResult, JsonObject, ToolAnnotations};
use serde_json::{Value, json};

use super::{annotations, normalize_all, output_schema, result};
use crate::error::CoordError;
use crate::mcp::args::Args;
use crate::mcp::identity::Caller;
use crate::rules::locks::{MAX_PATHS_PER_CALL, ReleaseScope};
use crate::state::AppState;

const NAME: &str = "release_file_lock";

pub fn schema() -> (&'static str, Value, Arc<JsonObject>, ToolAnnotations) {
    (
        "Release file locks you hold, as soon as you finish editing them. Give file_paths, or all=true for every lock you hold. \
         A directory or glob lock is released by the same string it was claimed with. \
         Only your own locks are released; paths you do not hold are listed in not_held.",
        json!({
            "type": "object",
            "properties": {
                "file_paths": { "type": "array", "items": { "type": "string" }, "maxItems": MAX_PATHS_PER_CALL },
                "all": { "type": "boolean", "default": false }
            },
            "additionalProperties": false
        }),
        output_schema(json!({
            "released": { "type": "array", "items": { "type": "string" } },
            "not_held": { "type": "array", "items": { "type": "string" } }
        })),
        annotations("Release file locks", false, true, true),
    )
}

pub async fn call(
    state: &Arc<AppState>,
    caller: &Caller,
    arguments: &JsonObject,
) -> Result<CallToolResult, CoordError> {
    let args = Args::new(NAME, arguments, &["file_paths", "all"])?;
    let all = args.optional_bool("all")?.unwrap_or(false);
    let raw = args.optional_string_list("file_paths", MAX_PATHS_PER_CALL)?;
    let scope = match (all, raw) {
        (true, Some(_)) => {
            return Err(CoordError::InvalidParams(format!(
                "{NAME}: give either file_paths or all=true, not both"
            )));
        }
        (true, None) => ReleaseScope::All,
        (false, Some(raw)) if !raw.is_empty() => {
            ReleaseScope::Paths(normalize_all(state, NAME, "file_paths", &raw)?)
        }
        (false, _) => {
            return Err(CoordError::InvalidParams(format!(
                "{NAME}: nothing to release; give file_paths (1 to {MAX_PATHS_PER_CALL} paths) or all=true"
            )));
        }
    };
    let sa = caller.session()?.clone();
    let outcome = state
        .store
        .blocking(move |s| s.release(&sa.session_id, &sa.agent_id, &scope))
        .await?;
    let released: Vec<&str> = outcome.released.iter().map(|l| l.path.as_str()).collect();
    let mut value = json!({
        "success": outcome.not_held.is_empty(),
        "released": released,
        "not_held": outcome.not_held,
    });
    if !outcome.not_held.is_empty() {
        value["message"] = json!(format!(
            "you do not hold {}; only your own live locks can be released (check_agent_status shows who holds what)",
            outcome.not_held.join(", ")
        ));
    }
    Ok(result(value))
}
