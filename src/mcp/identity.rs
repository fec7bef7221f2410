//! Who is calling, decided afresh on every request from every identity signal.

use http::HeaderMap;
use rmcp::RoleServer;
use rmcp::service::RequestContext;

use crate::error::CoordError;
use crate::rules::clients::{ClientVerdict, IdentitySignals, ToolSet, classify};
use ccmulti_model::tools::ToolName;
use ccmulti_model::{SessionAgent, VirtualUser};

/// What the HTTP intake learned from the URL; carried in the request's extensions.
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
    /// From rmcp's request context. `admitted`: the clients besides Claude
    /// Code the owner lets in (`--admit-client`).
    pub fn from_context(
        context: &RequestContext<RoleServer>,
        admitted: &[String],
    ) -> Result<Self, CoordError> {
        let parts = context.extensions.get::<http::request::Parts>();
        let Some((parts, route)) =
            parts.and_then(|p| p.extensions.get::<RouteInfo>().map(|route| (p, route)))
        else {
            return Err(CoordError::InvalidParams(
                "request did not arrive on /mcp/v2/{client}/{virtual_user_id}".into(),
            ));
        };
        // rmcp fabricates a placeholder peer (its own name) for stateless requests,
        // so the handshake's clientInfo is trusted only on a session that made one.
        let on_session = parts.headers.contains_key("mcp-session-id");
        let client_info = context.meta.client_info().or_else(|| {
            on_session
                .then(|| context.peer.peer_info().map(|i| i.client_info.clone()))
                .flatten()
        });
        Ok(Self::identify(
            route,
            &parts.headers,
            client_info.as_ref().map(|i| i.name.as_str()),
            admitted,
        ))
    }

    /// The decision itself, from the URL, the headers and the `clientInfo`
    /// name (of `_meta`, or of the session's handshake): what rmcp's handler
    /// and the HTTP fast path both call.
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
