//! The envelope of an MCP request: a POST's body, read within the size
//! limit and the read timeout, checked as one well-formed JSON-RPC message
//! so that malformed input gets a JSON-RPC error rather than rmcp's bare 415.
//! [`Envelope`] is the extractor the intake builds on.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use rmcp::model::{ClientJsonRpcMessage, ClientRequest, JsonRpcRequest};
use serde_json::{Value, json};

use super::answers::jsonrpc_error;
use super::{HttpState, MAX_BODY_BYTES};

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

/// A request whose body, for a POST, arrived whole, in time and within
/// [`MAX_BODY_BYTES`], and is one well-formed JSON-RPC message. Refused
/// otherwise with the JSON-RPC error that says what was wrong, counted in
/// `/metrics`; nothing else has run then.
pub(super) struct Envelope {
    /// The request, its body (if read) put back for rmcp.
    pub(super) request: Request<Body>,
    /// The message, for a POST.
    pub(super) message: Option<Message>,
    /// The request's label in `/metrics`: its JSON-RPC method, or the HTTP method.
    pub(super) label: &'static str,
}

impl FromRequest<HttpState> for Envelope {
    type Rejection = Response;

    async fn from_request(request: Request, http: &HttpState) -> Result<Self, Response> {
        if request.method() != Method::POST {
            let label = metric_method(None, request.method());
            return Ok(Self {
                request,
                message: None,
                label,
            });
        }
        let (parts, body) = request.into_parts();
        let bytes = read_body(http, body).await.map_err(|(why, response)| {
            http.app.metrics.count_request(why, "error");
            response
        })?;
        let message = check_message(&bytes).map_err(|response| {
            http.app.metrics.count_request("malformed", "error");
            *response
        })?;
        let label = metric_method(message.method.as_deref(), &parts.method);
        Ok(Self {
            request: Request::from_parts(parts, Body::from(bytes)),
            message: Some(message),
            label,
        })
    }
}

/// The whole body, or why not (its metric label) and the answer saying so.
async fn read_body(http: &HttpState, body: Body) -> Result<Bytes, (&'static str, Response)> {
    let limit = http.app.security.limits.body_read_timeout;
    let read = tokio::time::timeout(limit, Limited::new(body, MAX_BODY_BYTES).collect());
    let Ok(read) = read.await else {
        return Err((
            "slow_body",
            jsonrpc_error(
                StatusCode::REQUEST_TIMEOUT,
                Value::Null,
                -32600,
                format!(
                    "the request body did not arrive within {} s of its headers; send the whole body at once (the coordinator's owner sets this with --body-read-timeout or CCMULTI_BODY_READ_TIMEOUT)",
                    limit.as_secs()
                ),
            ),
        ));
    };
    match read {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err((
                "oversized",
                jsonrpc_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    Value::Null,
                    -32600,
                    format!(
                        "request body exceeds {MAX_BODY_BYTES} bytes; a coordination call needs far less"
                    ),
                ),
            ))
        }
        Err(_) => Err((
            "oversized",
            jsonrpc_error(
                StatusCode::BAD_REQUEST,
                Value::Null,
                -32600,
                "could not read the request body",
            ),
        )),
    }
}

/// A closed set of labels for `/metrics`.
fn metric_method(method: Option<&str>, http_method: &Method) -> &'static str {
    match method {
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

#[cfg(test)]
mod tests {
    use super::check_message;

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
