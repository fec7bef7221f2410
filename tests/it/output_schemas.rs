//! Every field a tool returns is described by the `outputSchema` that
//! `tools/list` gives for it, recursively (objects, arrays of objects), for
//! grants, conflicts, releases, progress, status with news, and refusals.

use ccmulti_testkit::*;
use serde_json::{Value, json};

/// The paths of result fields that `schema` does not describe.
fn undescribed(value: &Value, schema: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            let props = &schema["properties"];
            for (name, v) in fields {
                let here = format!("{at}.{name}");
                match props.get(name) {
                    Some(sub) => undescribed(v, sub, &here, out),
                    None => out.push(here),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                undescribed(item, &schema["items"], &format!("{at}[]"), out);
            }
        }
        _ => {}
    }
}

const TYPED: [&str; 4] = [
    "claim_file_lock",
    "release_file_lock",
    "sync_progress",
    "check_agent_status",
];

#[tokio::test]
async fn every_result_field_is_in_the_tools_output_schema() {
    let server = start().await;
    let a = server.agent_url("impl_a");
    let b = server.agent_url("impl_b");
    let list = list_tools(&a, Some("claude code")).await;
    let schemas: Vec<(String, Value)> = list.result()["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["outputSchema"].clone(),
            )
        })
        .collect();
    let schema_of = |tool: &str| {
        schemas
            .iter()
            .find(|(n, _)| n == tool)
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| panic!("{tool} is not listed"))
    };
    let calls = [
        (&a, "claim_file_lock", json!({ "file_paths": ["src/a.rs"] })),
        (
            &b,
            "claim_file_lock",
            json!({ "file_paths": ["src/a.rs"], "wait_seconds": 1 }),
        ),
        (
            &a,
            "sync_progress",
            json!({ "task_id": "t1", "status": "in_progress", "progress_percentage": 40, "message": "half" }),
        ),
        (
            &a,
            "release_file_lock",
            json!({ "file_paths": ["src/a.rs", "src/never.rs"] }),
        ),
        (&b, "check_agent_status", json!({})),
        (
            &b,
            "check_agent_status",
            json!({ "news": false, "include_inactive": true }),
        ),
    ];
    for (url, tool, args) in calls {
        assert!(TYPED.contains(&tool));
        let reply = call_tool(url, tool, args.clone()).await;
        let result = reply.structured();
        assert!(result.is_object(), "{tool} {args}: {}", reply.text);
        let schema = schema_of(tool);
        let mut missing = Vec::new();
        undescribed(result, &schema, tool, &mut missing);
        assert!(
            missing.is_empty(),
            "{tool} {args}: not in its outputSchema: {missing:?}\n{schema}"
        );
        // The text block is the same JSON, written compactly.
        let text = reply.result()["content"][0]["text"].as_str().unwrap();
        assert_eq!(serde_json::from_str::<Value>(text).unwrap(), *result);
        assert!(!text.contains("\n  "), "{text}");
    }
}
