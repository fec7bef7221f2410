//! Scale: the same calls, one at a time over loopback MCP, against a small
//! database and a big one, and the ratio of their latencies (the target: at
//! most 2x).
//!
//! Both databases hold session `scale0` with the measuring agents `me` and
//! `bg`. The big one also holds 100 other sessions of 10 agents and 1,000
//! locks each (half live, half expired an hour ago: 100,000 locks, 1,000
//! agents) with a `granted` event per lock, and gives `scale0` itself 10
//! inactive agents, 1,000 expired locks and 10,000 grant/release pairs of
//! history on `shared/hot.rs`. No sweeper runs, so every call steps past the
//! expired rows (a running coordinator sweeps them within a second; the
//! sweep of the backlog is timed on its own at the end).
//!
//! One iteration: `bg` claims shared/hot.rs; `me` claims it too (a
//! conflict); `me` claims one of its own files; `bg` releases hot.rs; `me`
//! calls check_agent_status (its news: hot.rs was freed); `me` releases its
//! file. Then the same claim, status and release straight on the store
//! (`store:` rows: the database's part without HTTP). The two databases take
//! turns, ROUNDS times, ITERATIONS each.
//!
//!     cargo bench --bench scale -- [ROUNDS=3] [ITERATIONS=500]

use ccmulti_testkit::load;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ccmulti::clock::SystemClock;
use ccmulti::rules::locks::ReleaseScope;
use ccmulti::rules::locks::steps::ClaimOutcome;
use ccmulti::state::Security;
use ccmulti::store::SqliteStore as Store;
use ccmulti::store::sqlite::BulkSeed;
use ccmulti_model::Operation;
use load::{Endpoint, Latencies};
use serde_json::{Value, json};

const OPS: [&str; 7] = [
    "claim",
    "claim (conflict)",
    "release",
    "check_agent_status",
    "store: claim",
    "store: release",
    "store: status",
];

struct Db {
    _server: load::InProcess,
    _dir: tempfile::TempDir,
    store: Store,
    me: Endpoint,
    bg: Endpoint,
    latencies: Latencies,
}

async fn open(big: bool) -> Db {
    let dir = tempfile::tempdir().expect("tempdir");
    // No sweeper: the expired rows stay for every call to step past.
    let server = load::serve_in_process(
        dir.path(),
        "scale.db",
        dir.path().to_owned(),
        Arc::new(SystemClock),
        false,
        Security::default(),
    )
    .await;
    let store = server.store.clone();
    if big {
        let started = Instant::now();
        for seed in [
            BulkSeed {
                session_prefix: "bulk",
                sessions: 100,
                agents_per_session: 10,
                locks_per_session: 1_000,
                live_percent: 50,
                history_per_session: 0,
            },
            BulkSeed {
                session_prefix: "scale",
                sessions: 1,
                agents_per_session: 10,
                locks_per_session: 1_000,
                live_percent: 0,
                history_per_session: 10_000,
            },
        ] {
            store.seed_bulk_for_bench(&seed).expect("seed");
        }
        let counts = store.counts().expect("counts");
        println!(
            "big database seeded in {:.1}s: {} sessions, {} agents, {} live locks of 101000, {} events, {:.0} MiB",
            started.elapsed().as_secs_f64(),
            counts.sessions,
            counts.agents,
            counts.active_locks,
            counts.events,
            std::fs::metadata(store.path()).map_or(0, |m| m.len()) as f64 / 1048576.0
        );
    }
    let http = load::http_client(1, Duration::from_secs(30));
    Db {
        me: Endpoint::new(&http, &server.base, "bulk__session__scale0__me"),
        bg: Endpoint::new(&http, &server.base, "bulk__session__scale0__bg"),
        _server: server,
        _dir: dir,
        store,
        latencies: Latencies::default(),
    }
}

/// Calls `tool` and records its latency under `op` (unless warming up); panics on a wrong answer.
async fn timed(
    db: &mut Db,
    me: bool,
    op: &'static str,
    tool: &str,
    arguments: Value,
    success: bool,
    record: Option<Instant>,
) {
    let endpoint = if me { &db.me } else { &db.bg };
    let started = Instant::now();
    let answer = endpoint.call_raw(tool, arguments).await.expect("call");
    if let Some(run) = record {
        db.latencies.record(op, run, started);
    }
    assert_eq!(answer["success"], success, "{op}: {answer}");
}

