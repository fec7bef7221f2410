//! One tool call, whichever way it came in: rmcp's handler (`server.rs`) and
//! the HTTP fast path (`http::fast`) both call [`call_tool`], so entitlement,
//! the refusal (logged and counted), the tool itself and its latency metric
//! are written once.

use std::future::Future;
use std::time::Instant;

use rmcp::model::JsonObject;

use super::identity::Caller;
use super::tools::{self, ToolContext, ToolOutput};
use crate::error::CoordError;
use crate::state::ServerState;
use ccmulti_model::tools::ToolName;

/// Calls tool `name` for `caller`. `cancelled` ends the call early (rmcp
/// cancels a request when its client disconnects or cancels it); the tool's
/// future is dropped then, so a waiting claim leaves its queue instead of
/// waiting on for nobody.
pub async fn call_tool(
    state: &ServerState,
    caller: &Caller,
    name: &str,
    arguments: &JsonObject,
    cancelled: impl Future<Output = ()>,
) -> Result<ToolOutput, CoordError> {
    let Some(tool) = ToolName::parse(name) else {
        if caller.entitled().is_empty() {
            // Unknown and hidden look the same to a client that has no tools.
            return Err(refuse(state, caller, name));
        }
        return Err(CoordError::UnknownTool(name.to_owned()));
    };
    if !caller.entitled().contains(&tool) {
        return Err(refuse(state, caller, tool.as_str()));
    }
    let cx = ToolContext {
        coord: &state.coord,
        caller,
        roots: &state.roots,
        root: &state.root,
        metrics: &state.metrics,
        public_url: &state.public_url,
        auth_header: state.security.client_auth_header(),
    };
    let started = Instant::now();
    let outcome = tokio::select! {
        outcome = tools::call(&cx, tool, arguments) => outcome,
        () = cancelled => Err(CoordError::Cancelled),
    };
    state.metrics.observe_tool(tool.as_str(), started.elapsed());
    outcome
}

/// Logs and counts a call by a client that may not see the tool. Nothing is
/// written to the database: a refused client changes nothing, not even the
/// audit trail, which it could otherwise fill (and a session's events, which
/// it could otherwise write into).
fn refuse(state: &ServerState, caller: &Caller, tool: &str) -> CoordError {
    let client = caller.verdict.label().to_owned();
    tracing::warn!(
        client = %client,
        // The client's own text: shown escaped, as it came.
        tool = %tool.escape_debug(),
        user = %caller.user,
        "SECURITY: coordination tool requested by a client that is not entitled to it; refused"
    );
    state.metrics.count_blocked(&client);
    CoordError::NotEntitled {
        tool: tool.to_owned(),
        client,
    }
}
