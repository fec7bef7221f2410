//! The layer in front of rmcp: parses who is calling from the URL, registers
//! the session and agent, answers malformed JSON-RPC with proper JSON-RPC
//! errors, supplies the `Accept` header that bare curl omits, and routes each
//! request to the fast path (`tools/list` and `tools/call`, stateless or on a
//! session it knows), the session-keeping or the stateless rmcp service.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use rmcp::model::{ClientJsonRpcMessage, ClientRequest, JsonRpcRequest};
use rmcp::transport::streamable_http_server::SessionManager;
use serde_json::{Value, json};

use super::{FastPath, HttpState, MAX_BODY_BYTES, fast, limits};
use crate::error::CoordError;
use crate::mcp::RouteInfo;
use crate::rules::workspace_headers;
use ccmulti_model::{AgentWorkspace, VirtualUser};

/// An agent's `last_activity` is written at most this often; finer is noise.
const TOUCH_EVERY: Duration = Duration::from_secs(1);

/// The methods a client may send; anything else is -32601.
const KNOWN_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "server/discover",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "tasks/get",
    "tasks/list",
    "tasks/cancel",
    "tasks/result",
];

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

fn jsonrpc_error(status: StatusCode, id: Value, code: i32, message: impl Into<String>) -> Response {
    let body =
        json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message.into() } });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn coord_error(e: CoordError) -> Response {
    let status = e.http_status();
    let data = e.into_error_data();
    jsonrpc_error(status, Value::Null, data.code.0, data.message)
}

/// What the JSON-RPC body says, once it is known to be well formed.
pub(super) struct Message {
    pub(super) method: Option<String>,
    /// The request as rmcp reads it, when the one typed parse succeeded.
    pub(super) request: Option<JsonRpcRequest<ClientRequest>>,
}

/// Checks the envelope so malformed input gets a JSON-RPC error rather than rmcp's bare 415.
pub(super) fn check_message(body: &[u8]) -> Result<Message, Box<Response>> {
    well_formed_request(body).map_or_else(|| explain_message(body), Ok)
}

/// The common case in one typed parse: a request rmcp reads as one of its
/// own (not as a custom method) whose method this server answers. Its
/// envelope is then what [`explain_message`] accepts: rmcp's types require
/// `"jsonrpc": "2.0"`, a string or number id and, for `tools/call`, a name
/// and an object (or null) of arguments. `tools/list` and `tools/call` are
/// read straight into their own types (`tool_request.rs`); anything else
/// that is not such a request goes the long way, which says what is wrong.
fn well_formed_request(body: &[u8]) -> Option<Message> {
    let request = match super::tool_request::read(body) {
        Some(request) => request,
        None => match serde_json::from_slice::<ClientJsonRpcMessage>(body).ok()? {
            ClientJsonRpcMessage::Request(request)
                if !matches!(request.request, ClientRequest::CustomRequest(_)) =>
            {
                request
            }
            _ => return None,
        },
    };
    let method = request.request.method();
    let method = KNOWN_METHODS.iter().find(|known| **known == method)?;
    Some(Message {
        method: Some((*method).to_owned()),
        request: Some(request),
    })
}

/// Reads the body as JSON and says what is wrong with it as JSON-RPC, or
/// what its method is when nothing is.
fn explain_message(body: &[u8]) -> Result<Message, Box<Response>> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        Box::new(jsonrpc_error(
            StatusCode::BAD_REQUEST,
            Value::Null,
            -32700,
            format!("parse error: the body is not JSON ({e}); send one JSON-RPC 2.0 object"),
        ))
    })?;
    let invalid = |id: Value, why: &str| {
        Box::new(jsonrpc_error(
            StatusCode::BAD_REQUEST,
            id,
            -32600,
            format!("invalid request: {why}"),
        ))
    };
    let Value::Object(obj) = &value else {
        return Err(invalid(
            Value::Null,
            "expected one JSON-RPC 2.0 object; batches are not accepted since MCP 2025-06-18",
        ));
    };
    let id = obj.get("id").cloned().unwrap_or(Value::Null);
    if !matches!(id, Value::Null | Value::String(_) | Value::Number(_)) {
        return Err(invalid(Value::Null, "id must be a string or a number"));
    }
    if obj.get("jsonrpc") != Some(&json!("2.0")) {
        return Err(invalid(id, "\"jsonrpc\" must be \"2.0\""));
    }
    let method = match obj.get("method") {
        None => None,
        Some(Value::String(m)) => Some(m.clone()),
        Some(_) => return Err(invalid(id, "\"method\" must be a string")),
    };
    if method.is_none() && !(obj.contains_key("result") || obj.contains_key("error")) {
        return Err(invalid(
            id,
            "a message needs \"method\" (a request or notification) or \"result\"/\"error\"",
        ));
    }
    if let Some(m) = &method {
        let is_request = obj.contains_key("id");
        if is_request && !KNOWN_METHODS.contains(&m.as_str()) {
            return Err(Box::new(jsonrpc_error(
                StatusCode::OK,
                id,
                -32601,
                format!(
                    "method {m:?} not found; this server answers initialize, ping, server/discover, tools/list and tools/call"
                ),
            )));
        }
        if m == "tools/call"
            && let Err(why) = check_tool_call(obj.get("params"))
        {
            return Err(Box::new(jsonrpc_error(StatusCode::OK, id, -32602, why)));
        }
        if is_request
            && let Err(e) = <ClientJsonRpcMessage as serde::Deserialize>::deserialize(&value)
        {
            return Err(Box::new(jsonrpc_error(
                StatusCode::OK,
                id,
                -32602,
                format!("invalid params for {m}: {e}"),
            )));
        }
    }
    Ok(Message {
        method,
        request: None,
    })
}

