//! Security of a local server: the token, the Host and Origin checks, the
//! refusal of an open bind, session isolation, file permissions and the
//! opt-in admission of other agent clients. Real listeners, the real binary,
//! real SQLite files. What can reach the store (registration, session
//! ownership, refusals that must change nothing) runs on both backends; the
//! rest stays on SQLite: the guard's header checks and counters answer before
//! any store is asked, the bind and flag checks are the binary's, and the
//! file permissions are SQLite's files.

use std::path::Path;
use std::process::{Command, Stdio};

use ccmulti::rules::access::{AccessPolicy, Token, constant_time_eq};
use ccmulti::rules::clients::admitted_clients;
use ccmulti::state::Security;
use ccmulti_testkit::binary::Coordinator;
use ccmulti_testkit::*;
use serde_json::{Value, json};

const TOKEN: &str = "test-token-0123456789abcdef";

on_both_backends!(
    with_a_token_every_route_but_health_needs_it,
    a_foreign_host_is_refused_before_anything_is_registered,
    a_page_on_another_origin_gets_403_and_changes_nothing,
    another_users_session_cannot_be_listed_called_or_read,
    sessions_see_only_their_own_agents_locks_and_tasks,
    codex_is_refused_by_default_and_admitted_with_the_setting,
    generated_connection_lines_refer_to_the_token_without_holding_it,
    a_refused_client_cannot_take_a_session_over,
    a_request_refused_by_a_limit_or_an_unknown_session_writes_nothing,
);

fn with_token() -> Security {
    Security {
        access: AccessPolicy::new(Some(TOKEN), "127.0.0.1".parse().unwrap(), &[], &[]).unwrap(),
        admitted_clients: Vec::new(),
        ..Security::default()
    }
}

fn admitting(names: &[&str]) -> Security {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    Security {
        access: AccessPolicy::default(),
        admitted_clients: admitted_clients(&names).unwrap(),
        ..Security::default()
    }
}

fn rpc(method: &str, params: Value) -> String {
    json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }).to_string()
}

fn post(url: &str, body: String) -> reqwest::RequestBuilder {
    client()
        .post(url)
        .header("content-type", "application/json")
        .header("x-client-name", "claude code")
        .body(body)
}

fn claim(url: &str, path: &str) -> reqwest::RequestBuilder {
    post(
        url,
        rpc(
            "tools/call",
            json!({ "name": "claim_file_lock", "arguments": { "file_paths": [path] } }),
        ),
    )
}

async fn agents_in_s1(server: &Server) -> usize {
    server.store.session_view("s1").await.unwrap().agents.len()
}

/// A legacy (2025-11-25) handshake, which rmcp's session-keeping service answers.
fn initialize() -> String {
    rpc(
        "initialize",
        json!({ "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": { "name": "claude-code", "version": "2.1.330" } }),
    )
}

