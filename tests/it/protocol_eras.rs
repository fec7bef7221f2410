//! A handshake, a list and a call in each protocol era ccmulti serves, on one endpoint.

use ccmulti_testkit::*;
use serde_json::{Value, json};

// Every era's calls reach the store; the 405 and the kept-alive connection's
// latency are the HTTP layer's alone and run on SQLite only.
on_both_backends!(
    stateless_2026_07_28,
    legacy_2025_11_25,
    legacy_2025_06_18,
    legacy_2025_03_26,
);

fn meta(version: &str, client: &str) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientInfo": { "name": client, "version": "1.0.0" },
        "io.modelcontextprotocol/clientCapabilities": {}
    })
}

fn stateless(url: &str, method: &str, mut params: Value, client: &str) -> reqwest::RequestBuilder {
    params["_meta"] = meta("2026-07-28", client);
    let mut request = client_post(url)
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method);
    if method == "tools/call" {
        request = request.header(
            "mcp-name",
            params["name"].as_str().unwrap_or_default().to_owned(),
        );
    }
    request
        .body(json!({ "jsonrpc": "2.0", "id": 7, "method": method, "params": params }).to_string())
}

fn client_post(url: &str) -> reqwest::RequestBuilder {
    client()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
}

async fn stateless_2026_07_28(backend: Backend) {
    let server = backend.start().await;
    let url = server.agent_url("impl_a");
    let discover = send(stateless(&url, "server/discover", json!({}), "claude-code")).await;
    assert_eq!(discover.status, 200, "{}", discover.text);
    let versions = &discover.result()["supportedVersions"];
    assert_eq!(
        versions,
        &json!(["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"]),
        "{}",
        discover.text
    );
    assert!(discover.headers.get("mcp-session-id").is_none());

    let list = send(stateless(&url, "tools/list", json!({}), "claude-code")).await;
    assert_eq!(list.tool_names(), IMPLEMENTER_TOOLS);
    assert_eq!(list.result()["resultType"], "complete", "{}", list.text);

    let call = send(stateless(
        &url,
        "tools/call",
        json!({ "name": "claim_file_lock", "arguments": { "file_paths": ["src/lib.rs"] } }),
        "claude-code",
    ))
    .await;
    assert_eq!(call.structured()["success"], true, "{}", call.text);
    assert_eq!(call.result()["resultType"], "complete");
    let text = call.result()["content"][0]["text"].as_str().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(text).unwrap(),
        *call.structured()
    );

    // The same request from another client, by _meta alone, sees nothing.
    let other = send(stateless(&url, "tools/list", json!({}), "cursor")).await;
    assert_eq!(other.tool_names(), Vec::<String>::new());
}

async fn legacy_era(backend: Backend, version: &str) {
    let server = backend.start().await;
    let url = server.agent_url("impl_a");
    let init = send(client_post(&url).body(
        json!({
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": { "protocolVersion": version, "capabilities": {}, "clientInfo": { "name": "claude-code", "version": "2.1.330" } }
        })
        .to_string(),
    ))
    .await;
    assert_eq!(init.status, 200, "{version}: {}", init.text);
    assert_eq!(init.result()["protocolVersion"], version, "{}", init.text);
    assert_eq!(init.result()["serverInfo"]["name"], "ccmulti");
    let session = init
        .headers
        .get("mcp-session-id")
        .expect("a session id")
        .to_str()
        .unwrap()
        .to_owned();
    let with_session = |body: Value| {
        client_post(&url)
            .header("mcp-session-id", &session)
            .header("mcp-protocol-version", version)
            .body(body.to_string())
    };
    let initialized = send(with_session(
        json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }),
    ))
    .await;
    assert_eq!(initialized.status, 202, "{}", initialized.text);

    // clientInfo from initialize identifies Claude Code on later requests of the session.
    let list = send(with_session(
        json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }),
    ))
    .await;
    assert_eq!(
        list.tool_names(),
        IMPLEMENTER_TOOLS,
        "{version}: {}",
        list.text
    );
    let ping = send(with_session(
        json!({ "jsonrpc": "2.0", "id": 2, "method": "ping" }),
    ))
    .await;
    assert_eq!(ping.json["result"], json!({}), "{}", ping.text);
    let call = send(with_session(json!({
        "jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": { "name": "sync_progress", "arguments": { "task_id": "t1", "status": "started" } }
    })))
    .await;
    assert_eq!(
        call.structured()["success"],
        true,
        "{version}: {}",
        call.text
    );

    // GET opens the server-to-client stream; DELETE ends the session.
    let get = client()
        .get(&url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", version)
        .send()
        .await
        .unwrap();
    assert!(
        get.status() == 200 || get.status() == 405,
        "{}",
        get.status()
    );
    drop(get);
    let delete = client()
        .delete(&url)
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", version)
        .send()
        .await
        .unwrap();
    assert!(delete.status().is_success(), "{}", delete.status());
    let after = send(with_session(
        json!({ "jsonrpc": "2.0", "id": 4, "method": "tools/list" }),
    ))
    .await;
    assert_eq!(
        after.status, 404,
        "a deleted session is gone: {}",
        after.text
    );
}

