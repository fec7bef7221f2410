//! Several real `ccmulti serve` processes on one real PostgreSQL (the
//! testkit's, from Debian's packages): a release through one wakes a claim
//! waiting on another, a dashboard on one sees claims made through another,
//! the exclusion history holds with clients spread over three coordinators,
//! and it still holds when a coordinator is SIGKILLed or PostgreSQL restarts
//! in the middle of a storm.
//!
//! The long history run (issue 14 asks for at least 100,000 claims):
//!     CCMULTI_HISTORY_CLAIMS=100000 cargo test --release --test it postgres::three -- --nocapture

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ccmulti::clock::SystemClock;
use ccmulti::coord::Coordinator as Service;
use ccmulti::store::PostgresStore;
use ccmulti_testkit::binary::Coordinator;
use ccmulti_testkit::history::{Op, Outcome};
use ccmulti_testkit::load::Endpoint;
use ccmulti_testkit::{Reply, client, send};
use ccmulti_testpg::{PgServer, database};
use serde_json::json;

use crate::exclusion::{CLIENTS, checked, claims_in_run, nothing_left_held, storm};

/// One of these tests at a time: they measure latency or storm the same two
/// cores, and would otherwise measure each other.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn coordinators(url: &str, dir: &std::path::Path, n: usize) -> Vec<Coordinator> {
    (0..n)
        .map(|_| Coordinator::start_postgres(url, dir, dir, &[]))
        .collect()
}

