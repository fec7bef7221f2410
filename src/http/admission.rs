//! Who is calling, and whether the request may change anything. The
//! [`Admitted`] extractor reads the URL and the envelope, decides who is
//! calling once (the same decision the tools are served by), takes the
//! request's place among the open legacy sessions or event streams, and
//! only then registers the session and agent. So a request refused before
//! it reaches a tool (a client that is not admitted, a limit, a session this
//! coordinator did not open) writes nothing, and a session's owner is only
//! ever set by a client that is served.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use rmcp::model::{ClientRequest, GetMeta, JsonRpcRequest};
use serde_json::Value;

use super::answers::coord_error;
use super::envelope::Envelope;
use super::{HttpState, fast, limits};
use crate::deadline::{self, RequestDeadline};
use crate::error::CoordError;
use crate::mcp::RouteInfo;
use crate::mcp::identity::Caller;
use crate::rules::workspace_headers;
use ccmulti_model::{AgentWorkspace, VirtualUser};

/// An agent's `last_activity` is written at most this often; finer is noise.
const TOUCH_EVERY: Duration = Duration::from_secs(1);

const SESSION_HEADER: &str = "mcp-session-id";

/// The `{client}` segment and the virtual user of `/mcp/v2/{client}/{virtual_user_id}`.
pub(super) struct McpRoute(pub(super) RouteInfo);

impl FromRequestParts<HttpState> for McpRoute {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, http: &HttpState) -> Result<Self, Response> {
        let refuse = |e: CoordError| {
            http.app.metrics.count_request("invalid_url", "error");
            coord_error(e, Value::Null)
        };
        let Path((client_segment, raw_user)) =
            Path::<(String, String)>::from_request_parts(parts, http)
                .await
                .map_err(|e| refuse(CoordError::InvalidParams(e.body_text())))?;
        let user = raw_user
            .parse::<VirtualUser>()
            .map_err(|e| refuse(e.into()))?;
        Ok(Self(RouteInfo {
            client_segment,
            user,
        }))
    }
}

/// The `Mcp-Session-Id` a request carries, and what this coordinator knows of it.
pub(super) enum SessionRef {
    /// None: a stateless request, or an `initialize` that may open a
    /// session (`opening`, kept until rmcp has answered it).
    Without { opening: Option<fast::Handshake> },
    /// A session this coordinator opened and rmcp may still have.
    Known { id: String, fast: bool },
    /// An id this coordinator never handed out (`Some`), or one that is not
    /// text (`None`): rmcp's to refuse.
    Unknown { id: Option<String> },
}

impl SessionRef {
    fn of(
        http: &HttpState,
        headers: &HeaderMap,
        typed: Option<&RpcRequest>,
    ) -> (Self, Option<String>) {
        let Some(value) = headers.get(SESSION_HEADER) else {
            let opening = typed.and_then(fast::Handshake::of);
            return (Self::Without { opening }, None);
        };
        let Ok(id) = value.to_str() else {
            return (Self::Unknown { id: None }, None);
        };
        match http.known_sessions.lookup(id, Instant::now()) {
            Some(known) => (
                Self::Known {
                    id: id.to_owned(),
                    fast: known.fast,
                },
                Some(known.client_info_name),
            ),
            None => (
                Self::Unknown {
                    id: Some(id.to_owned()),
                },
                None,
            ),
        }
    }

    /// The id, when it is text.
    pub(super) fn id(&self) -> Option<&str> {
        match self {
            Self::Known { id, .. } | Self::Unknown { id: Some(id) } => Some(id),
            Self::Without { .. } | Self::Unknown { id: None } => None,
        }
    }

    pub(super) fn is_present(&self) -> bool {
        !matches!(self, Self::Without { .. })
    }
}

type RpcRequest = JsonRpcRequest<ClientRequest>;

/// A request that passed the intake: well formed, its caller decided, within
/// the limits, its agent registered if it is served.
pub(super) struct Admitted {
    pub(super) request: Request<Body>,
    /// The request as rmcp reads it, for the fast path.
    pub(super) typed: Option<RpcRequest>,
    pub(super) label: &'static str,
    pub(super) caller: Caller,
    pub(super) session: SessionRef,
    /// An event stream's place among the open ones, held while it streams.
    pub(super) stream_slot: Option<limits::StreamSlot>,
    /// When the answer is due at the latest ([`crate::deadline`]).
    pub(super) deadline: RequestDeadline,
}

