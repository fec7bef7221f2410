//! Which requests the fast path may answer: those rmcp's stateless service
//! would hand to its handler without refusing them first. The checks here are
//! a strict subset of rmcp's (its `handle_post` with `json_response`, in
//! `rmcp::transport::streamable_http_server::tower`): whatever is unusual
//! (a quoted or weighted `Accept`, a repeated or Base64-encoded header, a
//! version mismatch, an incomplete `_meta`) is left to rmcp, which answers it
//! as before, refusal included.

use axum::http::{HeaderMap, header};
use rmcp::model::{
    CallToolRequestParams, ClientRequest, GetMeta, JsonRpcRequest, ProtocolVersion, RequestId,
};

use crate::mcp::server::SUPPORTED_VERSIONS;

/// The protocol era the answer is shaped for: rmcp's handler adds
/// `resultType` and cache hints for 2026-07-28 and strips them before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Era {
    /// No per-request version; `MCP-Protocol-Version` absent (rmcp assumes
    /// 2025-03-26) or a known version before 2026-07-28.
    Legacy,
    /// 2026-07-28 in `_meta`, the same in `MCP-Protocol-Version`.
    Current,
}

pub(crate) enum Ask {
    List,
    /// Boxed: the parameters are large beside `List`.
    Call(Box<CallToolRequestParams>),
}

/// A request the fast path answers.
pub(crate) struct FastRequest {
    pub id: RequestId,
    pub era: Era,
    pub ask: Ask,
}

const PROTOCOL_VERSION: &str = "mcp-protocol-version";
const MCP_METHOD: &str = "mcp-method";
const MCP_NAME: &str = "mcp-name";

/// The request as the fast path takes it, or `None` for rmcp to answer.
/// `headers` are the request's after the intake supplied a default `Accept`.
pub(crate) fn eligible(
    headers: &HeaderMap,
    request: JsonRpcRequest<ClientRequest>,
) -> Option<FastRequest> {
    if !content_type_is_json(headers) || !accepts_json_and_sse(headers) {
        return None;
    }
    let header_version = single(headers, PROTOCOL_VERSION)?;
    let meta = request.request.get_meta();
    let era = match (meta.protocol_version(), header_version) {
        (Some(version), Some(header))
            if version == ProtocolVersion::V_2026_07_28
                && SUPPORTED_VERSIONS.contains(&version)
                && header == version.as_str()
                && meta
                    .missing_required_keys(&ProtocolVersion::V_2026_07_28)
                    .is_empty() =>
        {
            Era::Current
        }
        (None, None) => Era::Legacy,
        (None, Some(header))
            if header < ProtocolVersion::V_2026_07_28.as_str()
                && ProtocolVersion::KNOWN_VERSIONS
                    .iter()
                    .any(|v| v.as_str() == header) =>
        {
            Era::Legacy
        }
        _ => return None,
    };
    let (method, ask) = match request.request {
        ClientRequest::ListToolsRequest(_) => ("tools/list", Ask::List),
        ClientRequest::CallToolRequest(call) => ("tools/call", Ask::Call(Box::new(call.params))),
        _ => return None,
    };
    // SEP-2243: from 2026-07-28 rmcp requires `Mcp-Method` (and `Mcp-Name`
    // for a call) to repeat the body. No tool of ours annotates a property
    // with `x-mcp-header`, so there are no `Mcp-Param-*` headers to check
    // (a unit test holds the schemas to that).
    if era == Era::Current {
        if single(headers, MCP_METHOD)? != Some(method) {
            return None;
        }
        if let Ask::Call(params) = &ask
            && single(headers, MCP_NAME)? != Some(params.name.as_ref())
        {
            return None;
        }
    }
    Some(FastRequest {
        id: request.id,
        era,
        ask,
    })
}

/// The header's one value as text; `None` (leave it to rmcp) when it is
/// repeated or not text, `Some(None)` when it is absent.
fn single<'a>(headers: &'a HeaderMap, name: &str) -> Option<Option<&'a str>> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Some(None);
    };
    if values.next().is_some() {
        return None;
    }
    first.to_str().ok().map(Some)
}

/// rmcp's test: the first `Content-Type`'s essence is `application/json`.
fn content_type_is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|value| {
            let essence = value.split_once(';').map_or(value, |(essence, _)| essence);
            essence.trim().eq_ignore_ascii_case("application/json")
        })
}

