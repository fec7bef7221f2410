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
use std::path::Path;
use std::sync::{Arc, LazyLock};

use rmcp::model::{
    CallToolResult, ContentBlock, JsonObject, ListToolsResult, Tool, ToolAnnotations,
};
use serde_json::Value;
use serde_json::value::RawValue;

use super::identity::Caller;
use crate::coord::Coordinator;
use crate::error::CoordError;
use crate::metrics::Metrics;
use crate::rules::clients::{ToolName, ToolSet};
use crate::worktrees::Roots;

/// What a tool may use, built once per call by the dispatch
/// ([`super::dispatch::call_tool`]) from the server's state.
#[derive(Debug, Clone, Copy)]
pub struct ToolContext<'a> {
    /// Every coordination step goes through the service.
    pub coord: &'a Coordinator,
    /// Who calls.
    pub caller: &'a Caller,
    /// The project's worktrees: a path in any of them is one lock path.
    pub roots: &'a Roots,
    /// The project root the planner scans.
    pub root: &'a Path,
    /// What the tools count (refused claims).
    pub metrics: &'a Metrics,
    /// Where clients reach this coordinator, for the lines the planner generates.
    pub public_url: &'a str,
    /// The `Authorization` header those lines carry, if a token is required.
    pub auth_header: Option<&'static str>,
}

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

/// The `tools/list` result for a set of tools: their definitions, in order.
pub fn listing(set: ToolSet) -> ListToolsResult {
    ListToolsResult::with_all_items(set.tools().iter().map(|t| definition(*t)).collect())
}

/// The names this build serves, for `/health/detailed`.
pub fn registered() -> Vec<&'static str> {
    ToolName::ALL.into_iter().map(ToolName::as_str).collect()
}

/// Runs one tool. Entitlement is the caller's to check first
/// ([`super::dispatch::call_tool`]).
pub(super) async fn call(
    cx: &ToolContext<'_>,
    tool: ToolName,
    arguments: &JsonObject,
) -> Result<ToolOutput, CoordError> {
    match tool {
        ToolName::ClaimFileLock => claim::call(cx, arguments).await,
        ToolName::ReleaseFileLock => release::call(cx, arguments).await,
        ToolName::SyncProgress => progress::call(cx, arguments).await,
        ToolName::CheckAgentStatus => status::call(cx, arguments).await,
        ToolName::AnalyzeTaskConflicts => analyze::call(cx, arguments).await,
        ToolName::CreateTaskDistribution => distribute::call(cx, arguments).await,
        ToolName::SetupMultiAgentCoordination => setup::call(cx, arguments).await,
    }
}

/// A tool's answer, serialised once: the typed outcome as compact JSON, which
/// the answer carries twice (as `structuredContent` and as a text block), and
/// whether it is an error result (`success: false`).
#[derive(Debug)]
pub struct ToolOutput {
    json: Box<RawValue>,
    is_error: bool,
}

impl ToolOutput {
    /// `outcome` as the tool's answer; `success: false` marks an error result.
    pub fn typed<T: serde::Serialize>(outcome: &T, success: bool) -> Result<Self, CoordError> {
        Ok(Self {
            json: serde_json::value::to_raw_value(outcome).map_err(CoordError::Encoding)?,
            is_error: !success,
        })
    }

    pub fn json(&self) -> &RawValue {
        &self.json
    }

    pub fn is_error(&self) -> bool {
        self.is_error
    }

    /// rmcp's form, for its handler: the JSON as a text block and as
    /// `structuredContent` (what `CallToolResult::structured` makes of a
    /// value, without writing the JSON a second time).
    pub fn into_call_result(self) -> Result<CallToolResult, CoordError> {
        let structured: Value =
            serde_json::from_str(self.json.get()).map_err(CoordError::Encoding)?;
        let text = vec![ContentBlock::text(String::from(Box::<str>::from(
            self.json,
        )))];
        let mut result = if self.is_error {
            CallToolResult::error(text)
        } else {
            CallToolResult::success(text)
        };
        result.structured_content = Some(structured);
        Ok(result)
    }
}

fn normalize_all(
    roots: &Roots,
    tool: &str,
    field: &str,
    raw: &[&str],
) -> Result<BTreeSet<String>, CoordError> {
    raw.iter()
        .map(|p| {
            roots
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
