//! The MCP endpoint: a small routing function behind the extractors that
//! do the intake's work ([`Admitted`]: the URL, the body within its limits,
//! the envelope, who is calling, the limits on sessions and streams, the
//! agent's registration). It supplies the `Accept` header that bare curl
//! omits and sends each request to the fast path (`tools/list` and
//! `tools/call`, stateless or on a session it knows), the session-keeping or
//! the stateless rmcp service.

use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use http_body_util::BodyExt;
use rmcp::model::{ClientRequest, JsonRpcRequest};
use rmcp::transport::streamable_http_server::SessionManager;

use super::admission::{Admitted, SessionRef};
use super::{FastPath, HttpState, fast, limits};
use crate::deadline;

pub async fn mcp_endpoint(State(http): State<HttpState>, admitted: Admitted) -> Response {
    let Admitted {
        mut request,
        typed,
        label,
        caller,
        mut session,
        stream_slot,
        deadline,
    } = admitted;
    default_accept(&mut request);
    if http.fast_path == FastPath::On
        && let Some(typed) = typed
        && let Some(asked) = fast_request(&http, &session, request.headers(), typed).await
    {
        let (response, failed) =
            deadline::within(deadline, fast::answer(&http.app, &caller, asked)).await;
        http.app
            .metrics
            .count_request(label, if failed { "error" } else { "ok" });
        http.app.metrics.count_fast_path();
        return response;
    }
    let opening = match session {
        SessionRef::Without { ref mut opening } => opening.take(),
        _ => None,
    };
    let service = if session.is_present() || label == "initialize" {
        &http.sessions
    } else {
        &http.stateless
    };
    request.extensions_mut().insert(caller);
    request.extensions_mut().insert(deadline);
    let http_method = request.method().clone();
    let mut response = service.handle(request).await;
    if let Some(id) = session.id() {
        if http_method == Method::DELETE {
            http.known_sessions.closed(id);
        } else {
            http.known_sessions.shown_to_rmcp(id, Instant::now());
        }
    }
    if let Some(handshake) = opening
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
    session: &SessionRef,
    headers: &HeaderMap,
    typed: JsonRpcRequest<ClientRequest>,
) -> Option<fast::FastRequest> {
    let id = match session {
        SessionRef::Without { .. } => return fast::eligible(headers, typed),
        SessionRef::Known { id, fast: true } => id,
        SessionRef::Known { fast: false, .. } | SessionRef::Unknown { .. } => return None,
    };
    if !http
        .legacy
        .has_session(&id.as_str().into())
        .await
        .unwrap_or(false)
    {
        http.known_sessions.closed(id);
        return None;
    }
    let asked = fast::eligible(headers, typed)?;
    (asked.era == fast::Era::Legacy).then_some(asked)
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
    use super::is_error_answer;

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
}
