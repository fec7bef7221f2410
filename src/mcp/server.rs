//! The MCP server handler that rmcp drives for every protocol era. Tool
//! visibility is decided per request: `tools/list` shows only what the caller
//! is entitled to, and `tools/call` refuses anything else.

use std::borrow::Cow;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult,
    PaginatedRequestParams, ProtocolVersion, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use super::identity::Caller;
use super::{dispatch, tools};
use crate::deadline::{self, RequestDeadline};
use crate::error::CoordError;
use crate::state::SharedState;
use ccmulti_model::tools::ToolName;

pub(crate) const SUPPORTED_VERSIONS: &[ProtocolVersion] = &[
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

    async fn call(
        &self,
        request: CallToolRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, CoordError> {
        let caller = Caller::from_context(context)?;
        let empty = rmcp::model::JsonObject::new();
        let arguments = request.arguments.as_ref().unwrap_or(&empty);
        // The intake's limit for this request, carried across into rmcp's task.
        let deadline = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<RequestDeadline>())
            .copied()
            .unwrap_or_else(RequestDeadline::from_now);
        // rmcp cancels the request's token when the client disconnects or cancels.
        let call = dispatch::call_tool(
            &self.state,
            &caller,
            &request.name,
            arguments,
            context.ct.cancelled(),
        );
        let output = deadline::within(deadline, call).await?;
        Ok(output.into_call_result()?.into())
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
        let caller = Caller::from_context(&context).map_err(CoordError::into_error_data)?;
        Ok(tools::listing(caller.tool_set()))
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
