//! The seed's deployment guide: its two curl checks, the health grep, and the metrics it asks to watch.

use ccmulti_testkit::*;
use serde_json::json;

on_both_backends!(
    a_claude_code_planner_sees_the_coordination_tools,
    cursor_sees_none,
    the_first_request_registers_session_and_agent,
    health_detailed_names_the_coordination_tools_and_metrics_count,
);

async fn a_claude_code_planner_sees_the_coordination_tools(backend: Backend) {
    let server = backend.start().await;
    let reply = list_tools(
        &server.url("claude", "test_user__session__test_session__planner"),
        Some("claude code"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.tool_names(), PLANNER_TOOLS);
    for tool in reply.result()["tools"].as_array().unwrap() {
        assert!(tool["inputSchema"]["type"] == "object", "{tool}");
        assert!(
            tool["outputSchema"]["properties"]["success"].is_object(),
            "{tool}"
        );
        assert!(tool["annotations"]["readOnlyHint"].is_boolean(), "{tool}");
    }
}

async fn cursor_sees_none(backend: Backend) {
    let server = backend.start().await;
    let reply = list_tools(&server.url("cursor", "test_user"), Some("cursor")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.result()["tools"], json!([]));
}

async fn the_first_request_registers_session_and_agent(backend: Backend) {
    let server = backend.start().await;
    list_tools(&server.agent_url("planner"), Some("claude code")).await;
    list_tools(&server.agent_url("impl_a"), Some("claude code")).await;
    let view = server.store.session_view("s1").await.unwrap();
    let agents: Vec<_> = view.agents.iter().map(|a| a.agent_id.as_str()).collect();
    assert_eq!(agents, ["impl_a", "planner"]);
    // Another user naming the same session is refused, and nothing is registered for it.
    let reply = list_tools(
        &server.url("claude", "mallory__session__s1__impl_b"),
        Some("claude code"),
    )
    .await;
    assert_eq!(reply.status, 403);
    assert!(
        reply.error_message().contains("belongs to another user"),
        "{}",
        reply.text
    );
    assert_eq!(
        server.store.session_view("s1").await.unwrap().agents.len(),
        2
    );
}

async fn health_detailed_names_the_coordination_tools_and_metrics_count(backend: Backend) {
    let server = backend.start().await;
    let detailed = send(client().get(format!("{}/health/detailed", server.base))).await;
    assert_eq!(detailed.status, 200);
    assert!(detailed.text.to_lowercase().contains("coordination"));
    assert_eq!(detailed.json["coordination_tools"], json!(PLANNER_TOOLS));
    let (name, schema) = match backend {
        Backend::Sqlite => ("sqlite", ccmulti::store::sqlite::SCHEMA_VERSION),
        Backend::Postgres => ("postgres", ccmulti::store::postgres::SCHEMA_VERSION),
    };
    assert_eq!(
        detailed.json["database"]["backend"], name,
        "{}",
        detailed.text
    );
    assert_eq!(detailed.json["database"]["schema_version"], schema);
    assert_eq!(
        send(client().get(format!("{}/health", server.base)))
            .await
            .json["status"],
        "ok"
    );

    call_tool(
        &server.agent_url("a"),
        "claim_file_lock",
        json!({ "file_paths": ["x.rs"] }),
    )
    .await;
    call_tool(
        &server.agent_url("b"),
        "claim_file_lock",
        json!({ "file_paths": ["x.rs"] }),
    )
    .await;
    bare(
        &server.url("cursor", "u"),
        Some("cursor"),
        json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": { "name": "claim_file_lock", "arguments": {} } }),
    )
    .await;
    let metrics = send(client().get(format!("{}/metrics", server.base)))
        .await
        .text;
    for line in [
        "ccmulti_active_locks 1",
        "ccmulti_lock_conflicts_total 1",
        "ccmulti_blocked_calls_total{client=\"cursor\"} 1",
        "ccmulti_requests_total{method=\"tools/call\",outcome=\"ok\"} 2",
        "ccmulti_tool_duration_seconds_count{tool=\"claim_file_lock\"} 2",
    ] {
        assert!(metrics.contains(line), "missing {line:?} in\n{metrics}");
    }
}
