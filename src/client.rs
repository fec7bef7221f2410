//! Calling a coordinator's tools from outside, typed by the tool contract:
//! `call::<Claim>(&args)` answers a `ClaimResult`. What a call sends (one
//! stateless JSON-RPC `tools/call`, no `initialize`, as the seed's curl
//! checks do) and how its reply is read (a JSON body or an SSE stream, a
//! JSON-RPC error, an HTTP refusal, the result's `structuredContent`) are
//! written here once. The hooks call through [`Coordinator`], a blocking
//! client with tight timeouts (Claude Code waits for every hook); the test
//! kit sends the same request and reads the reply with the same functions
//! on its async client.

use std::time::Duration;

use ccmulti_model::tools::Tool;
use ccmulti_model::{AgentWorkspace, VirtualUser, agent_url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::SERVER_UNAVAILABLE;
use crate::rules::workspace_headers;

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
    /// Its database is down (JSON-RPC -32000): as good as no answer, so the
    /// hooks follow their offline setting, as for an unreachable coordinator.
    #[error("the coordinator at {url} could not serve {tool}: {message}")]
    Unavailable {
        url: String,
        tool: String,
        message: String,
    },
    #[error("the coordinator's answer to {tool} was not understood: {why}")]
    BadReply { tool: String, why: String },
}

/// A `tools/call` request.
#[derive(Serialize)]
struct CallRequest<'a, A: ?Sized, M> {
    jsonrpc: &'static str,
    id: u64,
    method: &'static str,
    params: CallParams<'a, A, M>,
}

#[derive(Serialize)]
struct CallParams<'a, A: ?Sized, M> {
    name: &'a str,
    arguments: &'a A,
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    meta: Option<&'a M>,
}

/// The body of a `tools/call` of `T` with `args`; `meta`, if any, is sent as
/// the request's `_meta` (a client's protocol version and identity).
pub fn call_body<T: Tool>(args: &T::Args, meta: Option<&impl Serialize>) -> String {
    request_body(T::NAME, args, meta)
}

/// The body of a `tools/call` of tool `name`, whatever its arguments: what
/// [`call_body`] sends, for a test that sends arguments no type allows.
pub fn request_body(
    name: &str,
    arguments: &(impl Serialize + ?Sized),
    meta: Option<&impl Serialize>,
) -> String {
    let request = CallRequest {
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: CallParams {
            name,
            arguments,
            meta,
        },
    };
    // Plain structs of strings, numbers and lists always serialise.
    serde_json::to_string(&request).unwrap_or_default()
}

/// The JSON-RPC message in a reply body: the body itself, or the last `data:`
/// event carrying a result or an error when the server answered with an SSE
/// stream (`content_type` `text/event-stream`).
pub fn jsonrpc_message(content_type: Option<&str>, body: &str) -> Option<Value> {
    if !content_type.is_some_and(|c| c.starts_with("text/event-stream")) {
        return serde_json::from_str(body).ok();
    }
    body.lines()
        .rev()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|v| v.get("result").is_some() || v.get("error").is_some())
}

/// A reply's `Content-Type`, which says how [`jsonrpc_message`] reads its body.
pub fn content_type(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A JSON-RPC message, as far as a client of the tools reads it.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    result: Option<CallResult>,
    #[serde(default)]
    error: Option<ErrorField>,
}

#[derive(Deserialize)]
struct CallResult {
    #[serde(rename = "structuredContent", default)]
    structured_content: Option<Value>,
}

/// A JSON-RPC error is an object; the HTTP guard's refusals carry a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorField {
    JsonRpc {
        #[serde(default)]
        code: Option<i64>,
        #[serde(default)]
        message: Option<String>,
    },
    Other(serde::de::IgnoredAny),
}

/// Reads `T`'s result from a reply to its `tools/call` at `url`: its
/// `structuredContent`, also when the tool reports a failure such as a lock
/// conflict (that is an answer, not an error). A JSON-RPC error, another HTTP
/// status or a result of another shape is the error.
pub fn read_reply<T: Tool>(
    url: &str,
    status: u16,
    content_type: Option<&str>,
    body: &str,
) -> Result<T::Result, ClientError>
where
    T::Result: DeserializeOwned,
{
    read_structured(T::NAME, url, status, content_type, body)
}

/// [`read_reply`] for tool `tool`, its result read as `R`.
pub fn read_structured<R: DeserializeOwned>(
    tool: &str,
    url: &str,
    status: u16,
    content_type: Option<&str>,
    body: &str,
) -> Result<R, ClientError> {
    let bad = |why: String| ClientError::BadReply {
        tool: tool.to_owned(),
        why,
    };
    let envelope = jsonrpc_message(content_type, body)
        .and_then(|m| serde_json::from_value::<Envelope>(m).ok());
    if let Some(Envelope {
        error: Some(ErrorField::JsonRpc { code, message }),
        ..
    }) = &envelope
    {
        let message = message.clone().unwrap_or_else(|| "(no message)".to_owned());
        if *code == Some(i64::from(SERVER_UNAVAILABLE.0)) {
            return Err(ClientError::Unavailable {
                url: url.to_owned(),
                tool: tool.to_owned(),
                message,
            });
        }
        return Err(ClientError::Refused {
            tool: tool.to_owned(),
            message,
        });
    }
    if !(200..300).contains(&status) {
        return Err(ClientError::Http {
            url: url.to_owned(),
            status,
            body: body.chars().take(300).collect(),
        });
    }
    let envelope = envelope.ok_or_else(|| bad("no JSON-RPC message in the body".into()))?;
    let content = envelope
        .result
        .and_then(|r| r.structured_content)
        .filter(Value::is_object)
        .ok_or_else(|| bad("the result has no structuredContent object".into()))?;
    serde_json::from_value(content)
        .map_err(|e| bad(format!("the result does not read as {tool}'s: {e}")))
}

