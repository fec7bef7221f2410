//! The stateless fast path (`src/http/fast/`) answers as rmcp's stateless
//! service would. One coordinator is served twice: through `http::app` (the
//! fast path) and through `http::app_with(.., FastPath::Off)` (every
//! request to rmcp, as before the fast path). Each request goes to both, and
//! the answers must agree: HTTP status, content type, the JSON-RPC message
//! (values that move with time, such as lock ids and seconds left, masked)
//! and what the request added to the metrics.

use std::collections::BTreeMap;
use std::time::Duration;

use ccmulti::http::{FastPath, HttpOptions, app_with};
use ccmulti_testkit::*;
use serde_json::{Value, json};

struct Twins {
    server: Server,
    /// The same coordinator, with the fast path off.
    rmcp_base: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn twins() -> Twins {
    let server = start().await;
    let off = HttpOptions {
        fast_path: FastPath::Off,
        ..HttpOptions::default()
    };
    let (rmcp_base, stop) = serve_app(&server, off).await;
    Twins {
        server,
        rmcp_base,
        _stop: stop,
    }
}

/// The same coordinator behind a second listener, built with `options`; it
/// serves until the sender is dropped.
async fn serve_app(
    server: &Server,
    options: HttpOptions,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(ccmulti::connections::serve_connections(
        listener,
        app_with(server.state.clone(), options),
        ccmulti::connections::ConnectionLimits::for_this_process(Duration::from_secs(10)),
        server.state.metrics.connections.clone(),
        async move {
            let _ = stopped.await;
        },
    ));
    (base, stop)
}

/// A request: URL path, headers, body.
struct Ask {
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Value,
}

const CLAUDE_UA: &str = "claude-code/2.1.330 (sdk-cli)";

fn meta(client: &str) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": { "name": client, "version": "1.0.0" },
        "io.modelcontextprotocol/clientCapabilities": {}
    })
}

/// Claude Code's own shape (2026-07-28): `_meta`, `Mcp-Method`, `Mcp-Name`.
fn modern(path: &str, client: &str, user_agent: &str, method: &str, mut params: Value) -> Ask {
    params["_meta"] = meta(client);
    let mut headers = vec![
        ("mcp-protocol-version", "2026-07-28".to_owned()),
        ("mcp-method", method.to_owned()),
        ("user-agent", user_agent.to_owned()),
        ("accept", "application/json, text/event-stream".to_owned()),
    ];
    if let Some(name) = params["name"].as_str() {
        headers.push(("mcp-name", name.to_owned()));
    }
    Ask {
        path: path.to_owned(),
        headers,
        body: json!({ "jsonrpc": "2.0", "id": 41, "method": method, "params": params }),
    }
}

/// A bare curl POST: no `Accept`, no protocol version, `x-client-name`.
fn curl(path: &str, client_name: &str, method: &str, params: Value) -> Ask {
    Ask {
        path: path.to_owned(),
        headers: vec![("x-client-name", client_name.to_owned())],
        body: json!({ "jsonrpc": "2.0", "id": "c-1", "method": method, "params": params }),
    }
}

struct Answer {
    status: u16,
    content_type: Option<String>,
    message: Value,
    metrics: BTreeMap<String, i64>,
    /// Whether the fast path answered (its counter moved).
    by_fast_path: bool,
}

/// The counters a request moves (requests by method and outcome, blocked
/// calls, conflicts); latency histograms are left out.
fn counters(server: &Server) -> BTreeMap<String, i64> {
    server
        .state
        .metrics
        .render(0, Duration::ZERO)
        .lines()
        .filter(|l| {
            l.starts_with("ccmulti_requests_total")
                || l.starts_with("ccmulti_blocked_calls_total")
                || l.starts_with("ccmulti_lock_conflicts_total")
                || l.starts_with("ccmulti_fast_path_answers_total")
        })
        .filter_map(|l| {
            let (name, n) = l.rsplit_once(' ')?;
            Some((name.to_owned(), n.parse().ok()?))
        })
        .collect()
}

