//! Hostile requests, each with the clear answer it must get: malformed and
//! oversized bodies, deep nesting, a NUL byte, paths out of the project (by
//! `..` and through a symlink), a link and its target, a foreign Host and
//! Origin, an unknown tool, a refused client squatting on a session, another
//! user's session, and connections that hold sockets without asking
//! anything (idle, one byte, HTTP/2's preface, headers a byte at a time).
//! The ones that reach the store run against a PostgreSQL and the SQLite
//! coordinator.

use std::time::Duration;

use ccmulti_testkit::{Reply, client, closed_after, send};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// A case and whether its answer was the clear one (else what it was).
pub struct Case {
    pub name: String,
    pub outcome: Result<(), String>,
}

const CLAUDE_UA: &str = "claude-code/2.1.330 (sdk-cli)";

fn post(url: &str, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
    client()
        .post(url)
        .header("content-type", "application/json")
        .header("user-agent", CLAUDE_UA)
        .body(body)
}

fn call(url: &str, tool: &str, arguments: Value) -> reqwest::RequestBuilder {
    post(
        url,
        json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": { "name": tool, "arguments": arguments } })
        .to_string(),
    )
}

fn expect(reply: &Reply, status: u16, code: Option<i64>, words: &[&str]) -> Result<(), String> {
    let text = reply.text.to_lowercase();
    let clear = reply.status == status
        && (code.is_none() || reply.error_code() == code)
        && words.iter().all(|w| text.contains(&w.to_lowercase()));
    if clear {
        Ok(())
    } else {
        Err(format!(
            "HTTP {} {}",
            reply.status,
            ccmulti_testkit::load::clip(&reply.text)
        ))
    }
}

/// `holder` claims `real.py`; `hostile` then claims `alias.py`, a link to it,
/// and must be refused with the conflict on `real.py`. `holder` lets go after.
async fn link_and_target_one_lock(holder: &str, hostile: &str) -> Result<(), String> {
    let held = send(call(
        holder,
        "claim_file_lock",
        json!({ "file_paths": ["real.py"] }),
    ))
    .await;
    let alias = send(call(
        hostile,
        "claim_file_lock",
        json!({ "file_paths": ["alias.py"] }),
    ))
    .await;
    let one_lock = if held.structured()["success"] == true
        && alias.structured()["success"] == false
        && alias.structured()["conflicts"][0]["path"] == "real.py"
    {
        Ok(())
    } else {
        Err(format!("{} / {}", held.text, alias.text))
    };
    let _ = send(call(holder, "release_file_lock", json!({ "all": true }))).await;
    one_lock
}

/// A refused client (it names itself Cursor) squatting on a new session is
/// refused, and Claude Code's user then works in that session as if it had
/// never come.
async fn squatter_refused(base: &str, label: &str) -> Result<(), String> {
    let squat = format!("squat-{label}");
    let squatter = format!("{base}/mcp/v2/claude/mallory__session__{squat}__x");
    let refused = send(
        client()
            .post(&squatter)
            .header("content-type", "application/json")
            .header("x-client-name", "cursor")
            .body(
                json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                        "params": { "name": "claim_file_lock", "arguments": { "file_paths": ["x"] } } })
                .to_string(),
            ),
    )
    .await;
    let owner = format!("{base}/mcp/v2/claude/alice__session__{squat}__impl");
    let alice = send(call(
        &owner,
        "claim_file_lock",
        json!({ "file_paths": ["x.rs"] }),
    ))
    .await;
    expect(
        &refused,
        200,
        Some(-32602),
        &["not available to this client"],
    )
    .and_then(|()| {
        (alice.structured()["success"] == true)
            .then_some(())
            .ok_or_else(|| format!("alice after the squatter: {}", alice.text))
    })
}

/// The cases that reach the store, against the coordinator at `base`.
async fn store_cases(base: &str, label: &str, session: &str) -> Vec<Case> {
    let url = |user: &str, agent: &str| {
        format!("{base}/mcp/v2/claude/{user}__session__{session}__{agent}")
    };
    let h = url("u", "hostile");
    let mut cases = Vec::new();
    let mut case = |name: &str, outcome: Result<(), String>| {
        cases.push(Case {
            name: format!("{name} ({label})"),
            outcome,
        });
    };
    let nul = send(call(
        &h,
        "sync_progress",
        json!({ "task_id": "a\u{0}b", "status": "started" }),
    ))
    .await;
    case(
        "NUL byte in a task id",
        expect(&nul, 200, Some(-32602), &["NUL"]),
    );
    let climb = send(call(
        &h,
        "claim_file_lock",
        json!({ "file_paths": ["../../etc/passwd"] }),
    ))
    .await;
    case(
        "../ out of the project",
        expect(&climb, 200, Some(-32602), &["escapes"]),
    );
    let link = send(call(
        &h,
        "claim_file_lock",
        json!({ "file_paths": ["linkdir/passwd"] }),
    ))
    .await;
    case(
        "a symlink out of the project",
        expect(
            &link,
            200,
            Some(-32602),
            &["symbolic link", "outside the project root"],
        ),
    );
    case(
        "a link and its target are one lock",
        link_and_target_one_lock(&url("u", "holder"), &h).await,
    );
    let unknown = send(call(&h, "rm_rf", json!({}))).await;
    case(
        "an unknown tool",
        expect(&unknown, 200, Some(-32602), &["unknown tool"]),
    );
    let other_user = send(call(&url("mallory", "x"), "check_agent_status", json!({}))).await;
    case(
        "another user's session",
        expect(&other_user, 403, Some(-32600), &["belongs to another user"]),
    );
    case(
        "a refused client squatting on a session",
        squatter_refused(base, label).await,
    );
    cases
}