/// One agent's view of one coordinator, for the hooks: blocking, with tight
/// timeouts.
pub struct Coordinator {
    http: ureq::Agent,
    /// The agent's URL ([`agent_url`]).
    endpoint: String,
    /// `Bearer <token>` for a coordinator started with one (`CCMULTI_TOKEN`).
    authorization: Option<String>,
    /// Where this agent works, sent with every call ([`workspace_headers`]).
    workspace: Vec<(&'static str, String)>,
}

impl Coordinator {
    /// `base` is e.g. `http://127.0.0.1:7477`.
    pub fn new(base: &str, agent: &VirtualUser) -> Self {
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
            endpoint: agent_url(base, agent),
            authorization: None,
            workspace: Vec::new(),
        }
    }

    /// Tells the coordinator, with every call, where this agent works.
    pub fn with_workspace(mut self, workspace: Option<&AgentWorkspace>) -> Self {
        self.workspace = workspace
            .map(workspace_headers::headers)
            .unwrap_or_default();
        self
    }

    /// Sends `token` (the terminal's `CCMULTI_TOKEN`) with every call.
    pub fn with_token(mut self, token: Option<&str>) -> Self {
        self.authorization = token.map(|t| format!("Bearer {t}"));
        self
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Calls tool `T` with `args`; its result (see [`read_reply`]).
    pub fn call<T: Tool>(&self, args: &T::Args) -> Result<T::Result, ClientError>
    where
        T::Result: DeserializeOwned,
    {
        self.call_within::<T>(args, TOTAL_TIMEOUT)
    }

    /// [`Self::call`], given `total` to answer rather than the usual 2 s: a
    /// claim that waits for a lock answers when its wait ends.
    pub fn call_within<T: Tool>(
        &self,
        args: &T::Args,
        total: Duration,
    ) -> Result<T::Result, ClientError>
    where
        T::Result: DeserializeOwned,
    {
        let unreachable = |cause: String| ClientError::Unreachable {
            url: self.endpoint.clone(),
            cause,
        };
        let mut post = self
            .http
            .post(&self.endpoint)
            .config()
            .timeout_global(Some(total))
            .build()
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("x-client-name", "claude-code");
        if let Some(authorization) = &self.authorization {
            post = post.header("authorization", authorization);
        }
        for (name, value) in &self.workspace {
            post = post.header(*name, value);
        }
        let mut response = post
            .send(call_body::<T>(args, None::<&()>))
            .map_err(|e| unreachable(e.to_string()))?;
        let status = response.status().as_u16();
        let content_type = content_type(response.headers());
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
        read_reply::<T>(&self.endpoint, status, content_type.as_deref(), &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccmulti_model::tools::{Claim, ClaimArgs, Status, StatusArgs};
    use serde_json::json;

    const OK: &str = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"structuredContent":{"success":true,"released":["a"],"not_held":[]}}}"#;

    fn release(status: u16, content_type: Option<&str>, body: &str) -> Result<Value, String> {
        read_reply::<ccmulti_model::tools::Release>("http://x", status, content_type, body)
            .map(|r| serde_json::to_value(r).unwrap())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn reads_json_and_event_stream_bodies() {
        let want = json!({ "success": true, "released": ["a"], "not_held": [] });
        assert_eq!(release(200, Some("application/json"), OK).unwrap(), want);
        let sse = format!("event: message\ndata: {OK}\n\n");
        assert_eq!(release(200, Some("text/event-stream"), &sse).unwrap(), want);
        let err = release(200, None, "<html>").unwrap_err();
        assert!(err.contains("no JSON-RPC message"), "{err}");
    }

    #[test]
    fn errors_say_what_was_refused_or_not_understood() {
        let refused = r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"release_file_lock: nothing to release"}}"#;
        assert_eq!(
            release(200, None, refused).unwrap_err(),
            "the coordinator refused release_file_lock: release_file_lock: nothing to release"
        );
        // The HTTP guard's refusal carries its error as a string.
        let guard = r#"{"error":"forbidden host"}"#;
        let err = release(403, None, guard).unwrap_err();
        assert!(err.contains("answered HTTP 403"), "{err}");
        let wrong = r#"{"jsonrpc":"2.0","id":1,"result":{"structuredContent":{"success":"yes"}}}"#;
        let err = release(200, None, wrong).unwrap_err();
        assert!(
            err.contains("does not read as release_file_lock's"),
            "{err}"
        );
    }

    #[test]
    fn a_call_is_sent_by_its_contract() {
        let args = ClaimArgs {
            file_paths: vec!["a.rs".into()],
            operation: ccmulti_model::Operation::Write,
            duration_minutes: 15,
            lease_seconds: None,
            idle_yield_seconds: None,
            wait_seconds: 0,
        };
        let body: Value = serde_json::from_str(&call_body::<Claim>(&args, None::<&()>)).unwrap();
        assert_eq!(body["method"], "tools/call");
        assert_eq!(body["params"]["name"], "claim_file_lock");
        assert_eq!(body["params"]["arguments"]["file_paths"], json!(["a.rs"]));
        assert!(body["params"].get("_meta").is_none());
        let status = StatusArgs {
            include_inactive: false,
            news: false,
            reading: Vec::new(),
        };
        let meta = json!({ "io.modelcontextprotocol/protocolVersion": "2026-07-28" });
        let body: Value = serde_json::from_str(&call_body::<Status>(&status, Some(&meta))).unwrap();
        assert_eq!(
            body["params"]["arguments"],
            json!({ "include_inactive": false, "news": false })
        );
        assert_eq!(body["params"]["_meta"], meta);
    }
}