/// rmcp would take a malformed `tools/call` for an unknown custom method; say what is wrong instead.
fn check_tool_call(params: Option<&Value>) -> Result<(), String> {
    let Some(Value::Object(params)) = params else {
        return Err(
            "invalid params: tools/call needs params {\"name\": tool name, \"arguments\": object}"
                .into(),
        );
    };
    if !params.get("name").is_some_and(Value::is_string) {
        return Err(
            "invalid params: tools/call needs params.name, the tool's name as a string".into(),
        );
    }
    if params
        .get("arguments")
        .is_some_and(|a| !(a.is_object() || a.is_null()))
    {
        return Err("invalid params: tools/call params.arguments must be an object".into());
    }
    Ok(())
}

/// Bare curl sends no `Accept`; rmcp requires JSON and SSE to be acceptable.
fn default_accept(request: &mut Request<Body>) {
    let wanted = if request.method() == Method::GET {
        "text/event-stream"
    } else {
        "application/json, text/event-stream"
    };
    let current = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let lacks = |mime: &str| !(current.contains(mime) || current.contains("*/*"));
    let needs_default = current.trim().is_empty()
        || current.contains("*/*")
        || (request.method() == Method::POST
            && (lacks("application/json") || lacks("text/event-stream")));
    if needs_default {
        request
            .headers_mut()
            .insert(header::ACCEPT, HeaderValue::from_static(wanted));
    }
}

/// A session agent of a client this coordinator serves: registered, touched
/// and its tools/list noted (anyone else is answered, or refused, by the tools).
fn is_served_agent(http: &HttpState, client: &str, user: &VirtualUser) -> bool {
    let served = client == "claude"
        || http
            .app
            .security
            .admitted_clients
            .iter()
            .any(|c| c == client);
    served && user.session.is_some()
}

async fn register(
    http: &HttpState,
    client: &str,
    user: &VirtualUser,
    url: String,
) -> Result<(), Response> {
    if !is_served_agent(http, client, user) {
        return Ok(());
    }
    let key = user.to_string();
    if !http.touched.due(&key) {
        return Ok(());
    }
    match http
        .app
        .coord
        .register(user, &url)
        .await
        .map_err(CoordError::from)
    {
        Ok(()) => {}
        // A known agent's call goes on without its activity touch when the
        // database cannot take writes: a read still answers, and a write
        // fails on its own with the same clear error, inside JSON-RPC.
        Err(e @ (CoordError::Unavailable(_) | CoordError::DiskFull(_)))
            if http.touched.seen(&key) =>
        {
            tracing::warn!(agent = %key, error = %e, "activity not recorded");
            return Ok(());
        }
        Err(e) => return Err(coord_error(e)),
    }
    http.touched.done(key);
    Ok(())
}