fn bases(coordinators: &[Coordinator]) -> Vec<String> {
    coordinators.iter().map(|c| c.base.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_waiting_on_a_is_granted_within_100ms_of_a_release_through_b() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let [a, b]: [Coordinator; 2] = coordinators(&database(), dir.path(), 2)
        .try_into()
        .unwrap_or_else(|_| panic!("two coordinators"));
    let http = reqwest::Client::new();
    let holder = Endpoint::new(&http, &b.base, "u__session__s__holder");
    let waiter = Endpoint::new(&http, &a.base, "u__session__s__waiter");
    let mut gaps = Vec::new();
    for round in 0..5 {
        let path = format!("src/hot{round}.rs");
        let held = holder
            .call_raw("claim_file_lock", json!({ "file_paths": [path] }))
            .await
            .unwrap();
        assert_eq!(held["success"], true, "{held}");
        let waiting = {
            let waiter = Endpoint::new(&http, &a.base, "u__session__s__waiter");
            let path = path.clone();
            tokio::spawn(async move {
                let reply = waiter
                    .call_raw(
                        "claim_file_lock",
                        json!({ "file_paths": [path], "wait_seconds": 20 }),
                    )
                    .await;
                (reply, Instant::now())
            })
        };
        // Let the waiter's first attempt meet the lock and its row be written.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!waiting.is_finished(), "the claim on A must be waiting");
        let released = holder
            .call_raw("release_file_lock", json!({ "file_paths": [path] }))
            .await
            .unwrap();
        let released_at = Instant::now();
        assert_eq!(released["released"], json!([path]), "{released}");
        let (reply, granted_at) = waiting.await.unwrap();
        let reply = reply.unwrap();
        assert_eq!(reply["success"], true, "{reply}");
        gaps.push(granted_at.saturating_duration_since(released_at));
        waiter
            .call_raw("release_file_lock", json!({ "file_paths": [path] }))
            .await
            .unwrap();
    }
    println!("grant after a release through another coordinator: {gaps:?}");
    // The median is the figure (the issue's 100 ms); one round on this
    // shared, loaded machine may be slower, never by seconds.
    gaps.sort();
    assert!(
        gaps[gaps.len() / 2] < Duration::from_millis(100),
        "{gaps:?}"
    );
    assert!(
        gaps.iter().all(|g| *g < Duration::from_millis(500)),
        "{gaps:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_on_b_shows_a_claim_made_through_a() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let url = database();
    let a = Coordinator::start_postgres(&url, dir.path(), dir.path(), &[]);
    // B's dashboard: its data source and its redraw signal, as `ccmulti up` wires them.
    let store = PostgresStore::open(&url, Arc::new(SystemClock))
        .await
        .unwrap();
    let b = Service::new(Arc::new(store));
    let redraws =
        ccmulti::dashboard::redraw_on_changes(&b, &tokio::runtime::Handle::current()).unwrap();
    let http = reqwest::Client::new();
    let claimed = Endpoint::new(&http, &a.base, "u__session__s__impl_a")
        .call_raw("claim_file_lock", json!({ "file_paths": ["src/lib.rs"] }))
        .await
        .unwrap();
    assert_eq!(claimed["success"], true, "{claimed}");
    tokio::task::spawn_blocking(move || redraws.recv_timeout(Duration::from_secs(5)))
        .await
        .unwrap()
        .expect("B's dashboard is told to redraw");
    let snapshot = b.snapshot(10).await.unwrap();
    let locks: Vec<(&str, &str)> = snapshot
        .locks
        .iter()
        .map(|l| (l.agent_id.as_str(), l.path.as_str()))
        .collect();
    assert_eq!(locks, [("impl_a", "src/lib.rs")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_coordinators_on_one_database_keep_exclusion() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let servers = coordinators(&database(), dir.path(), 3);
    let run = storm(&bases(&servers), claims_in_run(3_200), None).await;
    let unknown = checked(&run, "PostgreSQL, three coordinators", false);
    // 64 clients queue on one session's lock; on a loaded two-core machine a
    // call can wait past the 5 s bound and is answered "unavailable, retry"
    // (its effect unknown to the client, which the checker allows for). That
    // stays rare: most calls are answered with their outcome.
    assert!(
        unknown * 50 <= run.ops.len(),
        "{unknown} of {} calls unanswered",
        run.ops.len()
    );
    nothing_left_held(&servers[2].base).await;
}

fn nanos_since(start: Instant, at: Instant) -> u64 {
    at.saturating_duration_since(start).as_nanos() as u64
}

/// Operations of the clients of `coordinator` (of `n`; all if `None`) asked
/// after `after_ns` whose outcome `counts`.
fn ops_after(
    ops: &[Op],
    n: usize,
    coordinator: Option<usize>,
    after_ns: u64,
    counts: impl Fn(&Outcome) -> bool,
) -> usize {
    ops.iter()
        .filter(|o| {
            let client: usize = o
                .client
                .trim_start_matches('c')
                .parse()
                .unwrap_or(usize::MAX);
            coordinator.is_none_or(|c| client % n == c)
                && o.invoked > after_ns
                && counts(&o.outcome)
        })
        .count()
}

fn granted(o: &Outcome) -> bool {
    matches!(o, Outcome::Granted { .. })
}

/// Granted or refused: the coordinator answered, as it should.
fn answered(o: &Outcome) -> bool {
    granted(o) || matches!(o, Outcome::Refused { .. })
}

fn grants_after(ops: &[Op], n: usize, coordinator: Option<usize>, after_ns: u64) -> usize {
    ops_after(ops, n, coordinator, after_ns, granted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_killed_mid_storm_leaves_the_others_going() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let mut servers = coordinators(&database(), dir.path(), 3);
    let bases = bases(&servers);
    let victim = servers.pop().expect("three");
    let started = Instant::now();
    let killer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        victim.kill();
        Instant::now()
    });
    let run = storm(
        &bases,
        CLIENTS * 10_000,
        Some(started + Duration::from_secs(6)),
    )
    .await;
    let killed_at = nanos_since(run.started, killer.await.unwrap());
    let unknown = checked(
        &run,
        "PostgreSQL, one of three coordinators SIGKILLed",
        true,
    );
    assert!(unknown > 0, "the victim's clients lost their coordinator");
    // The survivors go on answering (on this loaded machine few answers in a
    // few seconds are grants: most claims meet a held path), and grant a
    // free path when the storm is over.
    let http = reqwest::Client::new();
    for (survivor, server) in servers.iter().enumerate() {
        let after = ops_after(&run.ops, 3, Some(survivor), killed_at, answered);
        assert!(
            after > 0,
            "coordinator {survivor} answered nothing after the kill"
        );
        let fresh = Endpoint::new(&http, &server.base, "hist__session__s__after")
            .call_raw(
                "claim_file_lock",
                json!({ "file_paths": [format!("after{survivor}.rs")] }),
            )
            .await
            .unwrap();
        assert_eq!(fresh["success"], true, "{fresh}");
    }
    assert_eq!(
        grants_after(&run.ops, 3, Some(2), killed_at + 100_000_000),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_mid_storm_fails_calls_cleanly_and_resumes() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = Arc::new(PgServer::start());
    let dir = tempfile::tempdir().unwrap();
    let servers = coordinators(&server.create_database(), dir.path(), 2);
    let started = Instant::now();
    let outage = {
        let server = server.clone();
        let base = servers[0].base.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let down = Instant::now();
            let server2 = server.clone();
            tokio::task::spawn_blocking(move || server2.stop())
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(500)).await;
            // What an agent and an operator are told while the database is down.
            let http = reqwest::Client::new();
            let refused = Endpoint::new(&http, &base, "u__session__s__probe")
                .call_raw("claim_file_lock", json!({ "file_paths": ["probe.rs"] }))
                .await;
            let health = http
                .get(format!("{base}/health/detailed"))
                .send()
                .await
                .unwrap();
            let health = (health.status().as_u16(), health.text().await.unwrap());
            tokio::time::sleep(Duration::from_millis(1500)).await;
            // The server accepts connections before `pg_ctl start` returns,
            // so the outage is over the moment the restart begins.
            let restarting = Instant::now();
            tokio::task::spawn_blocking(move || server.start_again())
                .await
                .unwrap();
            (down, restarting, Instant::now(), refused, health)
        })
    };
    let run = storm(
        &bases(&servers),
        CLIENTS * 10_000,
        Some(started + Duration::from_secs(9)),
    )
    .await;
    let (down, restarting, up, refused, (health_status, health)) = outage.await.unwrap();
    let (down, restarting, up) = (
        nanos_since(run.started, down),
        nanos_since(run.started, restarting),
        nanos_since(run.started, up),
    );
    let refused = refused.expect_err("no claim is granted while the database is down");
    assert!(
        refused.contains("unavailable") && refused.contains("retry"),
        "{refused}"
    );
    assert_eq!(health_status, 503, "{health}");
    assert!(
        health.contains(r#""backend":"postgres""#) && health.contains(r#""status":"unavailable""#),
        "{health}"
    );
    let unknown = checked(&run, "PostgreSQL restarted mid-storm", true);
    assert!(unknown > 0, "the outage was seen");
    // Never a hang: every call answered well within the client's 30 s.
    let slowest = run
        .ops
        .iter()
        .map(|o| o.completed - o.invoked)
        .max()
        .unwrap_or(0);
    assert!(
        slowest < 12_000_000_000,
        "a call took {} ms",
        slowest / 1_000_000
    );
    // Nothing granted while the database was down.
    let during: Vec<&Op> = run
        .ops
        .iter()
        .filter(|o| o.invoked > down + 200_000_000 && o.completed < restarting)
        .filter(|o| matches!(o.outcome, Outcome::Granted { .. }))
        .collect();
    assert!(during.is_empty(), "granted during the outage: {during:?}");
    // Service resumes by itself.
    assert!(
        grants_after(&run.ops, 2, None, up) > 0,
        "nothing granted after the restart"
    );
    // Tokens never reused, across the restart.
    let tokens: Vec<i64> = run
        .ops
        .iter()
        .filter_map(|o| match o.outcome {
            Outcome::Granted {
                token,
                renewed: false,
            } => Some(token),
            _ => None,
        })
        .collect();
    let distinct: BTreeSet<i64> = tokens.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        tokens.len(),
        "a fencing token was handed out twice"
    );
}

/// What a call came to, and how long it took from sending to its answer.
#[derive(Debug, Clone)]
struct Timed {
    tool: &'static str,
    sent: Duration,
    took: Duration,
    /// `Ok` for a result (granted or refused alike), else the error's text.
    answer: Result<(), String>,
    /// The call's own bound: 5 s, plus what a waiting claim asked to wait.
    bound: Duration,
}

const BOUND: Duration = ccmulti::deadline::ANSWER_WITHIN;
/// Scheduling on a loaded two-core machine, the client's own work.
const SLACK: Duration = Duration::from_millis(1_000);

/// The -32000 answer as the client reads it (`ClientError::Unavailable`).
fn is_unavailable(error: &str) -> bool {
    error.contains("could not serve") && error.contains("unavailable") && error.contains("retry")
}

/// Calls `tool` through `endpoint` and times it from `start`.
async fn timed(
    endpoint: &Endpoint,
    start: Instant,
    tool: &'static str,
    arguments: serde_json::Value,
    bound: Duration,
) -> Timed {
    let sent = start.elapsed();
    let answer = endpoint.call_raw(tool, arguments).await.map(|_| ());
    Timed {
        tool,
        sent,
        took: start.elapsed() - sent,
        answer,
        bound,
    }
}

/// The outside run froze PostgreSQL (SIGSTOP: a hung server, or a network
/// partition, looks the same to its clients) for 10 s, and claims were
/// answered after 6 to 10 s, some only once the freeze ended: each store
/// call had its own 5 s, and a request made several. Now the request has
/// one bound: agents of two coordinators call all along, and every call is
/// answered within 5 s (a claim that waits 3 s within 8 s), with a result or
/// the one "unavailable, retry" error; `/health` and `tools/list` answer;
/// calls succeed again once the server runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_frozen_for_10_s_answers_every_call_within_its_bound() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = Arc::new(PgServer::start());
    let dir = tempfile::tempdir().unwrap();
    let servers = coordinators(&server.create_database(), dir.path(), 2);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let agent =
        |i: usize| Endpoint::new(&http, &servers[i % 2].base, &format!("u__session__s__a{i}"));
    // Registered, and a0 holds what a1 will wait for.
    for i in 0..6 {
        let path = format!("own{i}.rs");
        agent(i)
            .call_raw("claim_file_lock", json!({ "file_paths": [path] }))
            .await
            .expect("claimed before the freeze");
    }
    agent(0)
        .call_raw("claim_file_lock", json!({ "file_paths": ["held.rs"] }))
        .await
        .expect("held");
    let start = Instant::now();
    let freeze_at = Duration::from_secs(2);
    let thaw_at = freeze_at + Duration::from_secs(10);
    let end_at = thaw_at + Duration::from_secs(6);
    let mut callers = Vec::new();
    for i in 0..6 {
        let endpoint = agent(i);
        callers.push(tokio::spawn(async move {
            let mut calls = Vec::new();
            let own = json!({ "file_paths": [format!("own{i}.rs")] });
            while start.elapsed() < end_at {
                calls.push(timed(&endpoint, start, "claim_file_lock", own.clone(), BOUND).await);
                calls.push(timed(&endpoint, start, "check_agent_status", json!({}), BOUND).await);
                let progress =
                    json!({ "task_id": "t", "status": "in_progress", "progress_percentage": 50 });
                calls.push(timed(&endpoint, start, "sync_progress", progress, BOUND).await);
                calls.push(timed(&endpoint, start, "release_file_lock", own.clone(), BOUND).await);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            calls
        }));
    }
    tokio::time::sleep_until((start + freeze_at).into()).await;
    let frozen = server.clone();
    tokio::task::spawn_blocking(move || frozen.freeze())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // During the freeze: a claim that waits, liveness, and a new agent's list.
    let wait = Duration::from_secs(3);
    let waiting = timed(
        &agent(1),
        start,
        "claim_file_lock",
        json!({ "file_paths": ["held.rs"], "wait_seconds": wait.as_secs() }),
        BOUND + wait,
    )
    .await;
    let health = http
        .get(format!("{}/health", servers[0].base))
        .send()
        .await
        .expect("/health");
    assert_eq!(health.status(), 200);
    let listed_at = Instant::now();
    let list = send(
        client()
            .post(format!(
                "{}/mcp/v2/claude/u__session__s__newcomer",
                servers[1].base
            ))
            .header("content-type", "application/json")
            .header("x-client-name", "claude code")
            .body(json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }).to_string()),
    )
    .await;
    let list_took = listed_at.elapsed();
    assert_eq!(list.status, 200, "{}", list.text);
    assert!(
        list.tool_names().contains(&"claim_file_lock".to_owned()),
        "{}",
        list.text
    );
    assert!(list_took < BOUND + SLACK, "tools/list took {list_took:?}");
    tokio::time::sleep_until((start + thaw_at).into()).await;
    let thawed = server.clone();
    tokio::task::spawn_blocking(move || thawed.thaw())
        .await
        .unwrap();
    let mut calls = vec![waiting];
    for caller in callers {
        calls.extend(caller.await.unwrap());
    }

    let late: Vec<&Timed> = calls.iter().filter(|c| c.took > c.bound + SLACK).collect();
    let unclear: Vec<&Timed> = calls
        .iter()
        .filter(|c| c.answer.as_ref().is_err_and(|e| !is_unavailable(e)))
        .collect();
    let during = |c: &&Timed| c.sent > freeze_at + Duration::from_millis(200) && c.sent < thaw_at;
    let unavailable = calls
        .iter()
        .filter(during)
        .filter(|c| c.answer.is_err())
        .count();
    let slowest = calls
        .iter()
        .max_by_key(|c| c.took)
        .map(|c| (c.tool, c.took));
    // The first success answered after the thaw, from the thaw.
    let recovered = calls
        .iter()
        .filter(|c| c.answer.is_ok() && c.sent + c.took > thaw_at)
        .map(|c| c.sent + c.took - thaw_at)
        .min();
    println!(
        "frozen 10 s: {} calls, {unavailable} unavailable during the freeze, slowest {slowest:?}, first success {recovered:?} after the thaw",
        calls.len()
    );
    assert!(late.is_empty(), "answered past their bound: {late:#?}");
    assert!(unclear.is_empty(), "unclear errors: {unclear:#?}");
    assert!(unavailable > 0, "the freeze was not seen");
    let recovered = recovered.expect("no call succeeded after the thaw");
    assert!(
        recovered < Duration::from_secs(5),
        "recovered after {recovered:?}"
    );
}