async fn iteration(db: &mut Db, n: usize, record: Option<Instant>) {
    let hot = json!({ "file_paths": ["shared/hot.rs"] });
    let mine = json!({ "file_paths": [format!("mine/f{}.rs", n % 8)] });
    timed(
        db,
        false,
        "claim",
        "claim_file_lock",
        hot.clone(),
        true,
        record,
    )
    .await;
    timed(
        db,
        true,
        "claim (conflict)",
        "claim_file_lock",
        hot.clone(),
        false,
        record,
    )
    .await;
    timed(
        db,
        true,
        "claim",
        "claim_file_lock",
        mine.clone(),
        true,
        record,
    )
    .await;
    timed(db, false, "release", "release_file_lock", hot, true, record).await;
    timed(
        db,
        true,
        "check_agent_status",
        "check_agent_status",
        json!({}),
        true,
        record,
    )
    .await;
    timed(db, true, "release", "release_file_lock", mine, true, record).await;
    direct(db, n, record);
}

/// The same work straight on the store, without HTTP and MCP: agent
/// `direct` claims and releases a file of its own and reads what
/// check_agent_status reads (its news, the session view).
fn direct(db: &mut Db, n: usize, record: Option<Instant>) {
    let paths: BTreeSet<String> = [format!("direct/f{}.rs", n % 8)].into();
    let store = db.store.clone();
    let mut step = |op: &'static str, f: &dyn Fn()| {
        let started = Instant::now();
        f();
        if let Some(run) = record {
            db.latencies.record(op, run, started);
        }
    };
    step("store: claim", &|| {
        let granted = store.claim("scale0", "direct", Operation::Write, &paths, 15);
        assert!(
            matches!(granted, Ok(ClaimOutcome::Granted(_))),
            "{granted:?}"
        );
    });
    step("store: status", &|| {
        store.take_news("scale0", "direct").expect("news");
        store.session_view("scale0").expect("view");
    });
    step("store: release", &|| {
        let released = store.release("scale0", "direct", &ReleaseScope::Paths(paths.clone()));
        assert_eq!(released.expect("release").released.len(), 1);
    });
}

fn main() {
    let args = load::bench_args();
    let rounds = args.first().copied().unwrap_or(3) as usize;
    let iterations = args.get(1).copied().unwrap_or(500) as usize;
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let mut small = open(false).await;
        let mut big = open(true).await;
        let run = Instant::now();
        for db in [&mut small, &mut big] {
            for n in 0..100 {
                iteration(db, n, None).await;
            }
        }
        for _ in 0..rounds {
            for db in [&mut small, &mut big] {
                for n in 0..iterations {
                    iteration(db, n, Some(run)).await;
                }
            }
        }
        println!(
            "per call, one at a time, µs ({rounds} rounds x {iterations} iterations per database, taking turns)"
        );
        println!(
            "{:<20} {:>20} {:>20} {:>14}",
            "operation", "small p50/p95/p99", "big p50/p95/p99", "big/small p50"
        );
        for op in OPS {
            let (Some(s), Some(b)) = (
                small.latencies.summary(op, 0, u32::MAX),
                big.latencies.summary(op, 0, u32::MAX),
            ) else {
                continue;
            };
            let ratio = f64::from(b.p50) / f64::from(s.p50.max(1));
            println!(
                "{:<20} {:>20} {:>20} {:>13.2}x{}",
                op,
                format!("{}/{}/{}", s.p50, s.p95, s.p99),
                format!("{}/{}/{}", b.p50, b.p95, b.p99),
                ratio,
                if ratio > 2.0 { "  OVER 2x" } else { "" }
            );
        }

        // The sweeper's work on the big database, straight on the store.
        let store = big.store.clone();
        let started = Instant::now();
        let swept = store.sweep_expired().expect("sweep");
        let backlog = started.elapsed();
        let started = Instant::now();
        store.sweep_expired().expect("sweep");
        let idle = started.elapsed();
        let started = Instant::now();
        let pruned = store.prune_events(100_000, 5_000).expect("prune");
        let prune = started.elapsed();
        println!(
            "big database: sweeping a backlog of {swept} expired locks took {:.0} ms (in transactions of 500); \
             an idle sweeper tick {:.0} µs; one pruning batch ({pruned} events): {:.1} ms",
            backlog.as_secs_f64() * 1e3,
            idle.as_secs_f64() * 1e6,
            prune.as_secs_f64() * 1e3
        );
    });
}
