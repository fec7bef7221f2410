//! Exclusion, checked: 64 clients claim, renew and release a few hot paths over
//! real HTTP against the real binary; every operation's invocation, completion
//! and outcome is recorded and the history is checked (see `history/mod.rs`).
//! On SQLite; on PostgreSQL, `postgres.rs` checks the same history with the
//! clients spread over three coordinators.
//!
//! Quick by default. The long run, a million claims:
//!     CCMULTI_HISTORY_CLAIMS=1000000 cargo test --release --test it exclusion:: -- --nocapture

use std::time::{Duration, Instant};

use ccmulti_testkit::binary::Coordinator;
use ccmulti_testkit::history::{Kind, Op, Outcome, check};
use ccmulti_testkit::load::Endpoint;
use serde_json::{Value, json};

pub(crate) const CLIENTS: usize = 64;
const PATHS: [&str; 8] = [
    "src/a.rs",
    "src/b.rs",
    "src/c.rs",
    "src/d.rs",
    "src/e.rs",
    "src/f.rs",
    "README.md",
    "Cargo.toml",
];

struct Client {
    endpoint: Endpoint,
    name: String,
    started: Instant,
}

impl Client {
    async fn call(&self, tool: &str, arguments: Value) -> Option<Value> {
        self.endpoint.call_raw(tool, arguments).await.ok()
    }

    fn now(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    async fn claim(&self, path: &str) -> Op {
        let invoked = self.now();
        let reply = self
            .call(
                "claim_file_lock",
                json!({ "file_paths": [path], "operation": "write", "duration_minutes": 5 }),
            )
            .await;
        let outcome = Outcome::of_claim(reply);
        self.op(Kind::Claim, path, invoked, outcome)
    }

    async fn release(&self, path: &str) -> Op {
        let invoked = self.now();
        let reply = self
            .call("release_file_lock", json!({ "file_paths": [path] }))
            .await;
        let outcome = Outcome::of_release(reply, path);
        self.op(Kind::Release, path, invoked, outcome)
    }

    fn op(&self, kind: Kind, path: &str, invoked: u64, outcome: Outcome) -> Op {
        Op {
            client: self.name.clone(),
            kind,
            path: path.into(),
            invoked,
            completed: self.now(),
            outcome,
        }
    }
}

/// Up to `claims` claims, or fewer if `until` comes first. A claim with no
/// answer (the coordinator or its database down) is retried after a pause,
/// as a client would.
async fn run_client(client: Client, claims: usize, seed: u64, until: Option<Instant>) -> Vec<Op> {
    let mut ops = Vec::with_capacity(claims * 3);
    let mut rng = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    for _ in 0..claims {
        if until.is_some_and(|end| Instant::now() >= end) {
            break;
        }
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let path = PATHS[(rng >> 33) as usize % PATHS.len()];
        let claim = client.claim(path).await;
        let granted = matches!(claim.outcome, Outcome::Granted { .. });
        let unknown = claim.outcome == Outcome::Unknown;
        ops.push(claim);
        if granted {
            if (rng >> 40) % 3 == 0 {
                ops.push(client.claim(path).await);
            }
            ops.push(client.release(path).await);
        } else if unknown {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    ops
}

/// The claims of a run: `CCMULTI_HISTORY_CLAIMS`, or a short run by default.
pub(crate) fn claims_in_run(short: usize) -> usize {
    std::env::var("CCMULTI_HISTORY_CLAIMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(short)
}

/// What one storm did: every operation, and when the run began.
pub(crate) struct Storm {
    pub ops: Vec<Op>,
    pub started: Instant,
    pub elapsed: Duration,
}

/// [`CLIENTS`] clients, spread round-robin over the coordinators at `bases`
/// (client `i` on `bases[i % len]`), make `total` claims between them, each
/// on its own session user; or as many as they make before `until`.
pub(crate) async fn storm(bases: &[String], total: usize, until: Option<Instant>) -> Storm {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let base = &bases[i % bases.len()];
            let client = Client {
                endpoint: Endpoint::new(&http, base, &format!("hist__session__s__c{i}")),
                name: format!("c{i}"),
                started,
            };
            tokio::spawn(run_client(client, total / CLIENTS, i as u64, until))
        })
        .collect();
    let mut ops = Vec::new();
    for t in tasks {
        ops.extend(t.await.unwrap());
    }
    Storm {
        ops,
        started,
        elapsed: started.elapsed(),
    }
}

/// Prints the run's figures and checks its history: no violation, and the
/// run contended (each client granted once on average, unless `faults`
/// took much of its time: then some grants and refusals). Returns how many
/// answers were unknown (transport errors, a database down).
pub(crate) fn checked(storm: &Storm, what: &str, faults: bool) -> usize {
    let ops = &storm.ops;
    let count = |f: &dyn Fn(&Op) -> bool| ops.iter().filter(|o| f(o)).count();
    let grants = count(&|o| matches!(o.outcome, Outcome::Granted { renewed: false, .. }));
    let renewals = count(&|o| matches!(o.outcome, Outcome::Granted { renewed: true, .. }));
    let refusals = count(&|o| matches!(o.outcome, Outcome::Refused { .. }));
    let unknown = count(&|o| o.outcome == Outcome::Unknown);
    println!(
        "history ({what}): {} operations by {CLIENTS} clients in {:.1} s ({:.0} ops/s): {grants} grants, {renewals} renewals, {refusals} refusals, {unknown} unknown",
        ops.len(),
        storm.elapsed.as_secs_f64(),
        ops.len() as f64 / storm.elapsed.as_secs_f64()
    );
    let violations = check(ops);
    assert!(
        violations.is_empty(),
        "{} violations, first: {:#?}",
        violations.len(),
        &violations[..violations.len().min(10)]
    );
    let enough = if faults { 0 } else { CLIENTS };
    assert!(grants > enough && refusals > 0, "the run must contend");
    unknown
}

/// Every acknowledged release is honoured in the store too: nothing is left held.
pub(crate) async fn nothing_left_held(base: &str) {
    let http = reqwest::Client::new();
    let status = Endpoint::new(&http, base, "hist__session__s__auditor")
        .call_raw("check_agent_status", json!({}))
        .await
        .expect("check_agent_status answers after the run");
    assert_eq!(status["locks"], json!([]), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_two_holders_growing_tokens_and_honoured_releases() {
    ccmulti_testkit::history::self_test();
    let dir = tempfile::tempdir().unwrap();
    let server = Coordinator::start(&dir.path().join("c.db"), dir.path(), &[]);
    let run = storm(
        std::slice::from_ref(&server.base),
        claims_in_run(3_200),
        None,
    )
    .await;
    assert_eq!(
        checked(&run, "SQLite, one coordinator", false),
        0,
        "every call answered"
    );
    nothing_left_held(&server.base).await;
}
