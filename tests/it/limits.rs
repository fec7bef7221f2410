//! The limits (`ccmulti::rules::limits`), each set low on a real listener:
//! reaching one gets an error that names the limit and how to raise it, the
//! refused request changes nothing, and everything else still works. The
//! limits the store checks inside its registering write (agents, sessions)
//! and the waiting claims run on both backends; the HTTP layer's own (legacy
//! sessions, event streams, slow headers and bodies) and the binary's flags
//! never reach the store and run on SQLite only.

use std::time::{Duration, Instant};

use ccmulti::rules::limits::Limits;
use ccmulti::state::Security;
use ccmulti_testkit::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

on_both_backends!(
    agents_per_session,
    sessions_per_user,
    first_requests_racing_into_a_new_session_are_all_admitted,
    waiting_claims,
);

async fn limited(backend: Backend, limits: Limits) -> Server {
    backend
        .start_with(Security {
            limits,
            ..Security::default()
        })
        .await
}

fn assert_limit_error(reply: &Reply, flag: &str, env: &str) {
    let message = reply.error_message();
    assert!(
        message.contains("limit reached") && message.contains(flag) && message.contains(env),
        "{}",
        reply.text
    );
    assert!(message.contains("nothing was changed"), "{message}");
}

async fn status(url: &str) -> Reply {
    call_tool(url, "check_agent_status", json!({})).await
}

async fn agents_per_session(backend: Backend) {
    let server = limited(
        backend,
        Limits {
            agents_per_session: 2,
            ..Limits::default()
        },
    )
    .await;
    hold(&server, "a", "a.rs").await;
    hold(&server, "b", "b.rs").await;
    let before = state_fingerprint(&server).await;
    let refused = status(&server.agent_url("c")).await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert_limit_error(
        &refused,
        "--max-agents-per-session",
        "CCMULTI_MAX_AGENTS_PER_SESSION",
    );
    assert!(refused.error_message().contains("at most 2 agents"));
    assert_eq!(
        state_fingerprint(&server).await,
        before,
        "a refused agent changed state"
    );
    // The agents already there go on, and another session has room of its own.
    hold(&server, "a", "a2.rs").await;
    let other = status(&server.url("claude", "u1__session__s2__c")).await;
    assert_eq!(other.structured()["success"], true, "{}", other.text);
}

async fn sessions_per_user(backend: Backend) {
    let server = limited(
        backend,
        Limits {
            sessions_per_user: 1,
            ..Limits::default()
        },
    )
    .await;
    hold(&server, "a", "a.rs").await;
    let before = state_fingerprint(&server).await;
    let refused = status(&server.url("claude", "u1__session__s2__a")).await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert_limit_error(
        &refused,
        "--max-sessions-per-user",
        "CCMULTI_MAX_SESSIONS_PER_USER",
    );
    assert_eq!(state_fingerprint(&server).await, before);
    // Its own session still serves it; another user has sessions of their own.
    hold(&server, "b", "b.rs").await;
    let other = status(&server.url("claude", "u2__session__s3__a")).await;
    assert_eq!(other.structured()["success"], true, "{}", other.text);
}

/// A team's agents start at once: their first requests race to create one
/// new session, and an agent's own first requests race to register it. With
/// room for exactly that one more session (or that one more agent), every
/// racer is admitted: they are all that session and that agent, however their
/// registering writes interleave. Each round a new user, so a new race.
async fn first_requests_racing_into_a_new_session_are_all_admitted(backend: Backend) {
    let one_session = Limits {
        sessions_per_user: 1,
        ..Limits::default()
    };
    let one_more_agent = Limits {
        agents_per_session: 2,
        ..Limits::default()
    };
    for (limits, same_agent) in [(one_session, false), (one_more_agent, true)] {
        let server = limited(backend, limits).await;
        for round in 0..5 {
            let url = |agent: &str| {
                server.url("claude", &format!("u{round}__session__s{round}__{agent}"))
            };
            if same_agent {
                // The session exists: the racers meet at counting its agents.
                let first = status(&url("first")).await;
                assert_eq!(first.status, 200, "{}", first.text);
            }
            let racers: Vec<_> = (0..8)
                .map(|i| {
                    let url = url(&if same_agent {
                        "a".to_owned()
                    } else {
                        format!("a{i}")
                    });
                    tokio::spawn(async move { status(&url).await })
                })
                .collect();
            for racer in racers {
                let reply = racer.await.expect("racer");
                assert_eq!(reply.status, 200, "round {round}: {}", reply.text);
            }
        }
    }
}

