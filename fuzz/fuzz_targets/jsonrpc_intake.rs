//! The JSON-RPC intake: any body is either a message or a JSON-RPC error
//! answer; a `tools/call`'s arguments are read or refused with a message by
//! every tool's argument checker; a `tools/list` or `tools/call` the intake
//! reads itself is read exactly as rmcp reads it.
#![no_main]
#![forbid(unsafe_code)]

use ccmulti::fuzzing::{jsonrpc_envelope, tool_arguments, tool_request_disagreement};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|body: &[u8]| {
    if let Err(status) = jsonrpc_envelope(body) {
        // A client's mistake is never answered as the server's.
        assert!(!status.is_server_error(), "{status}");
    }
    if let Some(difference) = tool_request_disagreement(body) {
        panic!("{difference}");
    }
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        let arguments = value
            .pointer("/params/arguments")
            .cloned()
            .unwrap_or(value);
        for answer in tool_arguments(&arguments) {
            if let Err(message) = answer {
                assert!(!message.is_empty());
            }
        }
    }
});