fn assert_unauthorized(reply: &Reply, problem: &str) {
    assert_eq!(reply.status, 401, "{}", reply.text);
    let challenge = reply.headers["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert_eq!(reply.json["error"], "unauthorized", "{}", reply.text);
    let message = reply.json["message"].as_str().unwrap();
    assert!(
        message.contains("Authorization: Bearer <token>"),
        "{message}"
    );
    assert!(message.contains(problem), "{message}");
}

#[test]
fn the_token_comparison_is_exact_whatever_the_lengths() {
    let token = Token::new(TOKEN).unwrap();
    assert!(token.matches(TOKEN));
    for other in [
        "",
        "t",
        &TOKEN[..TOKEN.len() - 1],
        &format!("{TOKEN}x"),
        &TOKEN.to_uppercase(),
    ] {
        assert!(!token.matches(other), "{other:?}");
    }
    assert!(constant_time_eq(b"same", b"same"));
    assert!(!constant_time_eq(b"same", b"same\0"));
}

async fn with_a_token_every_route_but_health_needs_it(backend: Backend) {
    let server = backend.start_with(with_token()).await;
    let url = server.agent_url("impl_a");
    let before = state_fingerprint(&server).await;
    let events_before = rows(&server).await.2;

    let missing = send(claim(&url, "a.rs")).await;
    assert_unauthorized(&missing, "no Authorization header");
    let wrong = send(claim(&url, "a.rs").bearer_auth("test-token-0123456789abcdeX")).await;
    assert_unauthorized(&wrong, "does not match");
    let short = send(claim(&url, "a.rs").bearer_auth("t")).await;
    assert_unauthorized(&short, "does not match");
    let basic = send(claim(&url, "a.rs").basic_auth("u", Some(TOKEN))).await;
    assert_unauthorized(&basic, "not \"Bearer <token>\"");
    for path in ["/health/detailed", "/metrics", "/nowhere"] {
        let reply = send(client().get(format!("{}{path}", server.base))).await;
        assert_unauthorized(&reply, "no Authorization header");
    }
    assert_eq!(
        state_fingerprint(&server).await,
        before,
        "a refused request changed state"
    );
    assert_eq!(agents_in_s1(&server).await, 0, "nothing was registered");
    assert_eq!(rows(&server).await.2, events_before, "no event was written");

    let health = send(client().get(format!("{}/health", server.base))).await;
    assert_eq!(health.status, 200, "/health stays open for liveness checks");

    let granted = send(claim(&url, "a.rs").bearer_auth(TOKEN)).await;
    assert_eq!(granted.structured()["success"], true, "{}", granted.text);
    let detailed = send(
        client()
            .get(format!("{}/health/detailed", server.base))
            .bearer_auth(TOKEN),
    )
    .await;
    assert_eq!(detailed.status, 200);
    assert_eq!(detailed.json["security"]["token_required"], true);
    assert!(!detailed.text.contains(TOKEN), "the token is never shown");
}

async fn a_foreign_host_is_refused_before_anything_is_registered(backend: Backend) {
    let server = backend.start().await;
    let before = state_fingerprint(&server).await;
    let events_before = rows(&server).await.2;
    let reply =
        send(claim(&server.agent_url("impl_a"), "a.rs").header("host", "evil.example")).await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    assert_eq!(reply.json["header"], "Host");
    assert_eq!(reply.json["received"], "evil.example");
    let accepted = reply.json["accepted"].as_str().unwrap();
    assert!(accepted.contains("localhost, 127.0.0.1, ::1"), "{accepted}");
    assert!(accepted.contains("--allow-host"), "{accepted}");
    let health = send(
        client()
            .get(format!("{}/health", server.base))
            .header("host", "evil.example:80"),
    )
    .await;
    assert_eq!(health.status, 403, "the guard is in front of every route");
    assert_eq!(state_fingerprint(&server).await, before);
    assert_eq!(agents_in_s1(&server).await, 0, "nothing was registered");
    assert_eq!(rows(&server).await.2, events_before, "no event was written");
}

async fn a_page_on_another_origin_gets_403_and_changes_nothing(backend: Backend) {
    let server = backend.start().await;
    hold(&server, "impl_a", "held.rs").await;
    let before = state_fingerprint(&server).await;
    let events_before = rows(&server).await.2;
    let url = server.agent_url("intruder");
    let requests = [
        claim(&url, "a.rs"),
        post(
            &server.agent_url("impl_a"),
            rpc(
                "tools/call",
                json!({ "name": "release_file_lock", "arguments": { "all": true } }),
            ),
        ),
        post(&url, rpc("tools/list", json!({}))),
    ];
    for request in requests {
        let reply = send(request.header("origin", "https://evil.example")).await;
        assert_eq!(reply.status, 403, "{}", reply.text);
        assert_eq!(reply.json["header"], "Origin");
        let message = reply.json["message"].as_str().unwrap();
        assert!(message.contains("https://evil.example"), "{message}");
        assert!(message.contains("localhost"), "{message}");
    }
    for origin in ["null", "http://localhost.evil.example:6274"] {
        let reply = send(claim(&url, "a.rs").header("origin", origin)).await;
        assert_eq!(reply.status, 403, "{origin}: {}", reply.text);
    }
    assert_eq!(state_fingerprint(&server).await, before);
    assert_eq!(
        agents_in_s1(&server).await,
        1,
        "the intruder was not registered"
    );
    assert_eq!(rows(&server).await.2, events_before, "no event was written");
}

#[tokio::test]
async fn a_loopback_origin_such_as_the_inspector_is_accepted() {
    let server = start().await;
    for origin in [
        "http://localhost:6274",
        "http://127.0.0.1:3000",
        "http://[::1]:6274",
    ] {
        let reply = send(
            post(&server.agent_url("impl_a"), rpc("tools/list", json!({})))
                .header("origin", origin),
        )
        .await;
        assert_eq!(reply.status, 200, "{origin}: {}", reply.text);
        assert_eq!(reply.tool_names(), IMPLEMENTER_TOOLS, "{origin}");
    }
}

#[test]
fn a_non_loopback_bind_without_a_token_is_refused_by_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    for addr in ["0.0.0.0:0", "[::]:0"] {
        let mut command = Command::new(ccmulti_testkit::ccmulti_binary());
        for var in SECURITY_ENV {
            command.env_remove(var);
        }
        let output = command
            .args(["serve", "--addr", addr, "--db"])
            .arg(&db)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{addr}: {stderr}");
        assert!(stderr.contains("refusing to listen on"), "{stderr}");
        assert!(stderr.contains("without a token"), "{stderr}");
        assert!(stderr.contains("--token or CCMULTI_TOKEN"), "{stderr}");
        assert!(stderr.contains("bind 127.0.0.1"), "{stderr}");
    }
    assert!(!db.exists(), "nothing is created before the refusal");
}