fn legacy_post(url: &str) -> reqwest::RequestBuilder {
    client()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
}

async fn initialize(url: &str) -> Reply {
    send(
        legacy_post(url).body(
            json!({
                "jsonrpc": "2.0", "id": 0, "method": "initialize",
                "params": { "protocolVersion": "2025-06-18", "capabilities": {},
                            "clientInfo": { "name": "claude-code", "version": "2.1.330" } }
            })
            .to_string(),
        ),
    )
    .await
}

fn session_of(reply: &Reply) -> String {
    reply.headers["mcp-session-id"]
        .to_str()
        .expect("a session id")
        .to_owned()
}

async fn end_session(url: &str, session: &str) {
    let delete = client()
        .delete(url)
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", "2025-06-18")
        .send()
        .await
        .expect("DELETE");
    assert!(delete.status().is_success(), "{}", delete.status());
}

#[tokio::test]
async fn legacy_sessions() {
    let server = limited(
        Backend::Sqlite,
        Limits {
            legacy_sessions: 1,
            ..Limits::default()
        },
    )
    .await;
    let url = server.agent_url("a");
    let first = initialize(&url).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let session = session_of(&first);
    let refused = initialize(&url).await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert!(refused.headers.get("mcp-session-id").is_none());
    assert_limit_error(
        &refused,
        "--max-legacy-sessions",
        "CCMULTI_MAX_LEGACY_SESSIONS",
    );
    // The stateless protocol is not limited by it; an ended session frees its place.
    hold(&server, "b", "b.rs").await;
    end_session(&url, &session).await;
    let again = initialize(&url).await;
    assert_eq!(again.status, 200, "{}", again.text);
}

