//! `tools/list` and `tools/call`, nearly every request an agent sends, read
//! straight into their own rmcp types. rmcp's `ClientJsonRpcMessage` reads a
//! body by buffering it whole (an untagged enum of message kinds), checking
//! its shape, buffering it again for the flattened request, then trying its
//! request kinds in order: `tools/call` is the fourteenth, each try before
//! it failing with an error built and dropped: a tenth of a `tools/list`'s CPU
//! (BENCHMARKS.md, "HTTP under wrk"). Here one pass reads the keys rmcp's
//! shape check looks at, and a second reads the one request type the method
//! names.
//!
//! The answer is the one rmcp's parse gives, or none: every kind before the
//! named one requires its own method string, so only the named kind can
//! match, and the shape is checked as rmcp checks it. Anything this does not
//! read (another method, a duplicate key, any error) goes the usual way.

use std::borrow::Cow;

use rmcp::model::{
    CallToolRequest, ClientJsonRpcMessage, ClientRequest, JsonRpcRequest, ListToolsRequest,
};
use serde::de::{Deserialize, Deserializer, IgnoredAny};

/// Whether a key is present, whatever its value (`null` included), as rmcp's
/// shape check counts it.
#[derive(Default)]
struct Present(bool);

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer).map(|_| Self(true))
    }
}

/// The keys rmcp's shape check reads, and the method.
#[derive(serde::Deserialize)]
struct Shape<'a> {
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(default)]
    id: Present,
    #[serde(default)]
    result: Present,
    #[serde(default)]
    error: Present,
}

/// A `tools/list` or `tools/call` request as rmcp would read it, or `None`
/// for anything else, which the caller reads the usual way.
pub(super) fn read(body: &[u8]) -> Option<JsonRpcRequest<ClientRequest>> {
    let shape: Shape = serde_json::from_slice(body).ok()?;
    // rmcp's shape for a request: a method and an id, no result or error.
    if !shape.id.0 || shape.result.0 || shape.error.0 {
        return None;
    }
    match shape.method.as_deref()? {
        "tools/call" => {
            let r: JsonRpcRequest<CallToolRequest> = serde_json::from_slice(body).ok()?;
            Some(JsonRpcRequest::new(r.id, r.request.into()))
        }
        "tools/list" => {
            let r: JsonRpcRequest<ListToolsRequest> = serde_json::from_slice(body).ok()?;
            Some(JsonRpcRequest::new(r.id, r.request.into()))
        }
        _ => None,
    }
}

/// Where [`read`] and rmcp's own parse disagree on `body`, if they do (a
/// body left to rmcp agrees): for the tests and the fuzz target.
pub(crate) fn disagreement(body: &[u8]) -> Option<String> {
    let ours = read(body)?;
    let theirs = match serde_json::from_slice::<ClientJsonRpcMessage>(body) {
        Ok(ClientJsonRpcMessage::Request(theirs)) => theirs,
        Ok(other) => return Some(format!("rmcp reads another kind of message: {other:?}")),
        Err(e) => return Some(format!("rmcp refuses it: {e}")),
    };
    let (ours, theirs) = (serde_json::to_value(&ours), serde_json::to_value(&theirs));
    match (ours, theirs) {
        (Ok(ours), Ok(theirs)) if ours == theirs => None,
        (ours, theirs) => Some(format!("read here as {ours:?}, by rmcp as {theirs:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::{disagreement, read};

    #[test]
    fn reads_what_rmcp_reads_or_leaves_it_to_rmcp() {
        let read_here = [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":"a","method":"tools/list","params":{"cursor":"x"}}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"_meta":{"progressToken":3}}}"#,
            r#"{"method":"tools/call","id":7,"jsonrpc":"2.0","params":{"name":"claim_file_lock","arguments":{"file_paths":["a.rs"],"operation":"write"}}}"#,
            r#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"check_agent_status","arguments":{"news":false},"_meta":{"claudecode/toolUseId":"toolu_1"}}}"#,
            r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"x"},"extra":true}"#,
            r#"{"jsonrpc":"2.0","id":-1.5e3,"method":"tools/call","params":{"name":"x","arguments":null}}"#,
        ];
        for body in read_here {
            assert!(read(body.as_bytes()).is_some(), "not read here: {body}");
            assert_eq!(disagreement(body.as_bytes()), None, "{body}");
        }
        // Each of these rmcp refuses or reads as something else; none is read here.
        let left = [
            r#"{"jsonrpc":"2.0","method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","result":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","error":null}"#,
            r#"{"jsonrpc":"1.0","id":1,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":[1]}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"x"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"} trailing"#,
            r#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#,
        ];
        for body in left {
            assert!(read(body.as_bytes()).is_none(), "read here: {body}");
        }
    }

    #[test]
    fn names_the_method_it_read() {
        let call = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}"#;
        assert_eq!(
            read(call.as_bytes())
                .map(|r| r.request.method().to_owned())
                .as_deref(),
            Some("tools/call")
        );
        let list = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
        assert_eq!(
            read(list.as_bytes())
                .map(|r| r.request.method().to_owned())
                .as_deref(),
            Some("tools/list")
        );
    }
}
