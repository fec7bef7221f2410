//! Tool calls shaped like Claude Code's (stateless 2026-07-28 POSTs) on a
//! keep-alive client, and the JSON-RPC message read out of a reply.

use std::time::Duration;

use ccmulti::client::{self, ClientError};
use ccmulti_model::agent_url;
use ccmulti_model::tools::Tool;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const PROTOCOL: &str = "2026-07-28";
const USER_AGENT: &str = "claude-code/2.1.330 (sdk-cli)";

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
    /// `virtual_user` is `{user}__session__{session}__{agent}`.
    pub fn new(http: &reqwest::Client, base: &str, virtual_user: &str) -> Self {
        Self {
            http: http.clone(),
            url: agent_url(base, virtual_user),
        }
    }

    /// Calls tool `T` as Claude Code does; its result (a refusal such as a
    /// conflict is a result too, with `success: false`), or why there is none.
    pub async fn call<T: Tool>(&self, args: &T::Args) -> Result<T::Result, ClientError>
    where
        T::Result: DeserializeOwned,
    {
        let body = client::call_body::<T>(args, Some(&claude_code_meta()));
        let (status, content_type, text) = self.post(T::NAME, body).await?;
        client::read_reply::<T>(&self.url, status, content_type.as_deref(), &text)
    }

    /// Calls `tool` with any arguments (a bad one, for a test of the refusal)
    /// as Claude Code does; the result's `structuredContent`, or why there is
    /// none (transport, HTTP status, JSON-RPC error).
    pub async fn call_raw(&self, tool: &str, arguments: Value) -> Result<Value, String> {
        self.call_untyped(tool, arguments)
            .await
            .map_err(|e| format!("{tool}: {e}"))
    }

    /// [`Self::call_raw`] with the error as the client read it, for a caller
    /// that tells transport failures and the database's unavailability apart.
    pub async fn call_untyped(&self, tool: &str, arguments: Value) -> Result<Value, ClientError> {
        let body = client::request_body(tool, &arguments, Some(&claude_code_meta()));
        let (status, content_type, text) = self.post(tool, body).await?;
        client::read_structured(tool, &self.url, status, content_type.as_deref(), &text)
    }

    /// POSTs a `tools/call` of `tool` with Claude Code's headers: the status,
    /// content type and body of the answer.
    async fn post(
        &self,
        tool: &str,
        body: String,
    ) -> Result<(u16, Option<String>, String), ClientError> {
        let unreachable = |cause: String| ClientError::Unreachable {
            url: self.url.clone(),
            cause,
        };
        let response = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("user-agent", USER_AGENT)
            .header("mcp-method", "tools/call")
            .header("mcp-name", tool)
            .header("mcp-protocol-version", PROTOCOL)
            .body(body)
            .send()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let status = response.status().as_u16();
        let content_type = client::content_type(response.headers());
        let text = response
            .text()
            .await
            .map_err(|e| unreachable(format!("reading the body: {e}")))?;
        Ok((status, content_type, text))
    }
}

/// The `_meta` Claude Code sends with a stateless call.
fn claude_code_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": PROTOCOL,
        "io.modelcontextprotocol/clientInfo": { "name": "claude-code", "version": "2.1.330" },
        "io.modelcontextprotocol/clientCapabilities": {}
    })
}

/// At most a few hundred characters of a reply, for a report.
pub fn clip(text: &str) -> String {
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}