/// The cases answered before any store, against the coordinator at `base`.
async fn http_cases(base: &str) -> Vec<Case> {
    let url = format!("{base}/mcp/v2/claude/u__session__http__hostile");
    let mut cases = Vec::new();
    let mut case = |name: &str, outcome: Result<(), String>| {
        cases.push(Case {
            name: name.to_owned(),
            outcome,
        });
    };
    let bad = send(post(&url, r#"{"jsonrpc": "2.0", "method": "#)).await;
    case(
        "malformed JSON",
        expect(&bad, 400, Some(-32700), &["not json"]),
    );
    let huge = send(post(&url, vec![b' '; 2 * 1024 * 1024])).await;
    case(
        "a 2 MiB body",
        expect(&huge, 413, Some(-32600), &["exceeds"]),
    );
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let nested = send(post(&url, deep)).await;
    case(
        "100,000 levels of nesting",
        expect(&nested, 400, Some(-32700), &["recursion"]),
    );
    let host =
        send(call(&url, "check_agent_status", json!({})).header("host", "evil.example")).await;
    case("a foreign Host", expect(&host, 403, None, &["Host"]));
    let origin =
        send(call(&url, "check_agent_status", json!({})).header("origin", "https://evil.example"))
            .await;
    case("a foreign Origin", expect(&origin, 403, None, &["Origin"]));
    cases
}

/// 200 idle sockets, one byte, HTTP/2's preface, headers a byte at a time:
/// each closed within the header limit (10 s) and a little; `/health`
/// answered meanwhile.
async fn connection_cases(base: String) -> Vec<Case> {
    let addr = base.trim_start_matches("http://").to_owned();
    let limit = Duration::from_secs(10 + 3);
    let mut sockets = Vec::new();
    for _ in 0..200 {
        if let Ok(s) = TcpStream::connect(&addr).await {
            sockets.push(("idle", s));
        }
    }
    if let Ok(mut s) = TcpStream::connect(&addr).await {
        let _ = s.write_all(b"P").await;
        sockets.push(("one byte", s));
    }
    if let Ok(mut s) = TcpStream::connect(&addr).await {
        let _ = s
            .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
            .await;
        sockets.push(("HTTP/2 preface", s));
    }
    let slow = TcpStream::connect(&addr).await.ok().map(|mut s| {
        tokio::spawn(async move {
            for byte in b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\r\n\r\n" {
                if s.write_all(&[*byte]).await.is_err() {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            false
        })
    });
    let health = tokio::time::timeout(
        Duration::from_secs(3),
        client().get(format!("{base}/health")).send(),
    )
    .await;
    let mut cases = vec![Case {
        name: "/health beside 200 idle connections".into(),
        outcome: match health {
            Ok(Ok(r)) if r.status() == 200 => Ok(()),
            other => Err(format!("{other:?}")),
        },
    }];
    let waits: Vec<_> = sockets
        .into_iter()
        .map(|(what, s)| (what, tokio::spawn(closed_after(s, limit))))
        .collect();
    let mut open = std::collections::BTreeMap::<&str, usize>::new();
    for (what, wait) in waits {
        if !matches!(wait.await, Ok(Some(_))) {
            *open.entry(what).or_default() += 1;
        }
    }
    for what in ["idle", "one byte", "HTTP/2 preface"] {
        let left = open.get(what).copied().unwrap_or(0);
        cases.push(Case {
            name: format!("{what} connections closed by the server"),
            outcome: if left == 0 {
                Ok(())
            } else {
                Err(format!("{left} still open after {limit:?}"))
            },
        });
    }
    if let Some(slow) = slow {
        cases.push(Case {
            name: "headers a byte every 200 ms cut off".into(),
            outcome: match slow.await {
                Ok(true) => Ok(()),
                other => Err(format!("never cut off: {other:?}")),
            },
        });
    }
    cases
}

/// Every case: the HTTP and connection ones against `http_base`, the store
/// ones against each of `store_bases` (label, base, its agents' session).
pub async fn run(http_base: &str, store_bases: &[(&str, String, &str)]) -> Vec<Case> {
    let connections = tokio::spawn(connection_cases(http_base.to_owned()));
    let mut cases = http_cases(http_base).await;
    for (label, base, session) in store_bases {
        cases.extend(store_cases(base, label, session).await);
    }
    cases.extend(connections.await.unwrap_or_default());
    cases
}