async fn ask(server: &Server, base: &str, ask: &Ask) -> Answer {
    let before = counters(server);
    let mut request = client()
        .post(format!("{base}{}", ask.path))
        .header("content-type", "application/json")
        .body(ask.body.to_string());
    for (name, value) in &ask.headers {
        request = request.header(*name, value);
    }
    let reply = send(request).await;
    let after = counters(server);
    let metrics: BTreeMap<String, i64> = after
        .into_iter()
        .map(|(k, n)| {
            let d = n - before.get(&k).copied().unwrap_or(0);
            (k, d)
        })
        .filter(|(_, d)| *d != 0)
        .collect();
    Answer {
        status: reply.status,
        content_type: reply
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        message: mask(reply.json),
        by_fast_path: metrics.contains_key(FAST),
        metrics,
    }
}

/// Values that differ between two otherwise equal calls made a moment apart.
fn mask(mut value: Value) -> Value {
    const MOVING: [&str; 8] = [
        "lock_id",
        "fencing_token",
        "expires_at",
        "expires_in_seconds",
        "seconds_left",
        "now",
        "seconds_since_activity",
        "updated_at",
    ];
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, item) in map.iter_mut() {
                    if MOVING.contains(&k.as_str()) {
                        *item = json!("*");
                    } else if k == "message" && item.is_string() {
                        let text: String = item
                            .as_str()
                            .unwrap_or_default()
                            .chars()
                            .filter(|c| !c.is_ascii_digit())
                            .collect();
                        *item = json!(text);
                    } else if k == "text"
                        && let Some(parsed) =
                            item.as_str().and_then(|t| serde_json::from_str(t).ok())
                    {
                        // The text block is the structured result as JSON.
                        let mut parsed: Value = parsed;
                        walk(&mut parsed);
                        *item = json!({ "text as JSON": parsed });
                    } else {
                        walk(item);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}

/// Sends `a` through the fast path, then through rmcp, and compares.
async fn same(t: &Twins, a: &Ask) -> Answer {
    let fast = ask(&t.server, &t.server.base, a).await;
    let rmcp = ask(&t.server, &t.rmcp_base, a).await;
    assert_eq!(fast.status, rmcp.status, "status for {}", a.body);
    assert_eq!(
        fast.content_type, rmcp.content_type,
        "content type for {}",
        a.body
    );
    assert_eq!(fast.message, rmcp.message, "message for {}", a.body);
    let mut fast_metrics = fast.metrics.clone();
    let by_fast_path = fast_metrics.remove(FAST).is_some();
    assert_eq!(fast_metrics, rmcp.metrics, "metrics for {}", a.body);
    assert!(
        !rmcp.metrics.contains_key(FAST),
        "rmcp's answer for {}",
        a.body
    );
    Answer {
        by_fast_path,
        ..fast
    }
}

const FAST: &str = "ccmulti_fast_path_answers_total";

#[tokio::test]
async fn tools_list_is_the_same_for_every_caller_and_era() {
    let t = twins().await;
    let implementer = "/mcp/v2/claude/u1__session__s1__impl_a";
    let planner = "/mcp/v2/claude/u1__session__s1__planner";
    let no_session = "/mcp/v2/claude/u1";
    let cursor_path = "/mcp/v2/cursor/u1__session__s1__impl_c";
    let list = |path, client, ua| modern(path, client, ua, "tools/list", json!({}));
    for (a, names) in [
        (
            list(implementer, "claude-code", CLAUDE_UA),
            IMPLEMENTER_TOOLS.to_vec(),
        ),
        (
            list(planner, "claude-code", CLAUDE_UA),
            PLANNER_TOOLS.to_vec(),
        ),
        (
            list(no_session, "claude-code", CLAUDE_UA),
            NO_SESSION_TOOLS.to_vec(),
        ),
        (
            curl(implementer, "claude code", "tools/list", json!({})),
            IMPLEMENTER_TOOLS.to_vec(),
        ),
        (
            curl(planner, "claude code", "tools/list", json!({})),
            PLANNER_TOOLS.to_vec(),
        ),
        // Other clients see no coordination tool, however they are dressed.
        (list(implementer, "cursor", CLAUDE_UA), vec![]),
        (list(implementer, "claude-code", "cursor/1.0"), vec![]),
        (list(cursor_path, "claude-code", CLAUDE_UA), vec![]),
        (curl(implementer, "cursor", "tools/list", json!({})), vec![]),
    ] {
        let answer = same(&t, &a).await;
        assert!(answer.by_fast_path, "{}", a.body);
        assert_eq!(answer.status, 200, "{}", answer.message);
        let listed: Vec<&str> = answer.message["result"]["tools"]
            .as_array()
            .map(|tools| tools.iter().filter_map(|t| t["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(listed, names, "{}", a.body);
    }

    // What rmcp refuses before its handler stays rmcp's to refuse.
    let mut wrong_method = list(implementer, "claude-code", CLAUDE_UA);
    wrong_method.headers[1].1 = "tools/call".into();
    let mut wrong_version = list(implementer, "claude-code", CLAUDE_UA);
    wrong_version.headers[0].1 = "2025-11-25".into();
    let mut no_capabilities = list(implementer, "claude-code", CLAUDE_UA);
    no_capabilities.body["params"]["_meta"]
        .as_object_mut()
        .map(|m| m.remove("io.modelcontextprotocol/clientCapabilities"));
    let mut unknown_version = curl(implementer, "claude code", "tools/list", json!({}));
    unknown_version
        .headers
        .push(("mcp-protocol-version", "2099-01-01".into()));
    // Weighted media types are rmcp's to read; it accepts these.
    let mut weighted = curl(implementer, "claude code", "tools/list", json!({}));
    weighted.headers.push((
        "accept",
        "application/json;q=0.9, text/event-stream;q=0.5".into(),
    ));
    for (a, refused) in [
        (wrong_method, true),
        (wrong_version, true),
        (no_capabilities, true),
        (unknown_version, true),
        (weighted, false),
    ] {
        let answer = same(&t, &a).await;
        assert!(!answer.by_fast_path, "left to rmcp: {}", a.body);
        assert_eq!(answer.status != 200, refused, "{}", a.body);
    }
}

#[tokio::test]
async fn tool_calls_are_the_same_through_both_paths() {
    let t = twins().await;
    let a = "/mcp/v2/claude/u1__session__s1__impl_a";
    let b = "/mcp/v2/claude/u1__session__s1__impl_b";
    let call = |path, name: &str, arguments: Value| {
        modern(
            path,
            "claude-code",
            CLAUDE_UA,
            "tools/call",
            json!({ "name": name, "arguments": arguments }),
        )
    };
    // b holds held.rs; a's claims of it conflict (an error result, counted).
    hold(&t.server, "impl_b", "held.rs").await;
    let conflict = same(
        &t,
        &call(a, "claim_file_lock", json!({ "file_paths": ["held.rs"] })),
    )
    .await;
    assert_eq!(
        conflict.message["result"]["isError"], true,
        "{}",
        conflict.message
    );

    // A grant and its release, through each path in turn.
    let claim = call(
        a,
        "claim_file_lock",
        json!({ "file_paths": ["src/a.rs"], "duration_minutes": 5 }),
    );
    let release = call(
        a,
        "release_file_lock",
        json!({ "file_paths": ["src/a.rs"] }),
    );
    let fast_claim = ask(&t.server, &t.server.base, &claim).await;
    let fast_release = ask(&t.server, &t.server.base, &release).await;
    let rmcp_claim = ask(&t.server, &t.rmcp_base, &claim).await;
    let rmcp_release = ask(&t.server, &t.rmcp_base, &release).await;
    for (fast, rmcp) in [(&fast_claim, &rmcp_claim), (&fast_release, &rmcp_release)] {
        assert_eq!(fast.status, rmcp.status);
        assert_eq!(fast.content_type, rmcp.content_type);
        assert_eq!(fast.message, rmcp.message);
        let mut fast_metrics = fast.metrics.clone();
        fast_metrics.remove(FAST);
        assert_eq!(fast_metrics, rmcp.metrics);
    }
    assert!(fast_claim.by_fast_path && fast_release.by_fast_path);
    assert!(!rmcp_claim.by_fast_path && !rmcp_release.by_fast_path);
    assert_eq!(
        fast_claim.message["result"]["structuredContent"]["success"],
        true
    );
    assert_eq!(fast_claim.message["result"]["resultType"], "complete");
    assert_eq!(
        fast_release.message["result"]["structuredContent"]["success"],
        true
    );

    // Status, progress, the bare curl form, and the errors a caller can cause.
    for ask in [
        call(b, "check_agent_status", json!({ "news": false })),
        call(
            b,
            "sync_progress",
            json!({ "task_id": "t1", "status": "in_progress", "progress_percentage": 10 }),
        ),
        curl(
            b,
            "claude code",
            "tools/call",
            json!({ "name": "check_agent_status", "arguments": { "news": false } }),
        ),
        call(a, "claim_file_lock", json!({ "file_paths": 5 })),
        call(
            a,
            "claim_file_lock",
            json!({ "file_paths": ["../outside"] }),
        ),
        call(a, "no_such_tool", json!({})),
        call(
            "/mcp/v2/claude/u1",
            "claim_file_lock",
            json!({ "file_paths": ["x.rs"] }),
        ),
        call(
            "/mcp/v2/claude/u1",
            "setup_multi_agent_coordination",
            json!({}),
        ),
    ] {
        assert!(same(&t, &ask).await.by_fast_path, "{}", ask.body);
    }
}

#[tokio::test]
async fn other_clients_cannot_call_through_the_fast_path() {
    let t = twins().await;
    let a = "/mcp/v2/claude/u1__session__s1__impl_a";
    let claim = json!({ "name": "claim_file_lock", "arguments": { "file_paths": ["src/x.rs"] } });
    for ask in [
        modern(a, "cursor", CLAUDE_UA, "tools/call", claim.clone()),
        modern(a, "claude-code", "codex/0.9", "tools/call", claim.clone()),
        modern(
            "/mcp/v2/cursor/u1__session__s1__impl_a",
            "claude-code",
            CLAUDE_UA,
            "tools/call",
            claim.clone(),
        ),
        curl(a, "cursor", "tools/call", claim.clone()),
        modern(
            a,
            "cursor",
            CLAUDE_UA,
            "tools/call",
            json!({ "name": "no_such_tool", "arguments": {} }),
        ),
    ] {
        let answer = same(&t, &ask).await;
        assert!(answer.by_fast_path, "{}", ask.body);
        assert_eq!(
            answer.message["error"]["code"], -32602,
            "{}",
            answer.message
        );
        assert!(
            answer.message["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("is not available to this client")),
            "{}",
            answer.message
        );
        assert!(
            answer
                .metrics
                .keys()
                .any(|k| k.starts_with("ccmulti_blocked_calls_total")),
            "counted as blocked: {:?}",
            answer.metrics
        );
    }
    let after = state_fingerprint(&t.server).await;
    assert!(after.contains("locks=[]"), "nothing was claimed: {after}");
}

/// Opens a legacy session (2025-11-25 by default) at `base` + `path` the way
/// the TypeScript SDK does, and returns its id.
async fn open_session(base: &str, path: &str, client_name: &str, version: &str) -> String {
    let post = || {
        client()
            .post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
    };
    let init = send(
        post().body(
            json!({
                "jsonrpc": "2.0", "id": 0, "method": "initialize",
                "params": { "protocolVersion": version, "capabilities": {},
                    "clientInfo": { "name": client_name, "version": "2.1.330" } }
            })
            .to_string(),
        ),
    )
    .await;
    assert_eq!(init.status, 200, "{}", init.text);
    let session = init.headers["mcp-session-id"]
        .to_str()
        .expect("session id")
        .to_owned();
    let initialized = send(
        post()
            .header("mcp-session-id", &session)
            .header("mcp-protocol-version", version)
            .body(json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }).to_string()),
    )
    .await;
    assert_eq!(initialized.status, 202, "{}", initialized.text);
    session
}

/// A request on a session, as the TypeScript SDK sends it.
fn on_session(path: &str, session: &str, version: &str, body: &Value) -> Ask {
    Ask {
        path: path.to_owned(),
        headers: vec![
            ("mcp-session-id", session.to_owned()),
            ("mcp-protocol-version", version.to_owned()),
            ("accept", "application/json, text/event-stream".to_owned()),
        ],
        body: body.clone(),
    }
}

/// Sessions opened the same way on both twins answer the same messages:
/// rmcp's as an event stream, the fast path's as one JSON object.
#[tokio::test]
async fn session_answers_are_the_same_through_both_paths() {
    let t = twins().await;
    let a = "/mcp/v2/claude/u1__session__s1__impl_a";
    let planner = "/mcp/v2/claude/u1__session__s1__planner";
    hold(&t.server, "impl_b", "held.rs").await;
    let call = |id: i64, name: &str, arguments: Value| {
        json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": { "name": name, "arguments": arguments } })
    };
    let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });
    let cases = [
        (a, "claude-code", list.clone()),
        (planner, "claude-code", list.clone()),
        // The handshake's name is an identity signal: Cursor sees nothing.
        (a, "cursor", list.clone()),
        (
            a,
            "cursor",
            call(2, "claim_file_lock", json!({ "file_paths": ["src/x.rs"] })),
        ),
        (
            a,
            "claude-code",
            call(3, "claim_file_lock", json!({ "file_paths": ["held.rs"] })),
        ),
        // A grant and its release: one session per path, in turn.
        (
            a,
            "claude-code",
            json!([
                call(4, "claim_file_lock", json!({ "file_paths": ["src/a.rs"] })),
                call(
                    5,
                    "release_file_lock",
                    json!({ "file_paths": ["src/a.rs"] })
                ),
            ]),
        ),
        (
            a,
            "claude-code",
            call(6, "check_agent_status", json!({ "news": false })),
        ),
        (
            a,
            "claude-code",
            call(7, "claim_file_lock", json!({ "file_paths": 5 })),
        ),
        (a, "claude-code", call(8, "no_such_tool", json!({}))),
    ];
    for (path, client_name, bodies) in cases {
        let bodies = match bodies {
            Value::Array(bodies) => bodies,
            body => vec![body],
        };
        let mut answers = [Vec::new(), Vec::new()];
        for (base, answers) in [&t.server.base, &t.rmcp_base].into_iter().zip(&mut answers) {
            let session = open_session(base, path, client_name, "2025-11-25").await;
            for body in &bodies {
                let on = on_session(path, &session, "2025-11-25", body);
                answers.push(ask(&t.server, base, &on).await);
            }
        }
        for ((fast, rmcp), body) in answers[0].iter().zip(&answers[1]).zip(&bodies) {
            assert!(fast.by_fast_path && !rmcp.by_fast_path, "{body}");
            assert_eq!(fast.status, rmcp.status, "{body}");
            assert_eq!(fast.message, rmcp.message, "{body}");
            // rmcp's event stream is counted by its status alone; the fast path
            // counts a JSON-RPC error as one.
            let outcome = if fast.message.get("error").is_some() {
                "error"
            } else {
                "ok"
            };
            let call_counted = format!(
                "ccmulti_requests_total{{method=\"{}\",outcome=\"{outcome}\"}}",
                body["method"].as_str().unwrap_or_default()
            );
            assert_eq!(
                fast.metrics.get(&call_counted),
                Some(&1),
                "{:?}",
                fast.metrics
            );
            let without_outcome = |metrics: &BTreeMap<String, i64>| -> BTreeMap<String, i64> {
                metrics
                    .iter()
                    .filter(|(k, _)| k.as_str() != FAST)
                    .map(|(k, n)| (k.replace(",outcome=\"error\"", ",outcome=\"ok\""), *n))
                    .collect()
            };
            assert_eq!(
                without_outcome(&fast.metrics),
                without_outcome(&rmcp.metrics),
                "{body}"
            );
            assert_eq!(fast.content_type.as_deref(), Some("application/json"));
            assert_eq!(
                rmcp.content_type.as_deref(),
                Some("text/event-stream"),
                "{body}"
            );
        }
    }
    let locks = state_fingerprint(&t.server).await;
    assert!(
        !locks.contains("src/x.rs"),
        "Cursor claimed nothing: {locks}"
    );
}

/// What the fast path does not know, or no longer may answer, stays rmcp's:
/// an unknown or closed session gets rmcp's 404, and a request that is not
/// tools/list or tools/call goes to rmcp. (Which handshakes it serves is
/// `src/http/fast/sessions.rs`'s unit test.)
#[tokio::test]
async fn sessions_the_fast_path_does_not_serve_are_left_to_rmcp() {
    let t = twins().await;
    let a = "/mcp/v2/claude/u1__session__s1__impl_a";
    let base = &t.server.base;
    let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });
    let ping = json!({ "jsonrpc": "2.0", "id": 2, "method": "ping" });

    let unknown = ask(
        &t.server,
        base,
        &on_session(a, "no-such-session", "2025-11-25", &list),
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert!(!unknown.by_fast_path);
    // A session id that is not text is not taken for no session at all.
    let before = counters(&t.server);
    let garbled = send(
        client()
            .post(format!("{base}{a}"))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header(
                "mcp-session-id",
                reqwest::header::HeaderValue::from_bytes(b"s\xff1").expect("opaque bytes"),
            )
            .body(list.to_string()),
    )
    .await;
    assert_ne!(garbled.status, 200, "{}", garbled.text);
    assert_eq!(
        counters(&t.server).get(FAST),
        before.get(FAST),
        "not answered by the fast path"
    );

    let session = open_session(base, a, "claude-code", "2025-06-18").await;
    let pinged = ask(
        &t.server,
        base,
        &on_session(a, &session, "2025-06-18", &ping),
    )
    .await;
    assert!(!pinged.by_fast_path);
    assert_eq!(pinged.message["result"], json!({}), "{}", pinged.message);
    let listed = ask(
        &t.server,
        base,
        &on_session(a, &session, "2025-06-18", &list),
    )
    .await;
    assert!(listed.by_fast_path, "{}", listed.message);
    assert_eq!(
        listed.message["result"]["tools"].as_array().map(Vec::len),
        Some(IMPLEMENTER_TOOLS.len())
    );

    let deleted = client()
        .delete(format!("{base}{a}"))
        .header("mcp-session-id", &session)
        .send()
        .await
        .expect("delete");
    assert!(deleted.status().is_success(), "{}", deleted.status());
    let after = ask(
        &t.server,
        base,
        &on_session(a, &session, "2025-06-18", &list),
    )
    .await;
    assert_eq!(after.status, 404, "a closed session stays closed");
    assert!(!after.by_fast_path);
}

