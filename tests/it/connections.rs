//! Connections that hold the coordinator's sockets without asking anything:
//! the outside run found that one sending nothing, only `P`, or only
//! HTTP/2's preface stayed open past 75 s, and that with the file limit at
//! 64, 80 idle sockets made `/health` time out ("Too many open files"). The
//! real binary runs here under `prlimit --nofile=64`. HTTP alone, before any
//! store is asked: SQLite only.

use std::time::{Duration, Instant};

use ccmulti_testkit::binary::Coordinator;
use ccmulti_testkit::{client, closed_after, metrics};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const FILE_LIMIT: &str = "--nofile=64:64";
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// An empty SETTINGS frame: what a client sends right after the preface.
const HTTP2_SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];

struct Limited {
    coordinator: Coordinator,
    _dir: tempfile::TempDir,
}

impl Limited {
    fn start(header_read_timeout_secs: u64) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let coordinator = Coordinator::start_under(
            &["prlimit", FILE_LIMIT, "--"],
            &dir.path().join("c.db"),
            dir.path(),
            &[
                "--header-read-timeout",
                &header_read_timeout_secs.to_string(),
            ],
        );
        Self {
            coordinator,
            _dir: dir,
        }
    }

    fn addr(&self) -> String {
        self.coordinator
            .base
            .trim_start_matches("http://")
            .to_owned()
    }

    async fn health(&self) -> u16 {
        let reply = tokio::time::timeout(
            Duration::from_secs(3),
            client()
                .get(format!("{}/health", self.coordinator.base))
                .send(),
        )
        .await
        .expect("/health answered within 3 s")
        .expect("/health");
        reply.status().as_u16()
    }

    async fn metric(&self, line_start: &str) -> u64 {
        let text = metrics(&self.coordinator.base).await;
        text.lines()
            .find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {line_start} in {text}"))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.coordinator.log).unwrap_or_default()
    }
}

#[tokio::test]
async fn silent_one_byte_and_http2_preface_connections_close_after_the_header_limit() {
    let server = Limited::start(2);
    let silent = TcpStream::connect(server.addr()).await.expect("connect");
    let mut one_byte = TcpStream::connect(server.addr()).await.expect("connect");
    one_byte.write_all(b"P").await.expect("P");
    let mut http2 = TcpStream::connect(server.addr()).await.expect("connect");
    http2.write_all(HTTP2_PREFACE).await.expect("preface");
    http2.write_all(HTTP2_SETTINGS).await.expect("settings");
    let waits = [silent, one_byte, http2]
        .map(|socket| tokio::spawn(closed_after(socket, Duration::from_secs(8))));
    // Meanwhile other clients are served.
    assert_eq!(server.health().await, 200);
    for (what, wait) in ["silent", "one byte", "HTTP/2 preface"].iter().zip(waits) {
        let closed = wait.await.expect("reader");
        let closed = closed.unwrap_or_else(|| panic!("{what}: still open after 8 s"));
        assert!(
            closed >= Duration::from_millis(1_800) && closed < Duration::from_secs(5),
            "{what}: closed after {closed:?}, the limit is 2 s"
        );
    }
    assert_eq!(
        server
            .metric("ccmulti_connections_closed_total{reason=\"no_request_in_time\"}")
            .await,
        3
    );
    // A kept-alive connection that asks nothing more closes the same way.
    let mut kept = TcpStream::connect(server.addr()).await.expect("connect");
    kept.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("request");
    let closed = closed_after(kept, Duration::from_secs(8))
        .await
        .expect("a kept-alive connection idle for 8 s was never closed");
    assert!(closed >= Duration::from_millis(1_800), "{closed:?}");
    assert_eq!(
        server
            .metric("ccmulti_connections_closed_total{reason=\"idle\"}")
            .await,
        1
    );
}

#[tokio::test]
async fn hundreds_of_idle_connections_under_a_low_file_limit_leave_health_answering() {
    // The default header limit (10 s): what keeps /health answering here is
    // the cap, which closes the connection idle the longest to make room.
    let server = Limited::start(10);
    let max = server.metric("ccmulti_connections_max").await;
    assert!((4..64).contains(&max), "cap {max} under a file limit of 64");
    let mut idle = Vec::new();
    for round in [80, 420] {
        for _ in 0..round {
            idle.push(TcpStream::connect(server.addr()).await.expect("connect"));
        }
        assert_eq!(server.health().await, 200, "after {} idle", idle.len());
    }
    let started = Instant::now();
    let mut still_open = 0;
    for socket in idle {
        let left = Duration::from_millis(50).saturating_sub(started.elapsed());
        if closed_after(socket, left.max(Duration::from_millis(1)))
            .await
            .is_none()
        {
            still_open += 1;
        }
    }
    assert!(
        still_open <= max,
        "{still_open} of 500 idle connections still open, the cap is {max}"
    );
    assert!(
        server
            .metric("ccmulti_connections_closed_total{reason=\"evicted_at_cap\"}")
            .await
            >= 500 - max
    );
    let log = server.log();
    assert!(!log.contains("Too many open files"), "{log}");
}

#[tokio::test]
async fn past_the_cap_with_every_connection_busy_a_new_one_is_refused_with_503() {
    let server = Limited::start(10);
    let max = server.metric("ccmulti_connections_max").await;
    let url = server.coordinator.url("u1__session__s1__a");
    let opened = client()
        .post(&url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("user-agent", "claude-code/2.1.330 (sdk-cli)")
        .body(
            serde_json::json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": { "name": "claude-code", "version": "2" } } })
            .to_string(),
        )
        .send()
        .await
        .expect("initialize");
    let session = opened.headers()["mcp-session-id"]
        .to_str()
        .expect("session id")
        .to_owned();
    drop(opened);
    // Every place taken by an event stream: a request in flight for as long
    // as it is open. Each on a connection of its own.
    let mut streams = Vec::new();
    for _ in 0..max {
        let stream = client()
            .get(&url)
            .header("accept", "text/event-stream")
            .header("user-agent", "claude-code/2.1.330 (sdk-cli)")
            .header("mcp-protocol-version", "2025-11-25")
            .header("mcp-session-id", &session)
            .send()
            .await
            .expect("event stream");
        assert_eq!(stream.status(), 200);
        streams.push(stream);
    }
    let mut refused = TcpStream::connect(server.addr()).await.expect("connect");
    refused
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("request");
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(3), refused.read_to_string(&mut answer))
        .await
        .expect("answered and closed")
        .expect("read");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.contains("too_many_connections")
            && answer.contains(&format!("at most {max} open connections"))
            && answer.contains("ulimit -n"),
        "{answer}"
    );
    // One stream ends: its place is free again.
    streams.pop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.health().await, 200);
    assert!(
        server
            .metric("ccmulti_connections_closed_total{reason=\"refused_at_cap\"}")
            .await
            >= 1
    );
}
