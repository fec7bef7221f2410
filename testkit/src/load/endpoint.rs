//! Tool calls shaped like Claude Code's (stateless 2026-07-28 POSTs) on a
//! keep-alive client, and the JSON-RPC message read out of a reply.

use std::time::Duration;

use serde_json::{Value, json};

const PROTOCOL: &str = "2026-07-28";
const USER_AGENT: &str = "claude-code/2.1.330 (sdk-cli)";

/// The JSON-RPC message of a reply: the body, or the last `data:` event with
/// a result or an error when the server answered with an SSE stream.
pub fn jsonrpc_message(content_type: Option<&str>, text: &str) -> Value {
    if content_type.is_some_and(|c| c.starts_with("text/event-stream")) {
        text.lines()
            .rev()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .find(|v| v.get("result").is_some() || v.get("error").is_some())
            .unwrap_or(Value::Null)
    } else {
        serde_json::from_str(text).unwrap_or(Value::Null)
    }
}

/// Under the coordinator's default header deadline of 10 s, as Node's
/// `fetch` (4 s) and Python's httpx (5 s) keep theirs.
const IDLE_CONNECTION_KEPT: Duration = Duration::from_secs(5);

/// A keep-alive client for `agents` concurrent callers; a call that takes
/// longer than `timeout` counts as failed. Idle connections are dropped
/// before the coordinator's header deadline closes them (docs/guide/limits.md):
/// reqwest's default of 90 s let a call, twice in a 30-minute soak, go out
/// on a connection the server was closing.
pub fn http_client(agents: usize, timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(agents)
        .pool_idle_timeout(IDLE_CONNECTION_KEPT)
        .timeout(timeout)
        .build()
        .expect("http client")
}

/// One agent's MCP endpoint.
#[derive(Clone)]
pub struct Endpoint {
    http: reqwest::Client,
    pub url: String,
}

impl Endpoint {
    pub fn new(http: &reqwest::Client, base: &str, virtual_user: &str) -> Self {
        Self {
            http: http.clone(),
            url: format!("{base}/mcp/v2/claude/{virtual_user}"),
        }
    }

    /// Calls `tool` as Claude Code does; the result's `structuredContent`, or
    /// why there is none (transport, HTTP status, JSON-RPC error).
    pub async fn call(&self, tool: &str, arguments: Value) -> Result<Value, String> {
        let body = json!({
            "jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {
                "name": tool, "arguments": arguments,
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": PROTOCOL,
                    "io.modelcontextprotocol/clientInfo": { "name": "claude-code", "version": "2.1.330" },
                    "io.modelcontextprotocol/clientCapabilities": {}
                }
            }
        });
        let response = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("user-agent", USER_AGENT)
            .header("mcp-method", "tools/call")
            .header("mcp-name", tool)
            .header("mcp-protocol-version", PROTOCOL)
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| format!("{tool}: {e}"))?;
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response
            .text()
            .await
            .map_err(|e| format!("{tool}: reading the body: {e}"))?;
        if status != reqwest::StatusCode::OK {
            return Err(format!("{tool}: HTTP {status}: {}", clip(&text)));
        }
        let message = jsonrpc_message(content_type.as_deref(), &text);
        match &message["result"]["structuredContent"] {
            // A refusal (a conflict, a bad argument) is a result too, with
            // `isError` and `success: false`: the caller judges it.
            Value::Null => Err(format!("{tool}: {}", clip(&text))),
            value => Ok(value.clone()),
        }
    }
}

/// At most a few hundred characters of a reply, for a report.
pub fn clip(text: &str) -> String {
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}
