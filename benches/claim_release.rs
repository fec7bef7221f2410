//! Claim/release over loopback MCP at 1, 8 and 50 concurrent agents, on each
//! backend in one run: SQLite (a new file) and PostgreSQL (the testkit's
//! server from Debian's packages, or `CCMULTI_TEST_POSTGRES`; a new database).
//! Prints p50/p99 latency per call and calls per second. The calls are shaped
//! like Claude Code's (`ccmulti_testkit::load`: stateless 2026-07-28 POSTs).
//!
//!     cargo bench --bench claim_release [-- SECONDS_PER_LEVEL] [sqlite|postgres]

use ccmulti_testkit::load;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ccmulti::clock::SystemClock;
use ccmulti::state::Security;
use ccmulti::store::{Durability, PostgresStore, SharedStore, SqliteStore};
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
            let answer = endpoint
                .call_raw(tool, arguments.clone())
                .await
                .expect("call");
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

/// The backends named on the command line (`sqlite`, `postgres`), or both.
fn backends() -> Vec<String> {
    let named: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a == "sqlite" || a == "postgres")
        .collect();
    if named.is_empty() {
        vec!["sqlite".into(), "postgres".into()]
    } else {
        named
    }
}

async fn open(backend: &str, dir: &std::path::Path) -> SharedStore {
    let clock = Arc::new(SystemClock);
    if backend == "postgres" {
        let url = ccmulti_testpg::database();
        Arc::new(PostgresStore::open(&url, clock).await.expect("postgres"))
    } else {
        Arc::new(
            SqliteStore::open(&dir.join("bench.db"), clock, Durability::Normal).expect("sqlite"),
        )
    }
}

fn main() {
    let seconds = load::bench_args().first().copied().unwrap_or(5);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        println!(
            "claim+release over loopback MCP (stateless POST, JSON response), {seconds}s per level"
        );
        println!(
            "{:>8} {:>7} {:>10} {:>10} {:>12} {:>18}",
            "backend", "agents", "p50", "p99", "calls/s", "mean in tool+db"
        );
        for backend in backends() {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = open(&backend, dir.path()).await;
            let shown = store.backend();
            let (_state, base, _stop) =
                load::serve_store(store, dir.path().to_owned(), true, Security::default()).await;
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
                    "{:>8} {:>7} {:>8.0}µs {:>8.0}µs {:>12.0} {:>16.0}µs",
                    shown,
                    agents,
                    percentile(&all, 0.50).as_secs_f64() * 1e6,
                    percentile(&all, 0.99).as_secs_f64() * 1e6,
                    all.len() as f64 / elapsed.as_secs_f64(),
                    (tool_sum - seen_sum) / (tool_count - seen_count).max(1.0) * 1e6,
                );
                (seen_sum, seen_count) = (tool_sum, tool_count);
            }
        }
    });
}