#[test]
fn a_non_loopback_bind_with_a_token_works_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let server = Coordinator::start_on(
        "0.0.0.0",
        &dir.path().join("c.db"),
        dir.path(),
        &["--token", TOKEN, "--allow-host", "devbox.lan"],
    );
    let url = server.url("u1__session__s1__impl_a");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let open = send(post(&url, rpc("tools/list", json!({})))).await;
        assert_unauthorized(&open, "no Authorization header");
        // rmcp checks Host again behind the guard: it must agree for each.
        let port = server.base.rsplit(':').next().unwrap();
        for host in ["127.0.0.1", "devbox.lan", "192.0.2.10"] {
            let reply = send(
                post(&url, rpc("tools/list", json!({})))
                    .bearer_auth(TOKEN)
                    .header("host", format!("{host}:{port}")),
            )
            .await;
            assert_eq!(reply.status, 200, "{host}: {}", reply.text);
            assert_eq!(reply.tool_names(), IMPLEMENTER_TOOLS, "{host}");
        }
        let named = send(
            post(&url, rpc("tools/list", json!({})))
                .bearer_auth(TOKEN)
                .header("host", "evil.example"),
        )
        .await;
        assert_eq!(named.status, 403, "{}", named.text);
        // A session-keeping client through rmcp's legacy path, too.
        let init = send(
            post(&url, initialize())
                .bearer_auth(TOKEN)
                .header("host", "devbox.lan"),
        )
        .await;
        assert_eq!(init.status, 200, "{}", init.text);
        assert!(
            init.headers.contains_key("mcp-session-id"),
            "{:?}",
            init.headers
        );
    });
}

#[tokio::test]
async fn an_allowed_host_passes_the_guard_and_rmcp_alike() {
    let access = AccessPolicy::new(
        None,
        "127.0.0.1".parse().unwrap(),
        &["devbox.lan".to_owned()],
        &["https://dash.devbox.lan".to_owned()],
    )
    .unwrap();
    let server = start_with(Security {
        access,
        admitted_clients: Vec::new(),
        ..Security::default()
    })
    .await;
    let url = server.agent_url("impl_a");
    let stateless = send(
        post(&url, rpc("tools/list", json!({})))
            .header("host", "DevBox.lan:7477")
            .header("origin", "https://dash.devbox.lan"),
    )
    .await;
    assert_eq!(
        stateless.tool_names(),
        IMPLEMENTER_TOOLS,
        "{}",
        stateless.text
    );
    let init = send(post(&url, initialize()).header("host", "devbox.lan")).await;
    assert_eq!(init.status, 200, "{}", init.text);
    let other = send(post(&url, rpc("tools/list", json!({}))).header("host", "otherbox.lan")).await;
    assert_eq!(other.status, 403, "{}", other.text);
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
fn side(db: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

/// `ccmulti up` opens (creating) the database and the log beside it, then
/// stops for want of a terminal: enough to see what it created. (`dash` no
/// longer creates a database: it only opens one a coordinator serves.)
#[cfg(unix)]
fn open_without_terminal(db: &Path) {
    let output = Command::new(ccmulti_testkit::ccmulti_binary())
        .args(["up", "--addr", "127.0.0.1:0", "--db"])
        .arg(db)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success(), "the dashboard needs a terminal");
}

#[cfg(unix)]
#[test]
fn the_database_its_wal_shm_and_log_are_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/ccmulti/c.db");
    open_without_terminal(&db);
    assert_eq!(mode(&db.with_extension("log")), 0o600);
    for made in [db.parent().unwrap(), dir.path().join("data").as_path()] {
        assert_eq!(
            mode(made),
            0o700,
            "{}: a directory ccmulti made",
            made.display()
        );
    }
    let server = Coordinator::start(&db, dir.path(), &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let reply = send(claim(&server.url("u1__session__s1__a"), "x.rs")).await;
        assert_eq!(reply.structured()["success"], true, "{}", reply.text);
    });
    for file in [db.clone(), side(&db, "-wal"), side(&db, "-shm")] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