/// rmcp closes a session its worker has heard nothing from for its
/// keep-alive (here 1 s). A session kept busy through the fast path alone
/// must stay open all the same (rmcp is shown one of its calls every fifth
/// of that), and one left idle must still close.
#[tokio::test]
async fn a_session_busy_on_the_fast_path_outlives_rmcps_idle_timeout() {
    let server = start().await;
    let options = HttpOptions {
        session_keep_alive: Duration::from_secs(1),
        ..HttpOptions::default()
    };
    let (base, _stop) = serve_app(&server, options).await;
    let a = "/mcp/v2/claude/u1__session__s1__impl_a";
    let session = open_session(&base, a, "claude-code", "2025-11-25").await;
    let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });
    let in_session = |body: &Value| on_session(a, &session, "2025-11-25", body);
    let started = std::time::Instant::now();
    let (mut calls, mut by_fast_path) = (0, 0);
    while started.elapsed() < Duration::from_secs(3) {
        let answer = ask(&server, &base, &in_session(&list)).await;
        assert_eq!(
            answer.status,
            200,
            "after {:?}: {}",
            started.elapsed(),
            answer.message
        );
        calls += 1;
        by_fast_path += usize::from(answer.by_fast_path);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        by_fast_path > calls / 2 && by_fast_path < calls,
        "{by_fast_path} of {calls} calls on the fast path, the others shown to rmcp"
    );
    let ping = json!({ "jsonrpc": "2.0", "id": 2, "method": "ping" });
    let pinged = ask(&server, &base, &in_session(&ping)).await;
    assert_eq!(
        pinged.message["result"],
        json!({}),
        "rmcp still has the session"
    );

    tokio::time::sleep(Duration::from_millis(2500)).await;
    let idle = ask(&server, &base, &in_session(&list)).await;
    assert_eq!(
        idle.status, 404,
        "an idle session is closed: {}",
        idle.message
    );
    assert!(!idle.by_fast_path);
}

/// The brief's comparison: the stateless fast path against a session, for
/// the same list and call, modulo ids.
#[tokio::test]
async fn stateless_answers_match_a_session() {
    let server = start().await;
    let url = server.agent_url("impl_a");
    let path = url.trim_start_matches(&server.base).to_owned();
    let session = open_session(&server.base, &path, "claude-code", "2025-11-25").await;
    let post = || {
        client()
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
    };
    let in_session = |body: Value| {
        post()
            .header("mcp-session-id", &session)
            .header("mcp-protocol-version", "2025-11-25")
            .body(body.to_string())
    };
    let stateless = |body: Value| {
        post()
            .header("mcp-protocol-version", "2025-11-25")
            .header("user-agent", CLAUDE_UA)
            .body(body.to_string())
    };
    let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });
    let call = json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": { "name": "check_agent_status", "arguments": { "news": false } } });
    for body in [list, call] {
        let via_session = send(in_session(body.clone())).await;
        let via_fast = send(stateless(body.clone())).await;
        assert_eq!(
            mask(via_fast.json.clone()),
            mask(via_session.json.clone()),
            "{body}"
        );
        assert!(via_fast.json.get("result").is_some(), "{}", via_fast.text);
    }
}
