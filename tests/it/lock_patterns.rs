//! Directory and glob locks end to end through the MCP tools, over a real
//! listener, on both backends. The full table is in `rules::locks`'s tests.

use ccmulti_testkit::*;
use serde_json::{Value, json};

on_both_backends!(
    patterns_conflict_through_the_tool_as_the_rules_say,
    a_pattern_lock_is_shown_renewed_and_released_by_its_own_string,
);

/// (held by holder, its operation, claimed by other, its operation, conflict?)
const ROWS: &[(&str, &str, &str, &str, bool)] = &[
    ("src/api/", "write", "src/api/v1/x.rs", "write", true),
    ("src/a/", "write", "src/ab.rs", "write", false),
    ("src/api/**/*.rs", "write", "src/api/x.py", "write", false),
    ("src/api/**/*.rs", "delete", "src/api/v2/y.rs", "read", true),
    ("src/**/*.rs", "read", "src/lib.rs", "read", false),
    ("src/**/*.rs", "read", "src/", "write", true),
    ("docs/", "write", "src/**", "write", false),
    ("src/{lib,main}.rs", "write", "./src/main.rs", "write", true),
    // The documented over-approximation between two patterns.
    ("src/*.rs", "write", "src/api/", "write", true),
];

async fn claim(url: &str, path: &str, operation: &str) -> Reply {
    call_tool(
        url,
        "claim_file_lock",
        json!({ "file_paths": [path], "operation": operation }),
    )
    .await
}

async fn patterns_conflict_through_the_tool_as_the_rules_say(backend: Backend) {
    let server = backend.start().await;
    for (i, &(held, held_op, wanted, wanted_op, conflict)) in ROWS.iter().enumerate() {
        // A session per row, so rows do not see each other's locks.
        let holder = server.url("claude", &format!("u1__session__row{i}__holder"));
        let other = server.url("claude", &format!("u1__session__row{i}__other"));
        let first = claim(&holder, held, held_op).await;
        assert_eq!(first.structured()["success"], true, "{}", first.text);
        let second = claim(&other, wanted, wanted_op).await;
        assert_eq!(
            second.structured()["success"],
            !conflict,
            "{held} ({held_op}) held, {wanted} ({wanted_op}) claimed: {}",
            second.text
        );
        if conflict {
            let c = &second.structured()["conflicts"][0];
            assert_eq!(
                (c["held_path"].as_str(), c["holder"].as_str()),
                (Some(held), Some("holder"))
            );
        }
    }
}

fn lock_paths(status: &Reply) -> Vec<Value> {
    status.structured()["locks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| l["path"].clone())
        .collect()
}

async fn a_pattern_lock_is_shown_renewed_and_released_by_its_own_string(backend: Backend) {
    let server = backend.start().await;
    let holder = server.agent_url("holder");
    let other = server.agent_url("other");
    let first = claim(&holder, "./src//api/", "write").await;
    assert_eq!(
        first.structured()["locks"][0]["path"],
        "src/api/",
        "{}",
        first.text
    );
    let glob = claim(&holder, "src/**/*.md", "write").await;
    assert_eq!(glob.structured()["success"], true, "{}", glob.text);

    let status = call_tool(&other, "check_agent_status", json!({})).await;
    assert_eq!(
        lock_paths(&status),
        [json!("src/**/*.md"), json!("src/api/")]
    );

    let conflict = claim(&other, "src/api/mod.rs", "write").await;
    let message = conflict.structured()["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.starts_with("src/api/mod.rs overlaps src/api/, which is held by holder for write"),
        "{message}"
    );

    let again = claim(&holder, "src/api/", "write").await;
    assert_eq!(
        again.structured()["locks"][0]["renewed"],
        true,
        "{}",
        again.text
    );
    assert_eq!(
        again.structured()["locks"][0]["fencing_token"],
        first.structured()["locks"][0]["fencing_token"]
    );

    let released = call_tool(
        &holder,
        "release_file_lock",
        json!({ "file_paths": ["src/api/"] }),
    )
    .await;
    assert_eq!(
        released.structured()["released"],
        json!(["src/api/"]),
        "{}",
        released.text
    );
    let now = claim(&other, "src/api/mod.rs", "write").await;
    assert_eq!(now.structured()["success"], true, "{}", now.text);
}