#[cfg(unix)]
#[test]
fn wider_files_left_by_an_earlier_run_are_narrowed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let loose = std::fs::Permissions::from_mode(0o644);
    for file in [db.clone(), side(&db, "-wal"), db.with_extension("log")] {
        std::fs::write(&file, b"").unwrap();
        std::fs::set_permissions(&file, loose.clone()).unwrap();
    }
    let server = Coordinator::start(&db, dir.path(), &[]);
    for file in [db.clone(), side(&db, "-wal"), side(&db, "-shm")] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    drop(server);
    open_without_terminal(&db);
    assert_eq!(mode(&db.with_extension("log")), 0o600);
}

async fn another_users_session_cannot_be_listed_called_or_read(backend: Backend) {
    let server = backend.start().await;
    hold(&server, "impl_a", "mine.rs").await;
    let before = state_fingerprint(&server).await;
    let mallory = server.url("claude", "mallory__session__s1__impl_a");
    let requests = [
        ("tools/list", json!({})),
        (
            "tools/call",
            json!({ "name": "check_agent_status", "arguments": {} }),
        ),
        (
            "tools/call",
            json!({ "name": "release_file_lock", "arguments": { "all": true } }),
        ),
        (
            "tools/call",
            json!({ "name": "claim_file_lock", "arguments": { "file_paths": ["mine.rs"] } }),
        ),
    ];
    for (method, params) in requests {
        let reply = send(post(&mallory, rpc(method, params.clone()))).await;
        assert_eq!(reply.status, 403, "{method} {params}: {}", reply.text);
        assert!(
            reply.error_message().contains("belongs to another user"),
            "{}",
            reply.text
        );
        assert!(
            !reply.text.contains("mine.rs"),
            "nothing of s1 leaks: {}",
            reply.text
        );
    }
    assert_eq!(state_fingerprint(&server).await, before);
}

async fn sessions_see_only_their_own_agents_locks_and_tasks(backend: Backend) {
    let server = backend.start().await;
    let url = |user: &str, session: &str, agent: &str| {
        server.url("claude", &format!("{user}__session__{session}__{agent}"))
    };
    for (user, session, agent, file, task) in [
        ("u1", "alpha", "a1", "alpha.rs", "task-alpha"),
        ("u2", "beta", "b1", "beta.rs", "task-beta"),
        ("u1", "gamma", "g1", "gamma.rs", "task-gamma"),
    ] {
        let me = url(user, session, agent);
        // The same path in every session: each session is its own namespace.
        for path in [file, "shared.rs"] {
            let reply = call_tool(&me, "claim_file_lock", json!({ "file_paths": [path] })).await;
            assert_eq!(reply.structured()["success"], true, "{}", reply.text);
        }
        let progress = call_tool(
            &me,
            "sync_progress",
            json!({ "task_id": task, "status": "started", "progress_percentage": 5 }),
        )
        .await;
        assert_eq!(progress.structured()["success"], true, "{}", progress.text);
    }
    for (user, session, agent, file, task) in [
        ("u1", "alpha", "a1", "alpha.rs", "task-alpha"),
        ("u2", "beta", "b1", "beta.rs", "task-beta"),
        ("u1", "gamma", "g1", "gamma.rs", "task-gamma"),
    ] {
        let status = call_tool(
            &url(user, session, agent),
            "check_agent_status",
            json!({ "include_inactive": true }),
        )
        .await;
        let s = status.structured();
        assert_eq!(s["session_id"], session);
        let names = |list: &str, field: &str| -> Vec<String> {
            let mut v: Vec<String> = s[list]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x[field].as_str().unwrap().to_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names("agents", "agent_id"), [agent], "{s}");
        assert_eq!(names("locks", "path"), [file, "shared.rs"], "{s}");
        assert_eq!(names("locks", "agent_id"), [agent, agent], "{s}");
        assert_eq!(names("tasks", "task_id"), [task], "{s}");
    }
}

