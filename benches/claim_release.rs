//! Claim/release over loopback MCP at 1, 8 and 50 concurrent agents.
//! Prints p50/p99 latency per call and calls per second. The calls are shaped
//! like Claude Code's (`ccmulti_testkit::load`: stateless 2026-07-28 POSTs).
//!
//!     cargo bench --bench claim_release [-- SECONDS_PER_LEVEL]

use ccmulti_testkit::load;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ccmulti::clock::SystemClock;
use ccmulti::state::Security;
use load::{Endpoint, percentile};
use serde_json::json;

async fn agent_loop(endpoint: Endpoint, path: String, until: Instant) -> Vec<Duration> {
    let mut samples = Vec::new();
    let calls = [
        (
            "claim_file_lock",
            json!({ "file_paths": [path], "duration_minutes": 5 }),
        ),
        ("release_file_lock", json!({ "file_paths": [path] })),
    ];
    while Instant::now() < until {
        for (tool, arguments) in &calls {
            let started = Instant::now();
            let answer = endpoint.call(tool, arguments.clone()).await.expect("call");
            samples.push(started.elapsed());
            assert_eq!(answer["success"], true, "{answer}");
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
    let seconds = load::bench_args().first().copied().unwrap_or(5);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = load::serve_in_process(
            dir.path(),
            "bench.db",
            dir.path().to_owned(),
            Arc::new(SystemClock),
            true,
            Security::default(),
        )
        .await;
        let base = server.base.clone();
        println!(
            "claim+release over loopback MCP (stateless POST, JSON response), {seconds}s per level"
        );
        println!(
            "{:>7} {:>10} {:>10} {:>12} {:>18}",
            "agents", "p50", "p99", "calls/s", "mean in tool+db"
        );
        let (mut seen_sum, mut seen_count) = (0.0, 0.0);
        for agents in [1usize, 8, 50] {
            let client = load::http_client(agents, Duration::from_secs(30));
            let until = Instant::now() + Duration::from_secs(seconds);
            let started = Instant::now();
            let tasks: Vec<_> = (0..agents)
                .map(|i| {
                    let endpoint =
                        Endpoint::new(&client, &base, &format!("bench__session__s__agent{i}"));
                    tokio::spawn(agent_loop(endpoint, format!("src/file{i}.rs"), until))
                })
                .collect();
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await.expect("agent"));
            }
            let elapsed = started.elapsed();
            all.sort();
            let (tool_sum, tool_count) =
                server_tool_time(&client, &format!("{base}/metrics")).await;
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
