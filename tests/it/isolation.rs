//! The table of who gets which tools (docs/guide/tools.md), for tools/list and for tools/call.

use ccmulti_testkit::*;
use serde_json::json;

on_both_backends!(
    each_client_lists_exactly_its_tools_and_can_call_nothing_else,
    a_refusal_is_counted_whatever_tool_name_it_names_and_writes_nothing,
);

struct Case {
    path_client: &'static str,
    user: &'static str,
    x_client_name: Option<&'static str>,
    user_agent: Option<&'static str>,
    sees: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        path_client: "claude",
        user: "u__session__s__planner",
        x_client_name: Some("claude code"),
        user_agent: None,
        sees: &PLANNER_TOOLS,
    },
    Case {
        path_client: "claude",
        user: "u__session__s__impl_a",
        x_client_name: None,
        user_agent: Some("claude-code/2.1.330 (sdk-cli)"),
        sees: &IMPLEMENTER_TOOLS,
    },
    Case {
        path_client: "claude",
        user: "u",
        x_client_name: Some("claude-code"),
        user_agent: None,
        sees: &NO_SESSION_TOOLS,
    },
    Case {
        path_client: "cursor",
        user: "u",
        x_client_name: Some("cursor"),
        user_agent: None,
        sees: &[],
    },
    Case {
        path_client: "cursor",
        user: "u__session__s__planner",
        x_client_name: Some("claude code"),
        user_agent: None,
        sees: &[],
    },
    Case {
        path_client: "chorus",
        user: "u",
        x_client_name: Some("chorus"),
        user_agent: None,
        sees: &[],
    },
    Case {
        path_client: "chatgpt",
        user: "u__session__s__impl_a",
        x_client_name: Some("chatgpt"),
        user_agent: None,
        sees: &[],
    },
    Case {
        path_client: "api",
        user: "u",
        x_client_name: None,
        user_agent: None,
        sees: &[],
    },
    Case {
        path_client: "claude",
        user: "u__session__s__impl_a",
        x_client_name: Some("cursor"),
        user_agent: None,
        sees: &[],
    },
    Case {
        path_client: "claude",
        user: "u__session__s__impl_a",
        x_client_name: Some("claude code"),
        user_agent: Some("Cursor/1.7"),
        sees: &[],
    },
    Case {
        path_client: "claude",
        user: "u__session__s__impl_a",
        x_client_name: None,
        user_agent: Some("curl/8.5.0"),
        sees: &[],
    },
    Case {
        path_client: "claude",
        user: "u__session__s__impl_a",
        x_client_name: None,
        user_agent: None,
        sees: &[],
    },
];

fn request(server: &Server, case: &Case, body: serde_json::Value) -> reqwest::RequestBuilder {
    let mut r = client()
        .post(server.url(case.path_client, case.user))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(name) = case.x_client_name {
        r = r.header("x-client-name", name);
    }
    if let Some(agent) = case.user_agent {
        r = r.header("user-agent", agent);
    }
    r
}

async fn each_client_lists_exactly_its_tools_and_can_call_nothing_else(backend: Backend) {
    let server = backend.start().await;
    for case in CASES {
        let label = format!(
            "{} {} {:?} {:?}",
            case.path_client, case.user, case.x_client_name, case.user_agent
        );
        let list = send(request(
            &server,
            case,
            json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }),
        ))
        .await;
        assert_eq!(list.tool_names(), case.sees, "{label}: {}", list.text);

        let before = state_fingerprint(&server).await;
        let call = send(request(
            &server,
            case,
            json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call",
                    "params": { "name": "claim_file_lock", "arguments": { "file_paths": ["guarded.rs"] } } }),
        ))
        .await;
        if case.sees.contains(&"claim_file_lock") {
            assert_eq!(call.structured()["success"], true, "{label}: {}", call.text);
            let release = send(request(
                &server,
                case,
                json!({ "jsonrpc": "2.0", "id": 3, "method": "tools/call",
                        "params": { "name": "release_file_lock", "arguments": { "all": true } } }),
            ))
            .await;
            assert_eq!(
                release.structured()["released"],
                json!(["guarded.rs"]),
                "{label}"
            );
        } else {
            assert_eq!(call.error_code(), Some(-32602), "{label}: {}", call.text);
            assert!(
                call.error_message()
                    .contains("not available to this client"),
                "{label}: {}",
                call.text
            );
            assert_eq!(
                state_fingerprint(&server).await,
                before,
                "{label}: a refused call changed state"
            );
        }
    }
    // Refusals are logged and counted, never written: no audit event either.
    let refused = CASES
        .iter()
        .filter(|c| !c.sees.contains(&"claim_file_lock"));
    assert_eq!(server.state.metrics.blocked_total(), refused.count() as u64);
    assert_eq!(blocked_events(&server).await, 0);
}

async fn blocked_events(server: &Server) -> usize {
    server
        .store
        .snapshot(100)
        .await
        .expect("snapshot")
        .events
        .iter()
        .filter(|e| e.kind == ccmulti_model::EventKind::BlockedClient)
        .count()
}

/// A refused call names the tool as asked for, whatever its text (a NUL
/// included), and is counted under the client's name; nothing is written
/// to the database on either backend, not even an audit event.
async fn a_refusal_is_counted_whatever_tool_name_it_names_and_writes_nothing(backend: Backend) {
    let server = backend.start().await;
    let reply = bare(
        &server.url("cursor", "u__session__s__c"),
        Some("cursor"),
        json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": { "name": "claim\u{0}file_lock", "arguments": {} } }),
    )
    .await;
    assert_eq!(reply.error_code(), Some(-32602), "{}", reply.text);
    assert!(
        reply
            .error_message()
            .contains("not available to this client (cursor)"),
        "{}",
        reply.text
    );
    let metrics = metrics(&server.base).await;
    assert!(
        metrics.contains("ccmulti_blocked_calls_total{client=\"cursor\"} 1"),
        "{metrics}"
    );
    let snapshot = server.store.snapshot(100).await.expect("snapshot");
    assert!(snapshot.events.is_empty(), "{:?}", snapshot.events);
    assert!(snapshot.sessions.is_empty() && snapshot.agents.is_empty());
}
