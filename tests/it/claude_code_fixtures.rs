//! What Claude Code 2.1.330 actually sent (tests/fixtures/claude-code), replayed against ccmulti.

use ccmulti_testkit::*;
use serde_json::{Value, json};

on_both_backends!(
    stateless_discovery_then_list_then_call,
    legacy_fallback_handshake,
);

fn fixture(name: &str) -> Vec<Value> {
    let path = format!(
        "{}/tests/fixtures/claude-code/{name}",
        ccmulti_testkit::interop::repo().display()
    );
    std::fs::read_to_string(&path)
        .expect("fixture")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("fixture line"))
        .collect()
}

/// Replays one captured request, swapping in this server's address and session id.
async fn replay(server: &Server, entry: &Value, session: Option<&str>) -> Reply {
    let url = format!("{}{}", server.base, entry["path"].as_str().unwrap());
    let method = entry["http_method"].as_str().unwrap();
    let mut request = match method {
        "GET" => client().get(&url),
        "DELETE" => client().delete(&url),
        _ => client().post(&url),
    };
    for (name, value) in entry["headers"].as_object().unwrap() {
        let value = value.as_str().unwrap();
        let value = if name == "mcp-session-id" {
            session.unwrap_or(value)
        } else {
            value
        };
        request = request.header(name.as_str(), value);
    }
    if !entry["body"].is_null() {
        request = request.body(entry["body"].to_string());
    }
    if method == "GET" {
        // A stream stays open; its status is all we need.
        let response = request.send().await.unwrap();
        return Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            json: Value::Null,
            text: String::new(),
        };
    }
    send(request).await
}

fn assert_valid_tool(tool: &Value) {
    assert!(
        tool["name"].is_string() && tool["description"].is_string(),
        "{tool}"
    );
    assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
    assert_eq!(tool["outputSchema"]["type"], "object", "{tool}");
}

async fn stateless_discovery_then_list_then_call(backend: Backend) {
    let server = backend.start().await;
    let entries = fixture("stateless-2026-07-28.jsonl");
    let discover = replay(&server, &entries[0], None).await;
    assert_eq!(discover.status, 200, "{}", discover.text);
    assert!(
        discover.result()["supportedVersions"]
            .as_array()
            .unwrap()
            .contains(&json!("2026-07-28"))
    );
    assert_eq!(discover.result()["resultType"], "complete");

    let list = replay(&server, &entries[1], None).await;
    assert_eq!(list.tool_names(), IMPLEMENTER_TOOLS);
    list.result()["tools"]
        .as_array()
        .unwrap()
        .iter()
        .for_each(assert_valid_tool);

    // The capture called a tool named "hello", which ccmulti does not have.
    let hello = replay(&server, &entries[2], None).await;
    assert_eq!(hello.error_code(), Some(-32602), "{}", hello.text);
    assert!(
        hello.error_message().contains("unknown tool"),
        "{}",
        hello.text
    );

    // The same request shape with a real tool passes Claude Code's strict result check.
    let mut call = entries[2].clone();
    call["headers"]["mcp-name"] = json!("check_agent_status");
    call["body"]["params"]["name"] = json!("check_agent_status");
    let status = replay(&server, &call, None).await;
    let result = status.result();
    assert!(
        result["content"].is_array(),
        "Claude Code rejects a result without content: {}",
        status.text
    );
    assert_eq!(result["content"][0]["type"], "text");
    assert_eq!(result["structuredContent"]["success"], true);
    assert_eq!(result["structuredContent"]["you"], "impl_a");
}

async fn legacy_fallback_handshake(backend: Backend) {
    let server = backend.start().await;
    let entries = fixture("legacy-fallback.jsonl");
    let init = replay(&server, &entries[1], None).await;
    assert_eq!(init.status, 200, "{}", init.text);
    assert_eq!(init.result()["protocolVersion"], "2025-11-25");
    let session = init.headers["mcp-session-id"].to_str().unwrap().to_owned();
    let initialized = replay(&server, &entries[2], Some(&session)).await;
    assert_eq!(initialized.status, 202);
    let get = replay(&server, &entries[3], Some(&session)).await;
    assert!(get.status == 200 || get.status == 405, "{}", get.status);
    let list = replay(&server, &entries[4], Some(&session)).await;
    // The planner, identified by the User-Agent and initialize's clientInfo.
    assert_eq!(list.tool_names(), PLANNER_TOOLS, "{}", list.text);
    list.result()["tools"]
        .as_array()
        .unwrap()
        .iter()
        .for_each(assert_valid_tool);
}