/// Both media types listed plainly; parameters, weights and quotes are rmcp's
/// to read.
fn accepts_json_and_sse(headers: &HeaderMap) -> bool {
    let (mut json, mut sse) = (false, false);
    for value in headers.get_all(header::ACCEPT) {
        let Ok(value) = value.to_str() else {
            return false;
        };
        if value.contains([';', '"']) {
            return false;
        }
        for essence in value.split(',').map(str::trim) {
            json |= essence.eq_ignore_ascii_case("application/json");
            sse |= essence.eq_ignore_ascii_case("text/event-stream");
        }
    }
    json && sse
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderName, HeaderValue};
    use rmcp::model::{ClientJsonRpcMessage, ClientRequest, JsonRpcRequest};
    use serde_json::{Value, json};

    use super::{Ask, Era, eligible};
    use crate::mcp::tools;
    use ccmulti_model::tools::ToolName;

    fn request(body: Value) -> JsonRpcRequest<ClientRequest> {
        match serde_json::from_value::<ClientJsonRpcMessage>(body) {
            Ok(ClientJsonRpcMessage::Request(request)) => request,
            other => panic!("a request: {other:?}"),
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    const JSON: (&str, &str) = ("content-type", "application/json");
    const ACCEPT: (&str, &str) = ("accept", "application/json, text/event-stream");

    fn modern_call() -> Value {
        json!({ "jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
            "name": "claim_file_lock", "arguments": { "file_paths": ["a"] },
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientInfo": { "name": "claude-code", "version": "2" },
                "io.modelcontextprotocol/clientCapabilities": {}
            } } })
    }

    fn modern_headers() -> Vec<(&'static str, &'static str)> {
        vec![
            JSON,
            ACCEPT,
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "claim_file_lock"),
        ]
    }

    #[test]
    fn claude_code_and_bare_curl_requests_are_taken() {
        let asked = eligible(&headers(&modern_headers()), request(modern_call())).expect("taken");
        assert_eq!(asked.era, Era::Current);
        assert!(matches!(asked.ask, Ask::Call(ref p) if p.name == "claim_file_lock"));

        let list = json!({ "jsonrpc": "2.0", "id": "x", "method": "tools/list" });
        let asked = eligible(&headers(&[JSON, ACCEPT]), request(list.clone())).expect("taken");
        assert_eq!(asked.era, Era::Legacy);
        assert!(matches!(asked.ask, Ask::List));
        let older = [JSON, ACCEPT, ("mcp-protocol-version", "2025-06-18")];
        assert!(eligible(&headers(&older), request(list)).is_some());
    }

    #[test]
    fn anything_rmcp_might_refuse_is_left_to_rmcp() {
        let mut cases: Vec<Vec<(&str, &str)>> = Vec::new();
        for drop in [
            "content-type",
            "accept",
            "mcp-protocol-version",
            "mcp-method",
            "mcp-name",
        ] {
            cases.push(
                modern_headers()
                    .into_iter()
                    .filter(|(n, _)| *n != drop)
                    .collect(),
            );
        }
        for (name, value) in [
            ("mcp-name", "release_file_lock"),
            ("mcp-name", "=?base64?Y2xhaW1fZmlsZV9sb2Nr?="),
            ("mcp-method", "tools/list"),
            ("mcp-protocol-version", "2025-11-25"),
            ("accept", "application/json;q=0, text/event-stream"),
            ("content-type", "text/plain"),
        ] {
            let mut h = modern_headers();
            h.retain(|(n, _)| *n != name);
            h.push((name, value));
            cases.push(h);
        }
        // A repeated header, even with the same value.
        let mut twice = modern_headers();
        twice.push(("mcp-name", "claim_file_lock"));
        cases.push(twice);
        for case in cases {
            assert!(
                eligible(&headers(&case), request(modern_call())).is_none(),
                "{case:?}"
            );
        }
        // Incomplete _meta, a version rmcp does not know, other methods.
        let mut no_capabilities = modern_call();
        no_capabilities["params"]["_meta"]
            .as_object_mut()
            .map(|m| m.remove("io.modelcontextprotocol/clientCapabilities"));
        assert!(eligible(&headers(&modern_headers()), request(no_capabilities)).is_none());
        let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });
        for version in ["2026-07-28", "2099-01-01", "2025-13-01"] {
            let h = [JSON, ACCEPT, ("mcp-protocol-version", version)];
            assert!(
                eligible(&headers(&h), request(list.clone())).is_none(),
                "{version}"
            );
        }
        let ping = json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" });
        assert!(eligible(&headers(&[JSON, ACCEPT]), request(ping)).is_none());
    }

    /// rmcp checks `Mcp-Param-*` headers against `x-mcp-header` annotations
    /// in a tool's input schema; the fast path does not, because there are none.
    #[test]
    fn no_tool_asks_for_parameter_headers() {
        for name in ToolName::ALL {
            let schema = serde_json::to_string(&tools::definition(name).input_schema)
                .expect("schema as JSON");
            assert!(!schema.contains("x-mcp-header"), "{}", name.as_str());
        }
    }
}
