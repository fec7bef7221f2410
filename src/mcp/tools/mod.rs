//! The coordination tools: their definitions (schemas, annotations) and dispatch.

mod analyze;
mod claim;
mod distribute;
mod planning;
mod progress;
mod release;
mod setup;
mod status;

use std::collections::BTreeSet;
use std::sync::{Arc, LazyLock};

use rmcp::model::{CallToolResult, JsonObject, Tool, ToolAnnotations};
use serde_json::Value;

use super::identity::Caller;
use crate::error::CoordError;
use crate::rules::clients::ToolName;
use crate::state::AppState;

fn object(v: Value) -> Arc<JsonObject> {
    match v {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(JsonObject::new()),
    }
}

/// Every tool's definition, built once: rmcp asks for one on every stateless
/// `tools/call` (to check the `Mcp-Name` header) and `tools/list` lists
/// several, and building one clones its whole input schema.
static DEFINITIONS: LazyLock<[Tool; 7]> = LazyLock::new(|| ToolName::ALL.map(build_definition));

/// The tool's definition: description, input and output schemas, annotations.
/// A clone of the one built at first use (its schemas are shared).
pub fn definition(name: ToolName) -> Tool {
    let index = ToolName::ALL.iter().position(|t| *t == name).unwrap_or(0);
    DEFINITIONS[index].clone()
}

fn build_definition(name: ToolName) -> Tool {
    let (description, input, output, annotations) = match name {
        ToolName::ClaimFileLock => claim::schema(),
        ToolName::ReleaseFileLock => release::schema(),
        ToolName::SyncProgress => progress::schema(),
        ToolName::CheckAgentStatus => status::schema(),
        ToolName::AnalyzeTaskConflicts => analyze::schema(),
        ToolName::CreateTaskDistribution => distribute::schema(),
        ToolName::SetupMultiAgentCoordination => setup::schema(),
    };
    Tool::new(name.as_str(), description, object(input))
        .with_raw_output_schema(output)
        .with_annotations(annotations)
}

/// The names this build serves, for `/health/detailed`.
pub fn registered() -> Vec<&'static str> {
    ToolName::ALL.into_iter().map(ToolName::as_str).collect()
}

pub async fn call(
    state: &Arc<AppState>,
    caller: &Caller,
    tool: ToolName,
    arguments: &JsonObject,
) -> Result<CallToolResult, CoordError> {
    match tool {
        ToolName::ClaimFileLock => claim::call(state, caller, arguments).await,
        ToolName::ReleaseFileLock => release::call(state, caller, arguments).await,
        ToolName::SyncProgress => progress::call(state, caller, arguments).await,
        ToolName::CheckAgentStatus => status::call(state, caller, arguments).await,
        ToolName::AnalyzeTaskConflicts => analyze::call(state, caller, arguments).await,
        ToolName::CreateTaskDistribution => distribute::call(state, caller, arguments).await,
        ToolName::SetupMultiAgentCoordination => setup::call(state, caller, arguments).await,
    }
}

/// A typed outcome, as `structuredContent` and the same JSON as a text block;
/// `success: false` marks the call as an error result.
fn typed_result<T: serde::Serialize>(
    outcome: &T,
    success: bool,
) -> Result<CallToolResult, CoordError> {
    let value = serde_json::to_value(outcome).map_err(CoordError::Encoding)?;
    Ok(if success {
        CallToolResult::structured(value)
    } else {
        CallToolResult::structured_error(value)
    })
}

fn normalize_all(
    state: &AppState,
    tool: &str,
    field: &str,
    raw: &[&str],
) -> Result<BTreeSet<String>, CoordError> {
    raw.iter()
        .map(|p| {
            state
                .roots
                .normalize(p)
                .map_err(|e| CoordError::InvalidParams(format!("{tool}: {field}: {e}")))
        })
        .collect()
}

fn annotations(
    title: &str,
    read_only: bool,
    destructive: bool,
    idempotent: bool,
) -> ToolAnnotations {
    ToolAnnotations::with_title(title)
        .read_only(read_only)
        .destructive(destructive)
        .idempotent(idempotent)
        .open_world(false)
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
