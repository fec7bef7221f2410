//! The hooks' way to the coordinator: its public MCP endpoint, one stateless
//! JSON-RPC `tools/call` per question (no `initialize`, as the seed's curl
//! checks do), with tight timeouts, since Claude Code waits for every hook.

use std::time::Duration;

use serde_json::{Value, json};

/// Loopback answers in well under a millisecond; a missing coordinator is
/// refused at once. These bound a hung one.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(2);
const MAX_REPLY_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the coordinator is not reachable at {url}: {cause}")]
    Unreachable { url: String, cause: String },
    #[error("the coordinator at {url} answered HTTP {status}: {body}")]
    Http {
        url: String,
        status: u16,
        body: String,
    },
    #[error(
        "the coordinator at {url} requires its token and {problem}; set CCMULTI_TOKEN in this terminal to the token the coordinator was started with"
    )]
    Unauthorized { url: String, problem: &'static str },
    #[error("the coordinator refused {tool}: {message}")]
    Refused { tool: String, message: String },
    #[error("the coordinator's answer to {tool} was not understood: {why}")]
    BadReply { tool: String, why: String },
}

/// One agent's view of one coordinator.
pub struct Coordinator {
    http: ureq::Agent,
    /// `{base}/mcp/v2/claude/{virtual_user}`
    endpoint: String,
    /// `Bearer <token>` for a coordinator started with one (`CCMULTI_TOKEN`).
    authorization: Option<String>,
}

impl Coordinator {
    /// `base` is e.g. `http://127.0.0.1:7477`; `virtual_user` is `{user}__session__{s}__{agent}`.
    pub fn new(base: &str, virtual_user: &str) -> Self {
        let http = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(TOTAL_TIMEOUT))
            .http_status_as_error(false)
            // A local coordinator: an HTTP(S)_PROXY meant for the internet must not catch it.
            .proxy(None)
            .build()
            .new_agent();
        Self {
            http,
            endpoint: format!(
                "{}/mcp/v2/claude/{virtual_user}",
                base.trim_end_matches('/')
            ),
            authorization: None,
        }
    }

    /// Sends `token` (the terminal's `CCMULTI_TOKEN`) with every call.
    pub fn with_token(mut self, token: Option<&str>) -> Self {
        self.authorization = token.map(|t| format!("Bearer {t}"));
        self
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Calls a tool; returns its `structuredContent` (also when the tool reports a
    /// failure such as a lock conflict: that is an answer, not an error).
    pub fn call_tool(&self, tool: &str, arguments: Value) -> Result<Value, ClientError> {
        let request = json!({
            "jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": { "name": tool, "arguments": arguments },
        });
        let unreachable = |cause: String| ClientError::Unreachable {
            url: self.endpoint.clone(),
            cause,
        };
        let mut post = self
            .http
            .post(&self.endpoint)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("x-client-name", "claude-code");
        if let Some(authorization) = &self.authorization {
            post = post.header("authorization", authorization);
        }
        let mut response = post
            .send(request.to_string())
            .map_err(|e| unreachable(e.to_string()))?;
        let status = response.status().as_u16();
        let is_sse = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("text/event-stream"));
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_REPLY_BYTES)
            .read_to_string()
            .map_err(|e| unreachable(e.to_string()))?;
        if status == 401 {
            return Err(ClientError::Unauthorized {
                url: self.endpoint.clone(),
                problem: if self.authorization.is_some() {
                    "refused this terminal's token"
                } else {
                    "none was sent"
                },
            });
        }
        let message = jsonrpc_message(&body, is_sse);
        // A JSON-RPC error is an object; the HTTP guard's refusals carry a string.
        if let Some(error) = message
            .as_ref()
            .and_then(|m| m.get("error"))
            .filter(|e| e.is_object())
        {
            return Err(ClientError::Refused {
                tool: tool.to_owned(),
                message: error["message"]
                    .as_str()
                    .unwrap_or("(no message)")
                    .to_owned(),
            });
        }
        if !(200..300).contains(&status) {
            return Err(ClientError::Http {
                url: self.endpoint.clone(),
                status,
                body: body.chars().take(300).collect(),
            });
        }
        structured(tool, message)
    }
}

/// The JSON-RPC message in a body: the JSON itself, or the last `data:` event carrying one.
fn jsonrpc_message(body: &str, is_sse: bool) -> Option<Value> {
    if !is_sse {
        return serde_json::from_str(body).ok();
    }
    body.lines()
        .rev()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|v| v.get("result").is_some() || v.get("error").is_some())
}

fn structured(tool: &str, message: Option<Value>) -> Result<Value, ClientError> {
    let bad = |why: &str| ClientError::BadReply {
        tool: tool.to_owned(),
        why: why.to_owned(),
    };
    let mut message = message.ok_or_else(|| bad("no JSON-RPC message in the body"))?;
    match message["result"]
        .get_mut("structuredContent")
        .map(Value::take)
    {
        Some(content @ Value::Object(_)) => Ok(content),
        _ => Err(bad("the result has no structuredContent object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_and_event_stream_bodies() {
        let reply = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"structuredContent":{"success":true}}}"#;
        let json = jsonrpc_message(reply, false);
        assert_eq!(structured("t", json).unwrap(), json!({ "success": true }));
        let sse = format!("event: message\ndata: {reply}\n\n");
        assert_eq!(
            structured("t", jsonrpc_message(&sse, true)).unwrap(),
            json!({ "success": true })
        );
        assert!(structured("t", jsonrpc_message("<html>", false)).is_err());
    }
}