impl FromRequest<HttpState> for Admitted {
    type Rejection = Response;

    async fn from_request(request: Request, http: &HttpState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let McpRoute(route) = McpRoute::from_request_parts(&mut parts, http).await?;
        let Envelope {
            request,
            message,
            label,
        } = Envelope::from_request(Request::from_parts(parts, body), http).await?;
        // The body is in: from here the coordinator answers within the bound.
        let deadline = RequestDeadline::from_now();
        let typed = message.and_then(|m| m.request);
        let (session, handshake_name) = SessionRef::of(http, request.headers(), typed.as_ref());
        let client_info_name = typed.as_ref().and_then(client_info_name).or(handshake_name);
        let caller = Caller::identify(
            &route,
            request.headers(),
            client_info_name.as_deref(),
            &http.app.security.admitted_clients,
        );
        let id = || {
            typed
                .as_ref()
                .and_then(|t| serde_json::to_value(&t.id).ok())
                .unwrap_or(Value::Null)
        };
        let stream_slot = take_place(http, request.method(), label, &session)
            .await
            .map_err(|reached| {
                http.app.metrics.count_request(label, "limited");
                coord_error(reached, id())
            })?;
        if registers(&caller, &session) {
            let uri = request.uri();
            let url = || format!("{}{}", http.app.public_url, uri.path());
            let calls_a_tool = label == "tools/call";
            deadline::within(deadline, register(http, &caller.user, url, calls_a_tool))
                .await
                .map_err(|e| {
                    http.app.metrics.count_request(label, "refused");
                    coord_error(e, id())
                })?;
            if label == "tools/list" {
                deadline::within(deadline, note_tools_listed(http, &caller.user)).await;
            }
            deadline::within(deadline, place(http, &caller.user, request.headers())).await;
        }
        Ok(Self {
            request,
            typed,
            label,
            caller,
            session,
            stream_slot,
            deadline,
        })
    }
}

/// The request's own `clientInfo` name: `_meta`'s, or an `initialize`'s.
fn client_info_name(request: &RpcRequest) -> Option<String> {
    if let Some(info) = request.request.get_meta().client_info() {
        return Some(info.name);
    }
    match &request.request {
        ClientRequest::InitializeRequest(init) => Some(init.params.client_info.name.clone()),
        _ => None,
    }
}

/// A served client on a session URL, on no session or on one this
/// coordinator opened: anything else writes nothing.
fn registers(caller: &Caller, session: &SessionRef) -> bool {
    caller.verdict.is_entitled()
        && caller.user.session.is_some()
        && !matches!(session, SessionRef::Unknown { .. })
}

/// A new legacy session or event stream, if the request opens one, within
/// the limits; an event stream's place is held by the slot returned.
async fn take_place(
    http: &HttpState,
    method: &Method,
    label: &str,
    session: &SessionRef,
) -> Result<Option<limits::StreamSlot>, CoordError> {
    let limits = &http.app.security.limits;
    if label == "initialize" && !session.is_present() {
        limits::admit_legacy_session(&http.legacy, limits).await?;
    } else if session.is_present() && method == Method::GET {
        return Ok(Some(http.streams.admit(limits)?));
    }
    Ok(None)
}

#[derive(Debug, Default)]
pub(crate) struct RecentTouches(Mutex<HashMap<String, Instant>>);

impl RecentTouches {
    fn due(&self, key: &str) -> bool {
        self.0
            .lock()
            .map(|m| m.get(key).is_none_or(|t| t.elapsed() >= TOUCH_EVERY))
            .unwrap_or(true)
    }

    /// Registered by this process before: a failed touch now only loses an
    /// activity timestamp.
    fn seen(&self, key: &str) -> bool {
        self.0.lock().map(|m| m.contains_key(key)).unwrap_or(false)
    }

    fn done(&self, key: String) {
        if let Ok(mut m) = self.0.lock() {
            if m.len() > 10_000 {
                m.clear();
            }
            m.insert(key, Instant::now());
        }
    }
}