/// The agent's client listed its tools: a launcher waiting to give it its
/// first prompt may now (`ccmulti team`). At most once a second per agent; a
/// failure is logged and the listing answered all the same.
async fn note_tools_listed(http: &HttpState, client: &str, user: &VirtualUser) {
    if !is_served_agent(http, client, user) {
        return;
    }
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

/// Records where the caller works when its request names it (the hooks send
/// `x-ccmulti-worktree`, `-branch`, `-host`), so hand-over knows agents
/// started by hand. A failure is logged: the call itself goes on.
async fn place(http: &HttpState, user: &VirtualUser, headers: &HeaderMap) {
    if user.session.is_none() {
        return;
    }
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

fn metric_method(method: &Option<String>, http_method: &Method) -> &'static str {
    match method.as_deref() {
        Some(m) => KNOWN_METHODS.iter().find(|k| **k == m).copied().unwrap_or(
            if m.starts_with("notifications/") {
                "notification"
            } else {
                "unknown"
            },
        ),
        None if http_method == Method::GET => "GET",
        None if http_method == Method::DELETE => "DELETE",
        None => "response",
    }
}

pub async fn mcp_endpoint(
    State(http): State<HttpState>,
    Path((client, raw_user)): Path<(String, String)>,
    mut request: Request<Body>,
) -> Response {
    let user = match raw_user.parse::<VirtualUser>() {
        Ok(user) => user,
        Err(e) => {
            http.app.metrics.count_request("invalid_url", "error");
            return coord_error(e.into());
        }
    };
    let url = format!("{}{}", http.app.public_url, request.uri().path());
    let mut method = None;
    let mut typed = None;
    let mut is_initialize = false;
    if request.method() == Method::POST {
        let (parts, body) = request.into_parts();
        let read = tokio::time::timeout(
            http.app.security.limits.body_read_timeout,
            Limited::new(body, MAX_BODY_BYTES).collect(),
        );
        let Ok(read) = read.await else {
            http.app.metrics.count_request("slow_body", "error");
            return jsonrpc_error(
                StatusCode::REQUEST_TIMEOUT,
                Value::Null,
                -32600,
                format!(
                    "the request body did not arrive within {} s of its headers; send the whole body at once (the coordinator's owner sets this with --body-read-timeout or CCMULTI_BODY_READ_TIMEOUT)",
                    http.app.security.limits.body_read_timeout.as_secs()
                ),
            );
        };
        let bytes: Bytes = match read {
            Ok(collected) => collected.to_bytes(),
            Err(e) => {
                http.app.metrics.count_request("oversized", "error");
                let too_large = e
                    .downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some();
                return if too_large {
                    jsonrpc_error(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        Value::Null,
                        -32600,
                        format!(
                            "request body exceeds {MAX_BODY_BYTES} bytes; a coordination call needs far less"
                        ),
                    )
                } else {
                    jsonrpc_error(
                        StatusCode::BAD_REQUEST,
                        Value::Null,
                        -32600,
                        "could not read the request body",
                    )
                };
            }
        };
        match check_message(&bytes) {
            Ok(message) => {
                method = message.method;
                typed = message.request;
            }
            Err(response) => {
                http.app.metrics.count_request("malformed", "error");
                return *response;
            }
        }
        is_initialize = method.as_deref() == Some("initialize");
        request = Request::from_parts(parts, Body::from(bytes));
    }
    let label = metric_method(&method, request.method());
    if let Err(response) = register(&http, &client, &user, url).await {
        http.app.metrics.count_request(label, "refused");
        return response;
    }
    if method.as_deref() == Some("tools/list") {
        note_tools_listed(&http, &client, &user).await;
    }
    place(&http, &user, request.headers()).await;
    default_accept(&mut request);
    let route = RouteInfo {
        client_segment: client,
        user,
    };
    let session_id = request
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let has_session = request.headers().contains_key("mcp-session-id");
    let handshake = typed
        .as_ref()
        .filter(|_| is_initialize && !has_session)
        .and_then(fast::Handshake::of);
    // A session id that is not text is rmcp's to refuse.
    let readable_session = session_id.is_some() == has_session;
    if http.fast_path == FastPath::On
        && readable_session
        && let Some(typed) = typed
        && let Some(asked) =
            fast_request(&http, session_id.as_deref(), request.headers(), typed).await
    {
        let (response, failed) = fast::answer(&http.app, &route, request.headers(), asked).await;
        http.app
            .metrics
            .count_request(label, if failed { "error" } else { "ok" });
        http.app.metrics.count_fast_path();
        return response;
    }
    request.extensions_mut().insert(route);
    let limits = &http.app.security.limits;
    let mut stream_slot = None;
    if is_initialize && !has_session {
        if let Err(reached) = limits::admit_legacy_session(&http.legacy, limits).await {
            http.app.metrics.count_request(label, "limited");
            return coord_error(reached.into());
        }
    } else if has_session && request.method() == Method::GET {
        match http.streams.admit(limits) {
            Ok(slot) => stream_slot = Some(slot),
            Err(reached) => {
                http.app.metrics.count_request(label, "limited");
                return coord_error(reached.into());
            }
        }
    }
    let service = if has_session || is_initialize {
        &http.sessions
    } else {
        &http.stateless
    };
    let http_method = request.method().clone();
    let mut response = service.handle(request).await;
    if let Some(id) = &session_id {
        if http_method == Method::DELETE {
            http.known_sessions.closed(id);
        } else {
            http.known_sessions.shown_to_rmcp(id, Instant::now());
        }
    }
    if let Some(handshake) = handshake
        && response.status() == StatusCode::OK
        && let Some(id) = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
    {
        http.known_sessions.opened(id, handshake, Instant::now());
    }
    if let Some(slot) = stream_slot {
        response = limits::hold_while_streaming(response, slot);
    }
    let (response, outcome) = outcome_of(response).await;
    http.app.metrics.count_request(label, outcome);
    response
}

/// The request as the fast path takes it, or `None` for rmcp to answer. A
/// stateless request needs only what [`fast::eligible`] checks; one on a
/// session also needs a session the fast path knows, that rmcp still has and
/// is not due to see, and the legacy era the session was opened in.
async fn fast_request(
    http: &HttpState,
    session_id: Option<&str>,
    headers: &HeaderMap,
    typed: JsonRpcRequest<ClientRequest>,
) -> Option<fast::FastRequest> {
    let Some(id) = session_id else {
        return fast::eligible(headers, typed);
    };
    let fast::Turn::Fast { client_info_name } = http.known_sessions.turn(id, Instant::now()) else {
        return None;
    };
    if !http.legacy.has_session(&id.into()).await.unwrap_or(false) {
        http.known_sessions.closed(id);
        return None;
    }
    let mut asked = fast::eligible(headers, typed)?;
    if asked.era != fast::Era::Legacy {
        return None;
    }
    // rmcp's handler reads `_meta`'s name first, then the handshake's.
    asked.client_info_name.get_or_insert(client_info_name);
    Some(asked)
}

/// Whether a JSON-RPC answer is an error. rmcp writes `jsonrpc`, `id`, then
/// `result` or `error`; an id (a number, or a string, whose quotes are
/// escaped) cannot hold `,"` unescaped, so the first of the two keys found
/// is the answer's own, and the result (tens of KiB for `tools/list`) is not
/// read. Anything else is read in full.
fn is_error_answer(bytes: &[u8]) -> bool {
    let first_key = (0..bytes.len()).find_map(|i| {
        let rest = &bytes[i..];
        if rest.starts_with(br#","result":"#) {
            Some(false)
        } else if rest.starts_with(br#","error":"#) {
            Some(true)
        } else {
            None
        }
    });
    first_key.unwrap_or_else(|| {
        serde_json::from_slice::<Outcome>(bytes).is_ok_and(|o| o.error.is_some())
    })
}

/// The fallback for [`is_error_answer`]: the result is skipped, not built.
#[derive(serde::Deserialize)]
struct Outcome {
    error: Option<serde::de::IgnoredAny>,
}

type RmcpResponse =
    http::Response<http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>>;

/// A JSON-RPC error travels with HTTP 200; a JSON body is small and complete,
/// so it is read to tell the two apart. Streams are judged by status alone.
async fn outcome_of(response: RmcpResponse) -> (Response, &'static str) {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    if !response.status().is_success() {
        return (response.map(Body::new), "error");
    }
    if !is_json {
        return (response.map(Body::new), "ok");
    }
    let (parts, body) = response.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    let failed = is_error_answer(&bytes);
    (
        Response::from_parts(parts, Body::from(bytes)),
        if failed { "error" } else { "ok" },
    )
}