async fn codex_is_refused_by_default_and_admitted_with_the_setting(backend: Backend) {
    let codex = |server: &Server, user: &str, body: String| {
        client()
            .post(server.url("codex", user))
            .header("content-type", "application/json")
            .header("x-client-name", "codex")
            .header("user-agent", "codex_cli_rs/0.40.0")
            .body(body)
    };
    let list = rpc("tools/list", json!({}));
    let claim_a = || {
        rpc(
            "tools/call",
            json!({ "name": "claim_file_lock", "arguments": { "file_paths": ["a.rs"] } }),
        )
    };

    let closed = backend.start().await;
    let reply = send(codex(&closed, "u__session__s__impl_a", list.clone())).await;
    assert_eq!(reply.tool_names(), Vec::<String>::new(), "{}", reply.text);
    let before = state_fingerprint(&closed).await;
    let refused = send(codex(&closed, "u__session__s__impl_a", claim_a())).await;
    assert!(
        refused.error_message().contains("--admit-client"),
        "the refusal says how to admit it: {}",
        refused.text
    );
    assert_eq!(state_fingerprint(&closed).await, before);
    let detailed = send(client().get(format!("{}/health/detailed", closed.base))).await;
    assert_eq!(detailed.json["admitted_clients"], json!([]));

    let open = backend.start_with(admitting(&["codex"])).await;
    for (user, tools) in [
        ("u__session__s__planner", &PLANNER_TOOLS[..]),
        ("u__session__s__impl_a", &IMPLEMENTER_TOOLS[..]),
        ("u", &NO_SESSION_TOOLS[..]),
    ] {
        let reply = send(codex(&open, user, list.clone())).await;
        assert_eq!(reply.tool_names(), tools, "{user}: {}", reply.text);
    }
    let granted = send(codex(&open, "u__session__s__impl_a", claim_a())).await;
    assert_eq!(granted.structured()["success"], true, "{}", granted.text);
    let detailed = send(client().get(format!("{}/health/detailed", open.base))).await;
    assert_eq!(detailed.json["admitted_clients"], json!(["codex"]));

    // Cursor is still refused when only codex is admitted, and so is a codex
    // request whose other signals name another client.
    let cursor = send(
        client()
            .post(open.url("cursor", "u__session__s__impl_b"))
            .header("content-type", "application/json")
            .header("x-client-name", "cursor")
            .body(list.clone()),
    )
    .await;
    assert_eq!(cursor.tool_names(), Vec::<String>::new(), "{}", cursor.text);
    let mixed = send(
        codex(&open, "u__session__s__impl_a", list.clone()).header("user-agent", "Cursor/1.7"),
    )
    .await;
    assert_eq!(mixed.tool_names(), Vec::<String>::new(), "{}", mixed.text);
}

#[test]
fn the_binary_admits_clients_from_its_flags() {
    let dir = tempfile::tempdir().unwrap();
    let server = Coordinator::start(
        &dir.path().join("c.db"),
        dir.path(),
        &["--admit-client", "Codex", "--admit-client", "cursor"],
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let detailed = send(client().get(format!("{}/health/detailed", server.base))).await;
        assert_eq!(
            detailed.json["admitted_clients"],
            json!(["codex", "cursor"])
        );
        let reply = send(
            client()
                .post(format!(
                    "{}/mcp/v2/cursor/u__session__s__impl_a",
                    server.base
                ))
                .header("content-type", "application/json")
                .header("x-client-name", "cursor")
                .body(rpc("tools/list", json!({}))),
        )
        .await;
        assert_eq!(reply.tool_names(), IMPLEMENTER_TOOLS, "{}", reply.text);
    });
}

