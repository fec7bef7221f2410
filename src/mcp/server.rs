//! The MCP server handler that rmcp drives for every protocol era. Tool
//! visibility is decided per request: `tools/list` shows only what the caller
//! is entitled to, and `tools/call` refuses anything else.

use std::borrow::Cow;
use std::time::Instant;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult,
    PaginatedRequestParams, ProtocolVersion, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use super::identity::Caller;
use super::tools;
use crate::error::CoordError;
use crate::rules::clients::ToolName;
use crate::state::SharedState;

const SUPPORTED_VERSIONS: &[ProtocolVersion] = &[
    ProtocolVersion::V_2026_07_28,
    ProtocolVersion::V_2025_11_25,
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_03_26,
];

#[derive(Debug, Clone)]
pub struct CoordinatorServer {
    state: SharedState,
}

impl CoordinatorServer {
    pub fn new(state: SharedState) -> Self {
        Self { state }
    }

    async fn refuse(&self, caller: &Caller, tool: &str) -> CoordError {
        let client = caller.verdict.label().to_owned();
        tracing::warn!(
            client = %client,
            tool,
            user = %caller.user,
            "SECURITY: coordination tool requested by a client that is not entitled to it; refused"
        );
        self.state.metrics.count_blocked(&client);
        let session = caller.user.session.clone();
        // The tool name is the client's own text: a NUL in it, which
        // PostgreSQL cannot keep in a text column, is written escaped so the
        // audit row is kept on either backend.
        let detail = format!("{client} asked for {}", tool.replace('\0', "\\0"));
        if let Err(e) = self
            .state
            .coord
            .record_blocked_client(
                session.as_ref().map(|s| s.session_id.as_str()),
                session.as_ref().map(|s| s.agent_id.as_str()),
                &detail,
            )
            .await
        {
            tracing::error!(error = %e, "could not record a blocked client");
        }
        CoordError::NotEntitled {
            tool: tool.to_owned(),
            client,
        }
    }

    async fn call(
        &self,
        request: CallToolRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, CoordError> {
        let caller = Caller::from_context(context, &self.state.security.admitted_clients)?;
        let Some(tool) = ToolName::parse(&request.name) else {
            if caller.entitled().is_empty() {
                // Unknown and hidden look the same to a client that has no tools.
                return Err(self.refuse(&caller, &request.name).await);
            }
            return Err(CoordError::UnknownTool(request.name.into_owned()));
        };
        if !caller.entitled().contains(&tool) {
            return Err(self.refuse(&caller, tool.as_str()).await);
        }
        let empty = rmcp::model::JsonObject::new();
        let arguments = request.arguments.as_ref().unwrap_or(&empty);
        let started = Instant::now();
        // rmcp cancels the request's token when the client disconnects or
        // cancels; the tool's future is dropped then, so a waiting claim
        // leaves its queue instead of waiting on for nobody.
        let outcome = tokio::select! {
            outcome = tools::call(&self.state, &caller, tool, arguments) => outcome,
            () = context.ct.cancelled() => Err(CoordError::Cancelled),
        };
        self.state
            .metrics
            .observe_tool(tool.as_str(), started.elapsed());
        Ok(outcome?.into())
    }
}

impl ServerHandler for CoordinatorServer {
    fn get_info(&self) -> ServerConfig {
        let mut info = ServerConfig::new(ServerCapabilities::builder().enable_tools().build());
        info.server_info = Implementation::new("ccmulti", env!("CARGO_PKG_VERSION"));
        info.instructions = Some(
            "ccmulti coordinates several Claude Code agents in one repository. Before editing a file, claim_file_lock it; \
             release_file_lock when done; sync_progress as you work; check_agent_status to see the others. \
             The planner: analyze_task_conflicts, then check each task's files and candidates with your own search and \
             call it again with {description, files} where they are wrong, then create_task_distribution."
                .into(),
        );
        info
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(SUPPORTED_VERSIONS)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        ToolName::parse(name).map(tools::definition)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let caller = Caller::from_context(&context, &self.state.security.admitted_clients)
            .map_err(CoordError::into_error_data)?;
        let tools = caller
            .entitled()
            .iter()
            .map(|t| tools::definition(*t))
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.call(request, &context)
            .await
            .map_err(CoordError::into_error_data)
    }
}
