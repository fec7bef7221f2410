//! Claim/release over loopback MCP at 1, 8 and 50 concurrent agents.
//! Prints p50/p99 latency per call and calls per second.
//!
//!     cargo bench --bench claim_release [-- SECONDS_PER_LEVEL]

use std::sync::Arc;
use std::time::{Duration, Instant};

use ccmulti::clock::SystemClock;
use ccmulti::state::AppState;
use ccmulti::store::{Durability, Store};
use serde_json::json;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn agent_loop(
    client: reqwest::Client,
    url: String,
    path: String,
    until: Instant,
) -> Vec<Duration> {
    let mut samples = Vec::new();
    let bodies = [
        json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": { "name": "claim_file_lock", "arguments": { "file_paths": [path], "duration_minutes": 5 } } })
        .to_string(),
        json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": { "name": "release_file_lock", "arguments": { "file_paths": [path] } } })
        .to_string(),
    ];
    while Instant::now() < until {
        for body in &bodies {
            let started = Instant::now();
            let response = client
                .post(&url)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .header("x-client-name", "claude code")
                .body(body.clone())
                .send()
                .await
                .expect("request");
            let bytes = response.bytes().await.expect("body");
            samples.push(started.elapsed());
            assert!(
                bytes.windows(14).any(|w| w == b"\"success\":true"),
                "{}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }
    samples
}

/// Server-side time inside the tools (arguments, store, result), from /metrics.
async fn server_tool_time(client: &reqwest::Client, url: &str) -> (f64, f64) {
    let text = client
        .get(url)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    let sum_of = |prefix: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    (
        sum_of("ccmulti_tool_duration_seconds_sum"),
        sum_of("ccmulti_tool_duration_seconds_count"),
    )
}

fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(
            &dir.path().join("bench.db"),
            Arc::new(SystemClock),
            Durability::Normal,
        )
        .expect("store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = AppState::new(store, dir.path().to_owned(), format!("http://{addr}"));
        tokio::spawn(ccmulti::serve::serve(
            listener,
            state,
            std::future::pending(),
        ));
        println!(
            "claim+release over loopback MCP (stateless POST, JSON response), {seconds}s per level"
        );
        println!(
            "{:>7} {:>10} {:>10} {:>12} {:>18}",
            "agents", "p50", "p99", "calls/s", "mean in tool+db"
        );
        let (mut seen_sum, mut seen_count) = (0.0, 0.0);
        for agents in [1usize, 8, 50] {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(agents)
                .build()
                .expect("client");
            let until = Instant::now() + Duration::from_secs(seconds);
            let started = Instant::now();
            let tasks: Vec<_> = (0..agents)
                .map(|i| {
                    let url = format!("http://{addr}/mcp/v2/claude/bench__session__s__agent{i}");
                    tokio::spawn(agent_loop(
                        client.clone(),
                        url,
                        format!("src/file{i}.rs"),
                        until,
                    ))
                })
                .collect();
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await.expect("agent"));
            }
            let elapsed = started.elapsed();
            all.sort();
            let (tool_sum, tool_count) =
                server_tool_time(&client, &format!("http://{addr}/metrics")).await;
            println!(
                "{:>7} {:>8.0}µs {:>8.0}µs {:>12.0} {:>16.0}µs",
                agents,
                percentile(&all, 0.50).as_secs_f64() * 1e6,
                percentile(&all, 0.99).as_secs_f64() * 1e6,
                all.len() as f64 / elapsed.as_secs_f64(),
                (tool_sum - seen_sum) / (tool_count - seen_count).max(1.0) * 1e6,
            );
            (seen_sum, seen_count) = (tool_sum, tool_count);
        }
    });
}