#[cfg(test)]
mod tests {
    use super::{check_message, is_error_answer};

    #[test]
    fn an_answer_is_an_error_by_its_own_key_not_one_inside_its_result() {
        assert!(!is_error_answer(
            br#"{"jsonrpc":"2.0","id":1,"result":{"x":{"error":1},"y":[{"a":1},"error"]}}"#
        ));
        assert!(!is_error_answer(
            br#"{"jsonrpc":"2.0","id":"a,\"error\":","result":{}}"#
        ));
        assert!(is_error_answer(
            br#"{"jsonrpc":"2.0","id":"x","error":{"code":-32602,"message":"m","data":{"result":1}}}"#
        ));
        // Another order is read in full.
        assert!(is_error_answer(
            br#"{"error":{"code":1},"id":1,"jsonrpc":"2.0"}"#
        ));
        assert!(!is_error_answer(br#"{"id":1,"jsonrpc":"2.0","result":{}}"#));
    }

    #[test]
    fn the_typed_fast_path_and_the_long_way_agree_on_the_method() {
        let call = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"claim_file_lock","arguments":{"file_paths":["a"]}}}"#;
        let list = br#"{"jsonrpc":"2.0","id":"x","method":"tools/list","params":{}}"#;
        let note = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        for (body, method) in [
            (&call[..], "tools/call"),
            (&list[..], "tools/list"),
            (&note[..], "notifications/initialized"),
        ] {
            let message = check_message(body).unwrap_or_else(|_| panic!("accepted"));
            assert_eq!(message.method.as_deref(), Some(method));
        }
        // Refused the long way, with the reason: unknown method, bad arguments, wrong version.
        for body in [
            &br#"{"jsonrpc":"2.0","id":1,"method":"frobnicate"}"#[..],
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":[1]}}"#,
            br#"{"jsonrpc":"1.0","id":1,"method":"tools/list"}"#,
            br#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#,
        ] {
            assert!(check_message(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
    }
}
