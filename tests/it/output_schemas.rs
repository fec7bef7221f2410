//! Every field a tool returns is described by the `outputSchema` that
//! `tools/list` gives for it, recursively (objects, arrays of objects, maps),
//! for all seven tools: grants, conflicts, releases, progress, status with
//! news, an analysis, a distribution, a set-up and a refused set-up.

use ccmulti_testkit::*;
use serde_json::{Value, json};

on_both_backends!(every_result_field_is_in_the_tools_output_schema);

/// The paths of result fields that `schema` does not describe, and of fields
/// it requires that the result lacks (Claude Code refuses such a result).
fn undescribed(value: &Value, schema: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for required in schema["required"].as_array().into_iter().flatten() {
                let name = required.as_str().unwrap_or_default();
                if !fields.contains_key(name) {
                    out.push(format!("{at}.{name} (required, missing)"));
                }
            }
            let props = &schema["properties"];
            for (name, v) in fields {
                let here = format!("{at}.{name}");
                match (props.get(name), schema.get("additionalProperties")) {
                    (Some(sub), _) => undescribed(v, sub, &here, out),
                    // A map ({path: why}): every value is described by one schema.
                    (None, Some(each)) if each.is_object() => undescribed(v, each, &here, out),
                    (None, _) => out.push(here),
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

async fn every_result_field_is_in_the_tools_output_schema(backend: Backend) {
    let server = backend.start().await;
    let a = server.agent_url("impl_a");
    let b = server.agent_url("impl_b");
    let planner = server.agent_url("planner");
    std::fs::create_dir_all(server.root.join("src")).unwrap();
    std::fs::write(
        server.root.join("src/limits.rs"),
        "pub fn rate_limit() {}\n",
    )
    .unwrap();
    let list = list_tools(&planner, Some("claude code")).await;
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
    let analysis = call_tool(
        &planner,
        "analyze_task_conflicts",
        json!({ "tasks": ["Rate limit the API", { "description": "Tune limits", "files": ["src/limits.rs"] }] }),
    )
    .await;
    let calls = [
        (
            &planner,
            "analyze_task_conflicts",
            json!({ "tasks": ["Rate limit the API", "Document the limits"] }),
        ),
        (
            &planner,
            "create_task_distribution",
            json!({ "analysis_result": analysis.structured().clone() }),
        ),
        (
            &planner,
            "setup_multi_agent_coordination",
            json!({ "user_message": "Split these across agents:\n1. Rate limit the API\n2. Document it" }),
        ),
        (
            &planner,
            "setup_multi_agent_coordination",
            json!({ "user_message": "hello" }),
        ),
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
        let reply = call_tool(url, tool, args.clone()).await;
        let result = reply.structured();
        assert!(result.is_object(), "{tool} {args}: {}", reply.text);
        let schema = schema_of(tool);
        let mut missing = Vec::new();
        undescribed(result, &schema, tool, &mut missing);
        assert!(
            missing.is_empty(),
            "{tool} {args}: not in its outputSchema, or required and missing: {missing:?}\n{schema}"
        );
        // The text block is the same JSON, written compactly.
        let text = reply.result()["content"][0]["text"].as_str().unwrap();
        assert_eq!(serde_json::from_str::<Value>(text).unwrap(), *result);
        assert!(!text.contains("\n  "), "{text}");
    }
}
