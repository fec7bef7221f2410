//! Who is calling, decided afresh on every request from every identity signal.

use http::HeaderMap;
use rmcp::RoleServer;
use rmcp::service::RequestContext;

use crate::error::CoordError;
use crate::rules::clients::{ClientVerdict, IdentitySignals, ToolSet, classify};
use ccmulti_model::tools::ToolName;
use ccmulti_model::{SessionAgent, VirtualUser};

/// What the HTTP intake learned from the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// The `{client}` path segment.
    pub client_segment: String,
    pub user: VirtualUser,
}

#[derive(Debug, Clone)]
pub struct Caller {
    pub user: VirtualUser,
    pub verdict: ClientVerdict,
}

impl Caller {
    /// The caller the HTTP intake decided on ([`Caller::identify`]), handed
    /// to rmcp's handler in the request's extensions: one decision per
    /// request, which its registration and its tools both follow.
    pub fn from_context(context: &RequestContext<RoleServer>) -> Result<Self, CoordError> {
        context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Caller>())
            .cloned()
            .ok_or_else(|| {
                CoordError::InvalidParams(
                    "request did not arrive on /mcp/v2/{client}/{virtual_user_id}".into(),
                )
            })
    }

    /// The decision itself, from the URL, the headers and the `clientInfo`
    /// name (of `_meta`, of an `initialize`, or of the session's handshake;
    /// rmcp invents a placeholder peer for stateless requests, so a
    /// handshake counts only on a session that made one).
    pub fn identify(
        route: &RouteInfo,
        headers: &HeaderMap,
        client_info_name: Option<&str>,
        admitted: &[String],
    ) -> Self {
        let x_client_names = headers
            .get_all("x-client-name")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let user_agents = headers
            .get_all(http::header::USER_AGENT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let verdict = classify(
            &IdentitySignals {
                path_client: &route.client_segment,
                x_client_names,
                client_info_name,
                user_agents,
            },
            admitted,
        );
        Self {
            user: route.user.clone(),
            verdict,
        }
    }

    pub fn tool_set(&self) -> ToolSet {
        ToolSet::of(&self.verdict, &self.user)
    }

    pub fn entitled(&self) -> &'static [ToolName] {
        self.tool_set().tools()
    }

    /// The session and agent, for tools that only make sense inside a session.
    pub fn session(&self) -> Result<&SessionAgent, CoordError> {
        self.user.session.as_ref().ok_or_else(|| {
            CoordError::InvalidParams(
                "this tool needs a session URL: /mcp/v2/claude/{user}__session__{session}__{agent}"
                    .into(),
            )
        })
    }
}