async fn open_stream(url: &str, session: &str) -> reqwest::Response {
    client()
        .get(url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", "2025-06-18")
        .send()
        .await
        .expect("GET")
}

#[tokio::test]
async fn event_streams() {
    let server = limited(
        Backend::Sqlite,
        Limits {
            event_streams: 1,
            ..Limits::default()
        },
    )
    .await;
    let url = server.agent_url("a");
    let session = session_of(&initialize(&url).await);
    let initialized = send(
        legacy_post(&url)
            .header("mcp-session-id", &session)
            .header("mcp-protocol-version", "2025-06-18")
            .body(json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }).to_string()),
    )
    .await;
    assert_eq!(initialized.status, 202, "{}", initialized.text);
    let stream = open_stream(&url, &session).await;
    assert_eq!(stream.status(), 200);
    let refused = open_stream(&url, &session).await;
    assert_eq!(refused.status(), 429);
    let body: Value = refused.json().await.expect("a JSON-RPC error");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("--max-event-streams") && message.contains("CCMULTI_MAX_EVENT_STREAMS"),
        "{body}"
    );
    // Requests go on; a closed stream frees its place.
    hold(&server, "b", "b.rs").await;
    drop(stream);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let again = open_stream(&url, &session).await;
        if again.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "a closed stream kept its place");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn waiting_claims(backend: Backend) {
    let server = limited(
        backend,
        Limits {
            waiting_claims: 1,
            ..Limits::default()
        },
    )
    .await;
    hold(&server, "a", "x.rs").await;
    let waiter_url = server.agent_url("b");
    let waiter = tokio::spawn(async move {
        call_tool(
            &waiter_url,
            "claim_file_lock",
            json!({ "file_paths": ["x.rs"], "wait_seconds": 10 }),
        )
        .await
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.state.coord.waiting_claims() == 0 {
        assert!(Instant::now() < deadline, "the first claim never waited");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // c registered first: its registration is not the claim's doing.
    status(&server.agent_url("c")).await;
    let before = state_fingerprint(&server).await;
    let started = Instant::now();
    let refused = call_tool(
        &server.agent_url("c"),
        "claim_file_lock",
        json!({ "file_paths": ["x.rs"], "wait_seconds": 10 }),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused at once"
    );
    assert_limit_error(
        &refused,
        "--max-waiting-claims",
        "CCMULTI_MAX_WAITING_CLAIMS",
    );
    assert_eq!(state_fingerprint(&server).await, before);
    // A claim that does not wait is not limited; the waiter is served as before.
    hold(&server, "c", "y.rs").await;
    let release = call_tool(
        &server.agent_url("a"),
        "release_file_lock",
        json!({ "file_paths": ["x.rs"] }),
    )
    .await;
    assert_eq!(release.structured()["success"], true, "{}", release.text);
    let waited = waiter.await.expect("the waiter");
    assert_eq!(waited.structured()["success"], true, "{}", waited.text);
}

fn host_port(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

#[tokio::test]
async fn a_connection_sending_its_headers_slowly_is_cut_off() {
    let server = limited(
        Backend::Sqlite,
        Limits {
            header_read_timeout: Duration::from_secs(1),
            ..Limits::default()
        },
    )
    .await;
    let mut slow = tokio::net::TcpStream::connect(host_port(&server))
        .await
        .expect("connect");
    let head = format!(
        "GET /health HTTP/1.1\r\nHost: {}\r\nX-Slow: {}\r\n\r\n",
        host_port(&server),
        "z".repeat(100)
    );
    let started = Instant::now();
    let mut cut_off = None;
    for byte in head.bytes() {
        if slow.write_all(&[byte]).await.is_err() {
            cut_off = Some(started.elapsed());
            break;
        }
        // Meanwhile other clients are served.
        if started.elapsed() < Duration::from_millis(300) {
            let health = client()
                .get(format!("{}/health", server.base))
                .send()
                .await
                .expect("health");
            assert_eq!(health.status(), 200);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut buf = [0u8; 256];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(1), slow.read(&mut buf)).await
        {
            // Closed (0) or an error status, never the page: the head never completed.
            assert!(
                !String::from_utf8_lossy(&buf[..n]).contains(" 200 "),
                "answered"
            );
            cut_off = Some(started.elapsed());
            break;
        }
    }
    let cut_off = cut_off.expect("a connection sending a byte every 50 ms was never cut off");
    assert!(
        cut_off >= Duration::from_millis(900) && cut_off < Duration::from_secs(4),
        "cut off after {cut_off:?}, the limit is 1 s"
    );
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_gets_408() {
    let server = limited(
        Backend::Sqlite,
        Limits {
            body_read_timeout: Duration::from_secs(1),
            ..Limits::default()
        },
    )
    .await;
    let before = state_fingerprint(&server).await;
    let mut slow = tokio::net::TcpStream::connect(host_port(&server))
        .await
        .expect("connect");
    let head = format!(
        "POST /mcp/v2/claude/u1__session__s1__a HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 500\r\n\r\n{{\"jsonrpc\"",
        host_port(&server)
    );
    slow.write_all(head.as_bytes()).await.expect("write");
    let started = Instant::now();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut answer))
        .await
        .expect("answered within 5 s")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("--body-read-timeout") && answer.contains("CCMULTI_BODY_READ_TIMEOUT"),
        "{answer}"
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(state_fingerprint(&server).await, before);
    hold(&server, "a", "a.rs").await;
}

/// The real binary takes a limit from its flag and from its environment variable.
#[tokio::test]
async fn the_binary_takes_limits_from_flags_and_the_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("c.db");
    let coordinator = ccmulti_testkit::binary::Coordinator::start(
        &db,
        dir.path(),
        &["--max-agents-per-session", "1"],
    );
    let first = status(&coordinator.url("u__session__s__a")).await;
    assert_eq!(first.structured()["success"], true, "{}", first.text);
    let refused = status(&coordinator.url("u__session__s__b")).await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert!(
        refused
            .error_message()
            .contains("at most 1 agents in one session")
    );
    drop(coordinator);
    let run = std::process::Command::new(ccmulti_binary())
        .args(["serve", "--addr", "127.0.0.1:0"])
        .arg("--db")
        .arg(&db)
        .env("CCMULTI_MAX_WAITING_CLAIMS", "0")
        .output()
        .expect("ccmulti serve");
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("--max-waiting-claims") && stderr.contains("0 is not in 1.."),
        "the variable is read and checked: {stderr}"
    );
}