async fn legacy_2025_11_25(backend: Backend) {
    legacy_era(backend, "2025-11-25").await;
}

async fn legacy_2025_06_18(backend: Backend) {
    legacy_era(backend, "2025-06-18").await;
}

async fn legacy_2025_03_26(backend: Backend) {
    legacy_era(backend, "2025-03-26").await;
}

#[tokio::test]
async fn get_without_a_session_is_405() {
    let server = start().await;
    let get = client()
        .get(server.agent_url("a"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405);
}

/// Session-mode answers go out as an event stream in several small writes; with
/// Nagle's algorithm on, the last one waited for the client's delayed ACK, so
/// every call after the first on a kept-alive connection took ~40 ms.
#[tokio::test]
async fn session_calls_on_one_kept_alive_connection_take_milliseconds() {
    let server = start().await;
    let url = server.agent_url("impl_a");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let post = |body: Value| {
        http.post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body.to_string())
    };
    let init = send(post(json!({
        "jsonrpc": "2.0", "id": 0, "method": "initialize",
        "params": { "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": { "name": "claude-code", "version": "2.1.330" } }
    })))
    .await;
    let session = init.headers["mcp-session-id"].to_str().unwrap().to_owned();
    let in_session = |body: Value| {
        post(body)
            .header("mcp-session-id", &session)
            .header("mcp-protocol-version", "2025-11-25")
    };
    send(in_session(
        json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }),
    ))
    .await;
    // `ping` is rmcp's to answer, as an event stream; `tools/call` is the
    // fast path's, as one JSON object. Both must be quick.
    let mut took = [Vec::new(), Vec::new()];
    for id in 1..=21 {
        let started = std::time::Instant::now();
        let ping = send(in_session(
            json!({ "jsonrpc": "2.0", "id": format!("p{id}"), "method": "ping" }),
        ))
        .await;
        took[0].push(started.elapsed());
        assert_eq!(ping.json["result"], json!({}), "{}", ping.text);
        assert!(
            ping.headers["content-type"]
                .to_str()
                .is_ok_and(|c| c.starts_with("text/event-stream")),
            "{:?}",
            ping.headers
        );
        let started = std::time::Instant::now();
        let call = send(in_session(json!({
            "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": { "name": "check_agent_status", "arguments": { "news": false } }
        })))
        .await;
        took[1].push(started.elapsed());
        assert_eq!(call.structured()["success"], true, "{}", call.text);
    }
    for (what, mut took) in [
        "ping (rmcp, event stream)",
        "check_agent_status (fast path)",
    ]
    .into_iter()
    .zip(took)
    {
        took.sort();
        let (fastest, median) = (took[0], took[took.len() / 2]);
        println!("session-mode {what} on one connection: fastest {fastest:?}, median {median:?}");
        // The stall is a floor under every call (the delayed ACK is at least
        // 40 ms); a busy machine slows some calls but leaves the fastest fast.
        assert!(
            fastest < std::time::Duration::from_millis(20),
            "every session-mode {what} on a kept-alive connection took {fastest:?} or more \
             (21 calls): small writes are being held back (TCP_NODELAY off?)"
        );
    }
}
