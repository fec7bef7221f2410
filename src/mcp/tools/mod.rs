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
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, LazyLock};

use ccmulti_model::schema::{input_schema, output_schema};
use ccmulti_model::tools::{
    Analyze, Claim, Distribute, Progress, Release, Setup, Status, Tool, ToolName,
};

use rmcp::model::{CallToolResult, ContentBlock, JsonObject, ListToolsResult, ToolAnnotations};
use serde_json::Value;
use serde_json::value::RawValue;

use super::identity::Caller;
use crate::coord::Coordinator;
use crate::error::CoordError;
use crate::mcp::typed_args;
use crate::metrics::Metrics;
use crate::rules::clients::ToolSet;
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

/// A tool as this server serves it: the contract's name and types
/// ([`Tool`]), with what `tools/list` says of it and what it does.
/// Its definition and its dispatch are generic over this trait
/// ([`definition`], [`call`]), so neither repeats a name or a schema.
pub(crate) trait Served: Tool {
    const DESCRIPTION: &'static str;
    const HINTS: Hints;

    /// Runs the tool on arguments already checked against its schema.
    fn run(
        cx: &ToolContext<'_>,
        args: Self::Args,
    ) -> impl Future<Output = Result<Self::Result, CoordError>> + Send;
}

/// A tool's annotations: its title and what it does to the coordinator's state.
pub(crate) struct Hints {
    pub title: &'static str,
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
}

/// `$run::<T>($args)` for the tool `$name` names: the one place a tool's
/// name meets its type on the server.
macro_rules! by_tool {
    ($name:expr, $run:ident($($args:expr),*) $($then:tt)*) => {
        match $name {
            ToolName::ClaimFileLock => $run::<Claim>($($args),*) $($then)*,
            ToolName::ReleaseFileLock => $run::<Release>($($args),*) $($then)*,
            ToolName::SyncProgress => $run::<Progress>($($args),*) $($then)*,
            ToolName::CheckAgentStatus => $run::<Status>($($args),*) $($then)*,
            ToolName::AnalyzeTaskConflicts => $run::<Analyze>($($args),*) $($then)*,
            ToolName::CreateTaskDistribution => $run::<Distribute>($($args),*) $($then)*,
            ToolName::SetupMultiAgentCoordination => $run::<Setup>($($args),*) $($then)*,
        }
    };
}

/// Every tool's definition, built once: rmcp asks for one on every stateless
/// `tools/call` (to check the `Mcp-Name` header) and `tools/list` lists
/// several, and building one clones its whole input schema.
static DEFINITIONS: LazyLock<[rmcp::model::Tool; ToolName::ALL.len()]> =
    LazyLock::new(|| ToolName::ALL.map(|name| by_tool!(name, describe())));

/// The tool's definition: description, input and output schemas, annotations.
/// A clone of the one built at first use (its schemas are shared).
pub fn definition(name: ToolName) -> rmcp::model::Tool {
    let index = ToolName::ALL.iter().position(|t| *t == name).unwrap_or(0);
    DEFINITIONS[index].clone()
}

/// `T`'s definition: its schemas generated from its contract's types.
fn describe<T: Served>() -> rmcp::model::Tool {
    let hints = T::HINTS;
    let annotations = ToolAnnotations::with_title(hints.title)
        .read_only(hints.read_only)
        .destructive(hints.destructive)
        .idempotent(hints.idempotent)
        .open_world(false);
    rmcp::model::Tool::new(T::NAME, T::DESCRIPTION, Arc::new(input_schema::<T::Args>()))
        .with_raw_output_schema(Arc::new(output_schema::<T::Result>()))
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
    by_tool!(tool, call_typed(cx, arguments).await)
}

/// Reads the arguments into `T::Args` (checked against the schema its
/// definition carries), runs `T` and serialises its result.
async fn call_typed<T: Served>(
    cx: &ToolContext<'_>,
    arguments: &JsonObject,
) -> Result<ToolOutput, CoordError> {
    let schema = definition(T::ID).input_schema;
    let args = typed_args::parse::<T::Args>(T::NAME, &schema, arguments)?;
    let result = T::run(cx, args).await?;
    ToolOutput::typed(&result, T::success(&result))
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

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each registered tool is its contract's: the name, and schemas
    /// generated from its argument and result types (which the argument
    /// checker compiles).
    fn registered_from_contract<T: Served>() {
        let tool = definition(T::ID);
        assert_eq!(tool.name, T::NAME);
        assert_eq!(*tool.input_schema, input_schema::<T::Args>(), "{}", T::NAME);
        assert_eq!(
            tool.output_schema.as_deref(),
            Some(&output_schema::<T::Result>()),
            "{}",
            T::NAME
        );
        let empty = typed_args::parse::<T::Args>(T::NAME, &tool.input_schema, &JsonObject::new());
        assert!(
            !matches!(empty, Err(CoordError::Internal(_))),
            "{}: the input schema does not compile",
            T::NAME
        );
    }

    #[test]
    fn every_tool_is_registered_from_its_contract() {
        for name in ToolName::ALL {
            by_tool!(name, registered_from_contract());
        }
        let listed: Vec<String> = listing(ToolSet::Planner)
            .tools
            .into_iter()
            .map(|t| t.name.into_owned())
            .collect();
        assert_eq!(listed, registered());
    }
}
