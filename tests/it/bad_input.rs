//! Every bad input gets a clear error that says what was wrong and what is accepted, and changes nothing.

use ccmulti_testkit::*;
use serde_json::{Value, json};

on_both_backends!(
    tool_arguments,
    envelopes_and_urls,
    thirty_two_claimants_over_http_get_one_grant,
);

struct Bad {
    what: &'static str,
    tool: &'static str,
    arguments: Value,
    /// A fragment the error message must contain.
    says: &'static str,
}

fn tool_cases() -> Vec<Bad> {
    let many: Vec<String> = (0..10_000).map(|i| format!("f{i}.rs")).collect();
    vec![
        Bad {
            what: "wrong type for file_paths",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": "a.rs" }),
            says: "must be an array of strings",
        },
        Bad {
            what: "wrong item type",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": [1] }),
            says: "entry 0 must be a string",
        },
        Bad {
            what: "missing file_paths",
            tool: "claim_file_lock",
            arguments: json!({}),
            says: "file_paths is required",
        },
        Bad {
            what: "duration 0",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": ["a"], "duration_minutes": 0 }),
            says: "accepted: 1 to 60",
        },
        Bad {
            what: "duration 61",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": ["a"], "duration_minutes": 61 }),
            says: "accepted: 1 to 60",
        },
        Bad {
            what: "duration as text",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": ["a"], "duration_minutes": "ten" }),
            says: "whole number from 1 to 60",
        },
        Bad {
            what: "fractional duration",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": ["a"], "duration_minutes": 1.5 }),
            says: "whole number",
        },
        Bad {
            what: "unknown operation",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": ["a"], "operation": "exclusive" }),
            says: "read, write or delete",
        },
        Bad {
            what: "escaping path",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": ["../../etc/passwd"] }),
            says: "escapes the project root",
        },
        Bad {
            what: "absolute path outside the root",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": ["/etc/passwd"] }),
            says: "outside the project root",
        },
        Bad {
            what: "empty path",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": [""] }),
            says: "empty",
        },
        Bad {
            what: "NUL in path",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": ["a\u{0}b"] }),
            says: "NUL",
        },
        Bad {
            what: "absurdly long path",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": ["a".repeat(5000)] }),
            says: "at most 4096",
        },
        Bad {
            what: "empty path list",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": [] }),
            says: "file_paths is empty",
        },
        Bad {
            what: "10,000 paths",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": many }),
            says: "at most 100",
        },
        Bad {
            what: "one bad path among good ones",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": ["ok.rs", "../x"] }),
            says: "escapes",
        },
        Bad {
            what: "unknown argument",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": ["a"], "force": true }),
            says: "unknown argument \"force\"",
        },
        Bad {
            what: "wait_seconds -1",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": ["held.rs"], "wait_seconds": -1 }),
            says: "wait_seconds is -1; accepted: 0 to 120",
        },
        Bad {
            what: "wait_seconds 121",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": ["held.rs"], "wait_seconds": 121 }),
            says: "wait_seconds is 121; accepted: 0 to 120",
        },
        Bad {
            what: "wait_seconds as text",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": ["held.rs"], "wait_seconds": "5" }),
            says: "wait_seconds must be a whole number from 0 to 120, not a string",
        },
        Bad {
            what: "fractional wait_seconds",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": ["held.rs"], "wait_seconds": 1.5 }),
            says: "wait_seconds must be a whole number from 0 to 120",
        },
        Bad {
            what: "malformed glob",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": ["src/[a"] }),
            says: "the glob \"src/[a\" is not valid: unclosed character class",
        },
        Bad {
            what: "glob escaping the root",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": ["../**"] }),
            says: "\"../**\" escapes the project root",
        },
        Bad {
            what: "glob climbing after a wildcard",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": ["src/*/../../x"] }),
            says: "uses .. after a wildcard",
        },
        Bad {
            what: "absolute glob outside the root",
            tool: "claim_file_lock",
            arguments: json!({ "file_paths": ["/etc/**"] }),
            says: "outside the project root",
        },
        Bad {
            what: "progress 101",
            tool: "sync_progress",
            arguments: json!({ "task_id": "t", "status": "in_progress", "progress_percentage": 101 }),
            says: "accepted: 0 to 100",
        },
        Bad {
            what: "progress -1",
            tool: "sync_progress",
            arguments: json!({ "task_id": "t", "status": "in_progress", "progress_percentage": -1 }),
            says: "accepted: 0 to 100",
        },
        Bad {
            what: "status done",
            tool: "sync_progress",
            arguments: json!({ "task_id": "t", "status": "done" }),
            says: "started, in_progress, completed, failed, blocked or paused",
        },
        Bad {
            what: "missing status",
            tool: "sync_progress",
            arguments: json!({ "task_id": "t" }),
            says: "status is required",
        },
        Bad {
            what: "missing task_id",
            tool: "sync_progress",
            arguments: json!({ "status": "started" }),
            says: "task_id is required",
        },
        Bad {
            what: "1 MiB-ish message",
            tool: "sync_progress",
            arguments: json!({ "task_id": "t", "status": "started", "message": "m".repeat(900_000) }),
            says: "at most 4000",
        },
        // PostgreSQL cannot keep a NUL in text (SQLite did, silently): both
        // refuse it at the edge, before anything is written.
        Bad {
            what: "NUL in a task id",
            tool: "sync_progress",
            arguments: json!({ "task_id": "t\u{0}x", "status": "started" }),
            says: "task_id holds a NUL byte",
        },
        Bad {
            what: "NUL in a progress message",
            tool: "sync_progress",
            arguments: json!({ "task_id": "t", "status": "started", "message": "a\u{0}b" }),
            says: "message holds a NUL byte",
        },
        Bad {
            what: "affected file outside root",
            tool: "sync_progress",
            arguments: json!({ "task_id": "t", "status": "started", "affected_files": ["../x"] }),
            says: "escapes",
        },
        Bad {
            what: "release with nothing named",
            tool: "release_file_lock",
            arguments: json!({}),
            says: "nothing to release",
        },
        Bad {
            what: "release both ways",
            tool: "release_file_lock",
            arguments: json!({ "all": true, "file_paths": ["a"] }),
            says: "not both",
        },
        Bad {
            what: "release all as text",
            tool: "release_file_lock",
            arguments: json!({ "all": "yes" }),
            says: "true or false",
        },
        Bad {
            what: "include_inactive as number",
            tool: "check_agent_status",
            arguments: json!({ "include_inactive": 1 }),
            says: "true or false",
        },
        Bad {
            what: "unknown tool",
            tool: "delete_everything",
            arguments: json!({}),
            says: "unknown tool",
        },
    ]
}

async fn tool_arguments(backend: Backend) {
    let server = backend.start().await;
    let url = server.agent_url("impl_a");
    call_tool(
        &url,
        "claim_file_lock",
        json!({ "file_paths": ["held.rs"] }),
    )
    .await;
    call_tool(
        &url,
        "sync_progress",
        json!({ "task_id": "t", "status": "started", "message": "first" }),
    )
    .await;
    for bad in tool_cases() {
        let before = state_fingerprint(&server).await;
        let reply = call_tool(&url, bad.tool, bad.arguments).await;
        assert_eq!(
            reply.error_code(),
            Some(-32602),
            "{}: {}",
            bad.what,
            reply.text.chars().take(300).collect::<String>()
        );
        assert!(
            reply.error_message().contains(bad.says),
            "{}: {:?} lacks {:?}",
            bad.what,
            reply.error_message(),
            bad.says
        );
        assert_eq!(
            state_fingerprint(&server).await,
            before,
            "{} changed state",
            bad.what
        );
    }
}

async fn envelopes_and_urls(backend: Backend) {
    let server = backend.start().await;
    let url = server.agent_url("impl_a");
    list_tools(&url, Some("claude code")).await;
    let before = state_fingerprint(&server).await;
    let post = |url: String, body: String| {
        send(
            client()
                .post(url)
                .header("content-type", "application/json")
                .body(body),
        )
    };

    let r = post(url.clone(), "{not json".into()).await;
    assert_eq!(
        (r.status, r.error_code()),
        (400, Some(-32700)),
        "{}",
        r.text
    );
    let r = post(url.clone(), "[]".into()).await;
    assert_eq!(r.error_code(), Some(-32600), "{}", r.text);
    assert!(r.error_message().contains("batches"));
    let r = post(
        url.clone(),
        json!({ "id": 1, "method": "tools/list" }).to_string(),
    )
    .await;
    assert_eq!(r.error_code(), Some(-32600), "{}", r.text);
    let r = post(
        url.clone(),
        json!({ "jsonrpc": "2.0", "id": 1, "method": 5 }).to_string(),
    )
    .await;
    assert_eq!(r.error_code(), Some(-32600), "{}", r.text);
    let r = post(
        url.clone(),
        json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/delete" }).to_string(),
    )
    .await;
    assert_eq!(r.error_code(), Some(-32601), "{}", r.text);
    let r = post(
        url.clone(),
        json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": { "arguments": {} } })
            .to_string(),
    )
    .await;
    assert_eq!(r.error_code(), Some(-32602), "{}", r.text);
    let r = post(
        url.clone(),
        json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": "claim" }).to_string(),
    )
    .await;
    assert_eq!(r.error_code(), Some(-32602), "{}", r.text);

    let huge = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": { "name": "sync_progress", "arguments": { "task_id": "t", "status": "started", "message": "m".repeat(1024 * 1024) } } });
    let r = post(url.clone(), huge.to_string()).await;
    assert_eq!(r.status, 413, "{}", r.text);
    assert!(r.error_message().contains("exceeds"));

    for bad_user in [
        "u__session__s1",
        "u__session__s%2F1__a",
        "u%20x",
        "u__session____a",
        &"x".repeat(200),
    ] {
        let r = post(
            server.url("claude", bad_user),
            json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }).to_string(),
        )
        .await;
        assert_eq!(r.status, 400, "{bad_user}: {}", r.text);
        assert!(
            r.error_message()
                .contains("{user}__session__{session}__{agent}"),
            "{bad_user}: {}",
            r.text
        );
    }
    assert_eq!(state_fingerprint(&server).await, before);
}

async fn thirty_two_claimants_over_http_get_one_grant(backend: Backend) {
    let server = backend.start().await;
    let calls = (0..32).map(|i| {
        let url = server.agent_url(&format!("agent{i}"));
        tokio::spawn(async move {
            call_tool(
                &url,
                "claim_file_lock",
                json!({ "file_paths": ["src/hot.rs"] }),
            )
            .await
        })
    });
    let replies: Vec<Reply> = futures_join(calls).await;
    let winners: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.structured()["success"] == true)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one grant");
    let holder = server.store.session_view("s1").await.unwrap().locks[0]
        .agent_id
        .clone();
    for r in replies
        .iter()
        .filter(|r| r.structured()["success"] == false)
    {
        assert_eq!(
            r.structured()["conflicts"][0]["holder"],
            json!(holder),
            "{}",
            r.text
        );
        assert_eq!(r.result()["isError"], true);
    }
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.expect("task"));
    }
    out
}