async fn generated_connection_lines_refer_to_the_token_without_holding_it(backend: Backend) {
    let server = backend.start_with(with_token()).await;
    let reply = send(
        post(
            &server.agent_url("planner"),
            rpc(
                "tools/call",
                json!({ "name": "setup_multi_agent_coordination",
                        "arguments": { "user_message": "Split this across agents:\n1. Write the parser\n2. Write the docs" } }),
            ),
        )
        .bearer_auth(TOKEN),
    )
    .await;
    let distribution = &reply.structured()["distribution"];
    assert!(distribution.is_object(), "{}", reply.text);
    for agent in distribution["agents"].as_array().unwrap() {
        let line = agent["claude_mcp_add"].as_str().unwrap();
        assert!(
            line.ends_with(" --header 'Authorization: Bearer ${CCMULTI_TOKEN}'"),
            "{line}"
        );
        assert_eq!(
            agent["mcp_json"]["mcpServers"]["ccmulti"]["headers"]["Authorization"],
            "Bearer ${CCMULTI_TOKEN}"
        );
    }
    assert_eq!(
        distribution["shared_mcp_json"]["mcpServers"]["ccmulti"]["headers"]["Authorization"],
        "Bearer ${CCMULTI_TOKEN}"
    );
    assert!(!reply.text.contains(TOKEN), "the secret is never echoed");
}

/// Each refusal at the gate is counted by its reason in /metrics (issue 15).
#[tokio::test]
async fn refused_requests_are_counted_by_reason() {
    let server = start_with(with_token()).await;
    let url = server.agent_url("impl_a");
    let host = send(claim(&url, "a.rs").header("host", "evil.example")).await;
    assert_eq!(host.status, 403);
    let origin = send(claim(&url, "a.rs").header("origin", "https://evil.example")).await;
    assert_eq!(origin.status, 403);
    for _ in 0..2 {
        let token = send(claim(&url, "a.rs")).await;
        assert_eq!(token.status, 401);
    }
    let metrics = send(
        client()
            .get(format!("{}/metrics", server.base))
            .bearer_auth(TOKEN),
    )
    .await;
    assert_eq!(metrics.status, 200, "{}", metrics.text);
    for line in [
        "ccmulti_refused_requests_total{reason=\"host\"} 1",
        "ccmulti_refused_requests_total{reason=\"origin\"} 1",
        "ccmulti_refused_requests_total{reason=\"token\"} 2",
    ] {
        assert!(
            metrics.text.contains(line),
            "{line} not in\n{}",
            metrics.text
        );
    }
}

/// Sessions, agents and events: everything a request could write.
async fn rows(server: &Server) -> (usize, usize, usize) {
    let snap = server.store.snapshot(1_000).await.expect("snapshot");
    (snap.sessions.len(), snap.agents.len(), snap.events.len())
}