/// Registers the session and agent, or touches the agent's activity, at
/// most once a second per agent.
///
/// When the database cannot take the write (down, frozen, a full disk), a
/// request that calls no tool goes on unregistered (`tools/list`, the
/// handshake, a stream need nothing of the store; the next request tries
/// again), and so does a tool call of an agent this process registered
/// before (its session's owner was checked then; the tool fails by itself
/// with the same error if it needs the store). A tool call of an agent not
/// registered is answered with that error: its session's owner is unknown.
async fn register(
    http: &HttpState,
    user: &VirtualUser,
    url: impl FnOnce() -> String,
    calls_a_tool: bool,
) -> Result<(), CoordError> {
    let key = user.to_string();
    if !http.touched.due(&key) {
        return Ok(());
    }
    match http
        .app
        .coord
        .register(user, &url())
        .await
        .map_err(CoordError::from)
    {
        Ok(()) => {}
        Err(e @ (CoordError::Unavailable(_) | CoordError::DiskFull(_)))
            if !calls_a_tool || http.touched.seen(&key) =>
        {
            tracing::warn!(agent = %key, error = %e, "not registered now; its next request tries again");
            return Ok(());
        }
        Err(e) => return Err(e),
    }
    http.touched.done(key);
    Ok(())
}

/// The agent's client listed its tools: a launcher waiting to give it its
/// first prompt may now (`ccmulti team`). At most once a second per agent; a
/// failure is logged and the listing answered all the same.
async fn note_tools_listed(http: &HttpState, user: &VirtualUser) {
    let key = format!("{user} tools/list");
    if !http.touched.due(&key) {
        return;
    }
    match http.app.coord.tools_listed(user).await {
        Ok(()) => http.touched.done(key),
        Err(e) => tracing::warn!(agent = %user, error = %e, "tools/list not noted"),
    }
}

/// The workspace each agent's hooks last named, by virtual user, as this
/// process recorded it: a hook call records it only when it changed.
#[derive(Debug, Default)]
pub(crate) struct Placed(Mutex<HashMap<String, AgentWorkspace>>);

/// Records where a served agent works when its request names it (the hooks
/// send `x-ccmulti-worktree`, `-branch`, `-host`), so hand-over knows agents
/// started by hand. A failure is logged: the call itself goes on.
async fn place(http: &HttpState, user: &VirtualUser, headers: &HeaderMap) {
    let Some(workspace) = workspace_headers::read(|name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }) else {
        return;
    };
    let key = user.to_string();
    let known = http
        .placed
        .0
        .lock()
        .is_ok_and(|p| p.get(&key) == Some(&workspace));
    if known {
        return;
    }
    match http.app.coord.report_workspace(user, &workspace).await {
        Ok(()) => {
            if let Ok(mut placed) = http.placed.0.lock() {
                placed.insert(key, workspace);
            }
        }
        Err(e) => tracing::warn!(agent = %key, error = %e, "workspace not recorded"),
    }
}

#[cfg(test)]
mod tests {
    use rmcp::model::ClientJsonRpcMessage;
    use serde_json::{Value, json};

    use super::{RpcRequest, client_info_name};

    fn request(body: Value) -> RpcRequest {
        match serde_json::from_value::<ClientJsonRpcMessage>(body) {
            Ok(ClientJsonRpcMessage::Request(request)) => request,
            other => panic!("a request: {other:?}"),
        }
    }

    #[test]
    fn the_client_names_itself_in_meta_or_in_its_handshake() {
        let stateless = request(json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list",
            "params": { "_meta": {
                "io.modelcontextprotocol/clientInfo": { "name": "cursor", "version": "1" } } } }));
        assert_eq!(client_info_name(&stateless).as_deref(), Some("cursor"));
        let handshake = request(json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": { "protocolVersion": "2025-11-25", "capabilities": {},
                        "clientInfo": { "name": "claude-code", "version": "2" } } }));
        assert_eq!(client_info_name(&handshake).as_deref(), Some("claude-code"));
        let bare = request(json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }));
        assert_eq!(client_info_name(&bare), None);
    }
}
