//! Soak, the short version: 50 agents in five sessions against the real
//! binary over HTTP, with the load of `benches/soak.rs` (the 30-minute run,
//! BENCHMARKS.md, "Soak"). It asserts what does not depend on the machine's speed:
//! every call answered as expected (conflicts only where files are shared),
//! the server's memory bounded after warm-up, no error in its log, and the
//! audit trail pruned to what `--keep-events` keeps.
//!
//!     CCMULTI_SOAK_SECONDS=60 cargo test --test it soak:: -- --nocapture

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ccmulti_testkit::Backend;
use ccmulti_testkit::binary::Coordinator;
use ccmulti_testkit::load::{self, RssSamples, SoakPlan};

const DEFAULT_SECONDS: u64 = 15;
/// SQLite's page caches (10 MiB) plus the allocator's arenas; in this short run only a
/// leak over about 1.4 KiB a call crosses it (BENCHMARKS.md, "Soak").
const RSS_GROWTH_BOUND_MIB: i64 = 16;
/// Small, so that the run writes several times this many events.
const EVENTS_KEPT: i64 = 200;
/// Steps the agents take together before they stop, however slow the machine
/// (a quiet one takes ten times as many in the default 15 s): at least 60 %
/// of steps write events, so this writes far more than `EVENTS_KEPT`.
const MIN_STEPS: u64 = 1_500;

on_both_backends!(fifty_agents_soak_without_errors_in_bounded_memory);

async fn fifty_agents_soak_without_errors_in_bounded_memory(backend: Backend) {
    let seconds = std::env::var("CCMULTI_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SECONDS);
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("repo");
    std::fs::create_dir_all(&root).expect("root");
    let server = Coordinator::start_new(
        backend,
        dir.path(),
        &root,
        &["--keep-events", &EVENTS_KEPT.to_string()],
    );
    let plan = SoakPlan {
        agents: 50,
        per_session: 10,
        duration: Duration::from_secs(seconds),
        pause: Duration::from_millis(20),
        min_steps: MIN_STEPS,
    };
    let pid = server.child.id();
    let running = Arc::new(AtomicBool::new(true));
    let rss = tokio::spawn(RssSamples::sample_while(pid, Duration::from_millis(250), {
        let running = running.clone();
        move || running.load(Ordering::Relaxed)
    }));
    let started = Instant::now();
    let outcome = load::soak(&server.base, &plan).await;
    let ran_for = started.elapsed();
    running.store(false, Ordering::Relaxed);
    let rss = rss.await.expect("rss sampler");

    // One more sweeper tick after the load, then what the database holds.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let health: serde_json::Value = reqwest::get(format!("{}/health/detailed", server.base))
        .await
        .expect("health")
        .json()
        .await
        .expect("health json");
    let events = health["counts"]["events"].as_i64().expect("event count");

    outcome.latencies.print(ran_for.as_millis() as u32);
    rss.print();
    println!(
        "{} calls, {} expected conflicts, {} news items, {} unexpected; {events} events kept",
        outcome.latencies.calls(),
        outcome.conflicts,
        outcome.news,
        outcome.unexpected
    );
    assert_eq!(
        outcome.unexpected, 0,
        "unexpected answers: {:#?}",
        outcome.first_unexpected
    );
    assert!(outcome.conflicts > 0, "the shared files never conflicted");
    assert!(
        rss.growth_kib() <= RSS_GROWTH_BOUND_MIB * 1024,
        "the server's RSS grew by {} KiB after warm-up: {:?}",
        rss.growth_kib(),
        rss.0
    );
    let log = std::fs::read_to_string(&server.log).unwrap_or_default();
    assert!(!log.contains("ERROR"), "the server logged errors:\n{log}");
    // Each claim and release writes at least one event: far more than were kept.
    let written: usize = ["claim own", "renew own", "release", "claim, abandoned"]
        .iter()
        .filter_map(|op| outcome.latencies.0.get(op).map(Vec::len))
        .sum();
    assert!(
        written as i64 > 2 * EVENTS_KEPT,
        "too few events written to see them pruned: {written}"
    );
    assert!(
        events <= EVENTS_KEPT,
        "{events} events kept, over {EVENTS_KEPT}"
    );
}
