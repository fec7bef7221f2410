//! Small JSON helpers shared by the MCP argument checks and the settings merge.

use serde_json::Value;

/// "a string", "an array", ...: what a value is, for error messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