/// The outside run's scenario: Cursor, on Claude Code's URL and naming
/// itself, was refused its calls, yet its requests registered session
/// `team1` for user mallory (and an agent), so Claude Code user alice was
/// then refused the session. Nothing a refused client sends writes anything
/// now, however it asks (stateless, a legacy handshake and calls on the
/// session it opened, an event stream, a User-Agent or `_meta` naming it,
/// a Claude Code User-Agent beside a Cursor name), and the session goes to
/// the first client that is served.
async fn a_refused_client_cannot_take_a_session_over(backend: Backend) {
    let server = backend.start().await;
    let mallory = server.url("claude", "mallory__session__team1__x");
    let as_cursor = |body: String| {
        client()
            .post(&mallory)
            .header("content-type", "application/json")
            .header("x-client-name", "cursor")
            .body(body)
    };
    let list = send(as_cursor(rpc("tools/list", json!({})))).await;
    assert_eq!(list.tool_names(), Vec::<String>::new(), "{}", list.text);
    let call = send(as_cursor(rpc(
        "tools/call",
        json!({ "name": "claim_file_lock", "arguments": { "file_paths": ["a.rs"] } }),
    )))
    .await;
    assert!(
        call.error_message()
            .contains("not available to this client (cursor)"),
        "{}",
        call.text
    );
    // Named by the User-Agent and by `_meta`, beside Claude Code's own name.
    let meta = json!({ "_meta": {
        "io.modelcontextprotocol/clientInfo": { "name": "cursor", "version": "1" } } });
    for request in [
        post(&mallory, rpc("tools/list", json!({}))).header("user-agent", "Cursor/1.7"),
        client()
            .post(&mallory)
            .header("content-type", "application/json")
            .header("user-agent", "claude-code/2.1.330 (sdk-cli)")
            .body(rpc("tools/list", meta)),
    ] {
        let reply = send(request).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert!(reply.tool_names().is_empty(), "{}", reply.text);
    }
    // A legacy session Cursor opened, then used with Claude Code's User-Agent.
    let handshake = rpc(
        "initialize",
        json!({ "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": { "name": "cursor", "version": "1" } }),
    );
    let opened = send(
        client()
            .post(&mallory)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(handshake),
    )
    .await;
    assert_eq!(opened.status, 200, "{}", opened.text);
    let session = opened.headers["mcp-session-id"]
        .to_str()
        .expect("a session id")
        .to_owned();
    let on_session = |body: String| {
        client()
            .post(&mallory)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("user-agent", "claude-code/2.1.330 (sdk-cli)")
            .header("mcp-protocol-version", "2025-11-25")
            .header("mcp-session-id", &session)
            .body(body)
    };
    let listed = send(on_session(rpc("tools/list", json!({})))).await;
    assert!(listed.tool_names().is_empty(), "{}", listed.text);
    let status = send(on_session(rpc(
        "tools/call",
        json!({ "name": "check_agent_status", "arguments": {} }),
    )))
    .await;
    assert!(
        status
            .error_message()
            .contains("not available to this client"),
        "{}",
        status.text
    );
    assert_eq!(rows(&server).await, (0, 0, 0), "a refused client wrote");

    // The first served client names the session and owns it.
    let alice = server.url("claude", "alice__session__team1__impl");
    let claimed = send(claim(&alice, "a.rs")).await;
    assert_eq!(claimed.structured()["success"], true, "{}", claimed.text);
    let snap = server.store.snapshot(100).await.expect("snapshot");
    let owners: Vec<_> = snap
        .sessions
        .iter()
        .map(|s| (s.session_id.as_str(), s.user_id.as_str()))
        .collect();
    assert_eq!(owners, [("team1", "alice")]);
    let agents: Vec<_> = snap.agents.iter().map(|a| a.agent_id.as_str()).collect();
    assert_eq!(agents, ["impl"]);
    // And Cursor still cannot take it, nor write into it.
    let again = send(as_cursor(rpc("tools/list", json!({})))).await;
    assert!(again.tool_names().is_empty(), "{}", again.text);
    let after = server.store.snapshot(100).await.expect("snapshot");
    assert_eq!(after.agents.len(), 1);
    assert_eq!(after.events.len(), snap.events.len());
}

/// A limit refuses before anything is registered (the open legacy sessions,
/// here), and a request on a session id this coordinator never handed out
/// (rmcp's 404) registers nothing either.
async fn a_request_refused_by_a_limit_or_an_unknown_session_writes_nothing(backend: Backend) {
    let server = backend
        .start_with(Security {
            limits: ccmulti::rules::limits::Limits {
                legacy_sessions: 1,
                ..Default::default()
            },
            ..Security::default()
        })
        .await;
    let legacy =
        |url: &str| post(url, initialize()).header("accept", "application/json, text/event-stream");
    let first = send(legacy(&server.url("claude", "alice__session__one__a"))).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let before = rows(&server).await;
    assert_eq!(
        (before.0, before.1),
        (1, 1),
        "alice's handshake registered her"
    );
    let refused = send(legacy(&server.url("claude", "bob__session__two__b"))).await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    let unknown = send(
        post(
            &server.url("claude", "carol__session__three__c"),
            rpc("tools/list", json!({})),
        )
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .header("mcp-session-id", "never-handed-out"),
    )
    .await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    assert_eq!(rows(&server).await, before);
}
