//! Soak: AGENTS agents (ten to a session) against the real `ccmulti serve`
//! over HTTP for MINUTES, each pausing a random 0 to 2 × PAUSE_MS after every
//! call; the load of `tests/it/soak.rs` (`ccmulti_testkit::load`). Prints latency
//! percentiles per operation (whole run, first and last third), the server's
//! RSS (sampled every 5 s: start, max, end, growth after warm-up), the
//! database's size and event count every minute, and the unexpected answers
//! (must be 0). Exits non-zero on an unexpected answer or RSS growth over the bound.
//!
//!     cargo bench --bench soak -- [MINUTES=30] [AGENTS=50] [PAUSE_MS=100]

#[allow(dead_code)]
use ccmulti_testkit::binary;
use ccmulti_testkit::load;

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use load::{RssSamples, SoakPlan};

/// The same bound as tests/it/soak.rs: SQLite's page caches (10 MiB) plus the
/// allocator's arenas; a leak of 30 bytes a call passes it in 30 minutes
/// (BENCHMARKS.md, "Soak").
const RSS_GROWTH_BOUND_MIB: i64 = 16;

fn file_mib(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / (1024.0 * 1024.0))
}

async fn events(http: &reqwest::Client, base: &str) -> i64 {
    let health: serde_json::Value = match http.get(format!("{base}/health/detailed")).send().await {
        Ok(r) => r.json().await.unwrap_or_default(),
        Err(_) => serde_json::Value::Null,
    };
    health["counts"]["events"].as_i64().unwrap_or(-1)
}

fn main() -> ExitCode {
    let args = load::bench_args();
    let minutes = args.first().copied().unwrap_or(30);
    let plan = SoakPlan {
        agents: args.get(1).copied().unwrap_or(50) as usize,
        per_session: 10,
        duration: Duration::from_secs(minutes * 60),
        pause: Duration::from_millis(args.get(2).copied().unwrap_or(100)),
        min_steps: 0,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("repo");
    std::fs::create_dir_all(&root).expect("root");
    let db = dir.path().join("coordinator.db");
    let wal = dir.path().join("coordinator.db-wal");
    let server = binary::Coordinator::start(&db, &root, &[]);
    let pid = server.child.id();
    println!(
        "soak: {} agents ({} to a session), {minutes} min, pause 0..{} ms after each call, release binary pid {pid}",
        plan.agents,
        plan.per_session,
        2 * plan.pause.as_millis()
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (outcome, rss, last_events) = runtime.block_on(async {
        let started = Instant::now();
        let until = started + plan.duration;
        let rss = tokio::spawn(RssSamples::sample(pid, Duration::from_secs(5), until));
        let base = server.base.clone();
        let (db, wal) = (db.clone(), wal.clone());
        let progress = tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            tick.tick().await;
            while Instant::now() < until {
                tick.tick().await;
                println!(
                    "  {:>5.1} min: RSS {:.1} MiB, db {:.1} MiB, wal {:.1} MiB, {} events",
                    started.elapsed().as_secs_f64() / 60.0,
                    load::rss_kib(pid).unwrap_or(0) as f64 / 1024.0,
                    file_mib(&db),
                    file_mib(&wal),
                    events(&http, &base).await
                );
            }
        });
        let outcome = load::soak(&server.base, &plan).await;
        let rss = rss.await.expect("rss sampler");
        progress.abort();
        (
            outcome,
            rss,
            events(&reqwest::Client::new(), &server.base).await,
        )
    });
    let run_ms = plan.duration.as_millis() as u32;
    outcome.latencies.print(run_ms);
    rss.print();
    println!(
        "{} calls ({:.0}/s), {} expected conflicts, {} news items; database {:.1} MiB + wal {:.1} MiB, {last_events} events",
        outcome.latencies.calls(),
        outcome.latencies.calls() as f64 / plan.duration.as_secs_f64(),
        outcome.conflicts,
        outcome.news,
        file_mib(&db),
        file_mib(&wal),
    );
    let log = std::fs::read_to_string(&server.log).unwrap_or_default();
    let log_errors = log.lines().filter(|l| l.contains("ERROR")).count();
    println!(
        "unexpected answers: {}; server log: {log_errors} ERROR lines",
        outcome.unexpected
    );
    for line in &outcome.first_unexpected {
        println!("  {line}");
    }
    let grew_mib = rss.growth_kib() as f64 / 1024.0;
    let bounded = rss.growth_kib() <= RSS_GROWTH_BOUND_MIB * 1024;
    println!(
        "RSS growth after warm-up {grew_mib:+.1} MiB, bound {RSS_GROWTH_BOUND_MIB} MiB: {}",
        if bounded { "within" } else { "EXCEEDED" }
    );
    if outcome.unexpected == 0 && bounded && log_errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
