//! JSON Schemas generated from the tool types: inline (no `$ref`, which some
//! clients do not follow), without the `$schema` and `title` noise.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

fn generate<T: JsonSchema>() -> Map<String, Value> {
    let generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator();
    let schema: Value = generator.into_root_schema_for::<T>().into();
    let mut map = match schema {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    map.remove("title");
    map
}

/// A tool's `inputSchema`: its argument struct.
pub fn input_schema<T: JsonSchema>() -> Map<String, Value> {
    generate::<T>()
}

/// A tool's `outputSchema`: its result struct, every field described.
pub fn output_schema<T: JsonSchema>() -> Map<String, Value> {
    generate::<T>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::{ClaimArgs, StatusResult};
    use serde_json::json;

    #[test]
    fn claim_arguments_schema_carries_types_limits_defaults_and_no_refs() {
        let schema = Value::Object(input_schema::<ClaimArgs>());
        let text = schema.to_string();
        assert!(!text.contains("$ref"), "{text}");
        let props = &schema["properties"];
        assert_eq!(props["file_paths"]["minItems"], 1, "{text}");
        assert_eq!(props["file_paths"]["maxItems"], 100, "{text}");
        assert_eq!(
            props["operation"]["enum"],
            json!(["read", "write", "delete"]),
            "{text}"
        );
        assert_eq!(props["duration_minutes"]["minimum"], 1, "{text}");
        assert_eq!(props["duration_minutes"]["maximum"], 60, "{text}");
        assert_eq!(props["wait_seconds"]["maximum"], 120, "{text}");
        assert_eq!(schema["required"], json!(["file_paths"]), "{text}");
        assert_eq!(schema["additionalProperties"], false, "{text}");
    }

    #[test]
    fn status_result_schema_describes_every_field() {
        let schema = Value::Object(output_schema::<StatusResult>());
        let agents = &schema["properties"]["agents"]["items"]["properties"];
        for field in [
            "agent_id",
            "role",
            "activity",
            "seconds_since_activity",
            "current_task",
            "locks",
        ] {
            assert!(agents.get(field).is_some(), "{field}: {schema}");
        }
        assert_eq!(
            schema["properties"]["tasks"]["items"]["properties"]["status"]["enum"][0],
            "planned"
        );
    }
}
