//! Entry points for the `cargo fuzz` targets in `fuzz/` to parsers that are
//! not public API: the JSON-RPC envelope check and the tools' argument
//! checker. Hidden from the documentation; nothing else calls them.

use ccmulti_model::schema::input_schema;
use ccmulti_model::tools::{AnalyzeArgs, ClaimArgs, ProgressArgs, ReleaseArgs};
use serde_json::Value;

/// The intake's envelope check on a request body, as the endpoint runs it:
/// the method of a well-formed message, or the HTTP status of the JSON-RPC
/// error it is answered with.
pub fn jsonrpc_envelope(body: &[u8]) -> Result<Option<String>, http::StatusCode> {
    crate::http::check_envelope(body)
}

/// Where the intake's own read of a `tools/list` or `tools/call` (the two it
/// reads without rmcp's parse) differs from rmcp's, if it does.
pub fn tool_request_disagreement(body: &[u8]) -> Option<String> {
    crate::http::tool_request_disagreement(body)
}

/// The lock, progress and planner tools' argument checker on the `arguments` of a
/// `tools/call`: each must read the arguments or refuse them with a message.
pub fn tool_arguments(arguments: &Value) -> Vec<Result<(), String>> {
    let Some(arguments) = arguments.as_object() else {
        return Vec::new();
    };
    fn one<T: serde::de::DeserializeOwned + schemars::JsonSchema + 'static>(
        arguments: &serde_json::Map<String, Value>,
    ) -> Result<(), String> {
        crate::mcp::read_arguments::<T>("fuzz", &input_schema::<T>(), arguments)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
    vec![
        one::<ClaimArgs>(arguments),
        one::<ReleaseArgs>(arguments),
        one::<ProgressArgs>(arguments),
        one::<AnalyzeArgs>(arguments),
    ]
}