/// The database unavailable is one answer for every call (README, "When
/// the database is down"): a JSON-RPC error -32000 that says to retry, in
/// HTTP 200, whether the agent registered before or not, on the fast path
/// and through rmcp (a legacy session rmcp answers itself); `tools/list`
/// still lists the tools. SQLite's counterpart, a full disk, is
/// `full_disk.rs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgresql_down_every_call_gets_the_one_unavailable_answer() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = PgServer::start();
    let dir = tempfile::tempdir().unwrap();
    let coordinator =
        Coordinator::start_postgres(&server.create_database(), dir.path(), dir.path(), &[]);
    let registered = coordinator.url("u__session__s__a");
    let claim = |url: &str, path: &str| {
        client()
            .post(url)
            .header("content-type", "application/json")
            .header("user-agent", "claude-code/2.1.330 (sdk-cli)")
            .body(
                json!({ "jsonrpc": "2.0", "id": 7, "method": "tools/call",
                        "params": { "name": "claim_file_lock", "arguments": { "file_paths": [path] } } })
                .to_string(),
            )
    };
    let first = send(claim(&registered, "a.rs")).await;
    assert_eq!(first.structured()["success"], true, "{}", first.text);
    // A session of a protocol the fast path leaves to rmcp.
    let on_rmcp = coordinator.url("u__session__s__r");
    let opened = send(
        client()
            .post(&on_rmcp)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("user-agent", "claude-code/2.1.330 (sdk-cli)")
            .body(
                json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                    "protocolVersion": "2024-11-05", "capabilities": {},
                    "clientInfo": { "name": "claude-code", "version": "2" } } })
                .to_string(),
            ),
    )
    .await;
    assert_eq!(opened.status, 200, "{}", opened.text);
    let session = opened.headers["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let on_session = |path: &str| {
        claim(&on_rmcp, path)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", &session)
    };
    let granted = send(on_session("r.rs")).await;
    assert_eq!(granted.structured()["success"], true, "{}", granted.text);

    server.stop();
    let assert_unavailable = |what: &str, reply: &Reply| {
        assert_eq!(reply.status, 200, "{what}: {}", reply.text);
        assert_eq!(reply.error_code(), Some(-32000), "{what}: {}", reply.text);
        assert_eq!(reply.json["id"], 7, "{what}: {}", reply.text);
        let message = reply.error_message();
        assert!(
            message.starts_with("the coordination database is unavailable right now")
                && message.contains("retry"),
            "{what}: {message}"
        );
    };
    assert_unavailable(
        "a registered agent",
        &send(claim(&registered, "b.rs")).await,
    );
    // Its activity touch is due again, and fails first: the same answer.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_unavailable("its touch due", &send(claim(&registered, "c.rs")).await);
    assert_unavailable("through rmcp", &send(on_session("r2.rs")).await);
    let newcomer = coordinator.url("u__session__s__new");
    assert_unavailable("a new agent", &send(claim(&newcomer, "n.rs")).await);
    let listed = send(
        client()
            .post(&newcomer)
            .header("content-type", "application/json")
            .header("user-agent", "claude-code/2.1.330 (sdk-cli)")
            .body(json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }).to_string()),
    )
    .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert!(
        listed.tool_names().contains(&"claim_file_lock".to_owned()),
        "{}",
        listed.text
    );

    server.start_again();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = send(claim(&newcomer, "n.rs")).await;
        if reply.structured()["success"] == true {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not served again: {}",
            reply.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
