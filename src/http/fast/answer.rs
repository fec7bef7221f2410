//! The fast path's answers: HTTP 200, `application/json`, one JSON-RPC
//! message in rmcp's own envelope types, serialised once. rmcp answers a
//! stateless request in `json_response` mode the same way, and a JSON-RPC
//! error from the handler with 200 as well (the codes it maps to 400 or 404
//! are protocol errors no tool returns).

use std::future;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use rmcp::model::{JsonObject, JsonRpcError, JsonRpcResponse, JsonRpcVersion2_0};
use serde::Serialize;
use serde_json::value::RawValue;

use super::headers::{Ask, Era, FastRequest};
use super::listing;
use crate::error::CoordError;
use crate::mcp::dispatch;
use crate::mcp::identity::Caller;
use crate::mcp::tools::ToolOutput;
use crate::state::SharedState;

/// The answer, and whether it is a JSON-RPC error (for the request metrics;
/// a tool's own error result is an answer, not an error).
pub(crate) async fn answer(
    app: &SharedState,
    caller: &Caller,
    request: FastRequest,
) -> (Response, bool) {
    let FastRequest { id, era, ask } = request;
    let outcome = match ask {
        Ask::List => listing::rendered(caller.tool_set(), era).and_then(|list| {
            json(
                &JsonRpcResponse {
                    jsonrpc: JsonRpcVersion2_0,
                    id: id.clone(),
                    result: list,
                },
                list.get().len(),
            )
        }),
        Ask::Call(params) => {
            let empty = JsonObject::new();
            let arguments = params.arguments.as_ref().unwrap_or(&empty);
            // A client that goes away drops this future, and the tool's with
            // it: nothing waits on for nobody, as on rmcp's path.
            dispatch::call_tool(app, caller, &params.name, arguments, future::pending())
                .await
                .and_then(|output| {
                    json(
                        &JsonRpcResponse {
                            jsonrpc: JsonRpcVersion2_0,
                            id: id.clone(),
                            result: CallResult::new(&output, era),
                        },
                        // The tool's JSON twice: as text (its quotes escaped) and as is.
                        2 * output.json().get().len(),
                    )
                })
        }
    };
    match outcome {
        Ok(body) => (ok(body), false),
        Err(e) => {
            let error = JsonRpcError {
                jsonrpc: JsonRpcVersion2_0,
                id: Some(id),
                error: e.into_error_data(),
            };
            match json(&error, 0) {
                Ok(body) => (ok(body), true),
                Err(_) => (StatusCode::INTERNAL_SERVER_ERROR.into_response(), true),
            }
        }
    }
}

/// `message` as JSON, in a buffer sized for the `payload` bytes it carries
/// and its envelope, so that a large answer (the tool list is kilobytes) is
/// written once instead of copied each time the buffer doubles.
fn json<T: Serialize>(message: &T, payload: usize) -> Result<Vec<u8>, CoordError> {
    let mut body = Vec::with_capacity(payload + ENVELOPE_BYTES);
    serde_json::to_writer(&mut body, message).map_err(CoordError::Encoding)?;
    Ok(body)
}

/// Room for a JSON-RPC envelope around the payload: version, id, the call
/// result's keys, and a little escaping.
const ENVELOPE_BYTES: usize = 256;

fn ok(body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// rmcp's `CallToolResult` as the handler sends it, field for field: one
/// text block and `structuredContent`, both the tool's JSON, and `isError`;
/// `resultType` only from 2026-07-28.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CallResult<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    result_type: Option<&'static str>,
    content: [TextBlock<'a>; 1],
    structured_content: &'a RawValue,
    is_error: bool,
}

#[derive(Serialize)]
struct TextBlock<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
}

impl<'a> CallResult<'a> {
    pub(crate) fn new(output: &'a ToolOutput, era: Era) -> Self {
        Self {
            result_type: (era == Era::Current).then_some("complete"),
            content: [TextBlock {
                kind: "text",
                text: output.json().get(),
            }],
            structured_content: output.json(),
            is_error: output.is_error(),
        }
    }
}

#[cfg(test)]
mod tests {
    use rmcp::model::{
        JsonRpcResponse, JsonRpcVersion2_0, RequestId, ServerJsonRpcMessage, ServerResult,
    };
    use serde_json::json;

    use super::CallResult;
    use crate::http::fast::headers::Era;
    use crate::http::fast::listing::adjust_for_era;
    use crate::mcp::tools::ToolOutput;

    /// Byte for byte what rmcp sends for the same output: its
    /// `CallToolResult` (as the handler makes it), adjusted for the era as its
    /// handler does, in its message type.
    #[test]
    fn a_call_result_is_written_as_rmcp_writes_it() {
        let outcome =
            json!({ "success": false, "message": "a \"quoted\" ü\n", "n": 1.5, "locks": [] });
        for era in [Era::Legacy, Era::Current] {
            for success in [true, false] {
                let output = ToolOutput::typed(&outcome, success).expect("output");
                let ours = serde_json::to_string(&JsonRpcResponse {
                    jsonrpc: JsonRpcVersion2_0,
                    id: RequestId::Number(7),
                    result: CallResult::new(&output, era),
                })
                .expect("ours");
                let mut theirs = ServerResult::CallToolResult(
                    ToolOutput::typed(&outcome, success)
                        .and_then(ToolOutput::into_call_result)
                        .expect("rmcp's"),
                );
                adjust_for_era(&mut theirs, era);
                let theirs = serde_json::to_string(&ServerJsonRpcMessage::response(
                    theirs,
                    RequestId::Number(7),
                ))
                .expect("theirs");
                assert_eq!(ours, theirs, "{era:?}, success {success}");
            }
        }
    }
}
