use std::collections::BTreeSet;

use super::*;
use crate::rules::virtual_user::parse;
use crate::store::test_support::{T0, open_temp};
use crate::store::{ClaimRequest, WaitedClaim};

fn paths(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|p| p.to_string()).collect()
}

fn register(store: &Store, agents: &[&str]) {
    for a in agents {
        store
            .touch_agent(&parse(&format!("u__session__s__{a}")).unwrap(), "url")
            .unwrap();
    }
}

fn event_kinds(store: &Store) -> Vec<String> {
    let mut kinds: Vec<_> = store
        .snapshot(1000)
        .unwrap()
        .events
        .into_iter()
        .map(|e| e.kind)
        .collect();
    kinds.reverse();
    kinds
}

#[test]
fn grant_conflict_release_and_events() {
    let (_d, store, _clock) = open_temp();
    register(&store, &["a", "b"]);
    let ClaimOutcome::Granted(g) = store
        .claim("s", "a", Operation::Write, &paths(&["x"]), 10)
        .unwrap()
    else {
        panic!("expected a grant");
    };
    assert_eq!(g[0].expires_at_ms, T0 + 600_000);
    let ClaimOutcome::Conflicted(c) = store
        .claim("s", "b", Operation::Write, &paths(&["x", "y"]), 10)
        .unwrap()
    else {
        panic!("expected a conflict");
    };
    assert_eq!((c[0].holder.as_str(), c[0].seconds_left), ("a", 600));
    // All or nothing: y was not granted to b.
    assert_eq!(store.session_view("s").unwrap().locks.len(), 1);
    // b cannot release a's lock.
    let r = store
        .release("s", "b", &ReleaseScope::Paths(paths(&["x"])))
        .unwrap();
    assert!(r.released.is_empty());
    assert_eq!(r.not_held, ["x"]);
    let r = store.release("s", "a", &ReleaseScope::All).unwrap();
    assert_eq!(r.released.len(), 1);
    assert!(store.session_view("s").unwrap().locks.is_empty());
    assert_eq!(event_kinds(&store), ["granted", "conflict", "released"]);
}

#[test]
fn fencing_tokens_only_grow_and_survive_deletion() {
    let (_d, store, _clock) = open_temp();
    register(&store, &["a"]);
    let mut last = 0;
    for _ in 0..5 {
        let ClaimOutcome::Granted(g) = store
            .claim("s", "a", Operation::Write, &paths(&["x", "y"]), 1)
            .unwrap()
        else {
            panic!()
        };
        for lock in &g {
            assert!(lock.fencing_token > last);
            last = lock.fencing_token;
        }
        store.release("s", "a", &ReleaseScope::All).unwrap();
    }
    // A renewal keeps the token of the lease it extends.
    let ClaimOutcome::Granted(first) = store
        .claim("s", "a", Operation::Write, &paths(&["z"]), 1)
        .unwrap()
    else {
        panic!()
    };
    let ClaimOutcome::Granted(again) = store
        .claim("s", "a", Operation::Write, &paths(&["z"]), 5)
        .unwrap()
    else {
        panic!()
    };
    assert!(again[0].renewed);
    assert_eq!(again[0].fencing_token, first[0].fencing_token);
    assert_eq!(again[0].expires_at_ms, T0 + 5 * 60_000);
}

#[test]
fn expiry_with_an_injected_clock_is_recorded_exactly_once() {
    let (_d, store, clock) = open_temp();
    register(&store, &["a", "b"]);
    store
        .claim("s", "a", Operation::Write, &paths(&["x"]), 1)
        .unwrap();
    clock.advance_ms(59_999);
    assert!(matches!(
        store
            .claim("s", "b", Operation::Write, &paths(&["x"]), 1)
            .unwrap(),
        ClaimOutcome::Conflicted(_)
    ));
    clock.advance_ms(1);
    // Expired locks stop counting at once, before any sweep.
    assert!(store.session_view("s").unwrap().locks.is_empty());
    assert!(matches!(
        store
            .claim("s", "b", Operation::Write, &paths(&["x"]), 1)
            .unwrap(),
        ClaimOutcome::Granted(_)
    ));
    assert_eq!(store.sweep_expired().unwrap(), 0);
    clock.advance_ms(60_000);
    assert_eq!(store.sweep_expired().unwrap(), 1);
    assert_eq!(store.sweep_expired().unwrap(), 0);
    let kinds = event_kinds(&store);
    assert_eq!(
        kinds,
        ["granted", "conflict", "expired", "granted", "expired"]
    );
}

#[test]
fn readers_share_and_a_writer_waits_for_them() {
    let (_d, store, _clock) = open_temp();
    register(&store, &["a", "b", "c"]);
    for r in ["a", "b"] {
        assert!(matches!(
            store
                .claim("s", r, Operation::Read, &paths(&["x"]), 5)
                .unwrap(),
            ClaimOutcome::Granted(_)
        ));
    }
    let ClaimOutcome::Conflicted(c) = store
        .claim("s", "c", Operation::Write, &paths(&["x"]), 5)
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(c.len(), 2);
    store.release("s", "a", &ReleaseScope::All).unwrap();
    store.release("s", "b", &ReleaseScope::All).unwrap();
    assert!(matches!(
        store
            .claim("s", "c", Operation::Write, &paths(&["x"]), 5)
            .unwrap(),
        ClaimOutcome::Granted(_)
    ));
}

#[test]
fn forced_release_is_recorded_with_who_did_it() {
    let (_d, store, _clock) = open_temp();
    register(&store, &["a"]);
    store
        .claim("s", "a", Operation::Write, &paths(&["x", "y"]), 5)
        .unwrap();
    let released = store
        .force_release(
            &ForceSelector::Path {
                session_id: None,
                path: "x".into(),
            },
            "dashboard",
        )
        .unwrap();
    assert_eq!(released.len(), 1);
    assert_eq!(released[0].0, "s");
    let snap = store.snapshot(10).unwrap();
    assert_eq!(snap.events[0].kind, "forced_release");
    assert_eq!(
        snap.events[0].detail.as_deref(),
        Some("released by dashboard")
    );
    let released = store
        .force_release(
            &ForceSelector::Agent {
                session_id: Some("s".into()),
                agent_id: "a".into(),
            },
            "cli",
        )
        .unwrap();
    assert_eq!(released.len(), 1);
    assert!(store.snapshot(10).unwrap().locks.is_empty());
}

#[test]
fn thirty_two_threads_racing_for_one_path_get_one_grant() {
    let (_d, store, _clock) = open_temp();
    let names: Vec<String> = (0..32).map(|i| format!("agent{i}")).collect();
    register(
        &store,
        &names.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(32));
    let handles: Vec<_> = names
        .into_iter()
        .map(|name| {
            let store = store.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                (
                    name.clone(),
                    store
                        .claim("s", &name, Operation::Write, &paths(&["hot.rs"]), 5)
                        .unwrap(),
                )
            })
        })
        .collect();
    let outcomes: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let winners: Vec<_> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, ClaimOutcome::Granted(_)))
        .collect();
    assert_eq!(winners.len(), 1);
    let winner = &winners[0].0;
    for (_, o) in &outcomes {
        if let ClaimOutcome::Conflicted(c) = o {
            assert_eq!(&c[0].holder, winner);
        }
    }
}

#[test]
fn directory_and_glob_locks_are_found_by_every_claim_they_overlap() {
    let (_d, store, _clock) = open_temp();
    register(&store, &["a", "b"]);
    let claim = |agent: &str, list: &[&str]| {
        store
            .claim("s", agent, Operation::Write, &paths(list), 5)
            .unwrap()
    };
    assert!(matches!(
        claim("a", &["src/api/"]),
        ClaimOutcome::Granted(_)
    ));
    let ClaimOutcome::Conflicted(c) = claim("b", &["src/api/v1/x.rs"]) else {
        panic!("a file under a held directory conflicts");
    };
    assert_eq!(
        (c[0].held_path.as_str(), c[0].holder.as_str()),
        ("src/api/", "a")
    );
    assert!(matches!(
        claim("b", &["src/apis.rs"]),
        ClaimOutcome::Granted(_)
    ));
    // A pattern claim finds the files under its literal prefix, and other patterns.
    let ClaimOutcome::Conflicted(c) = claim("a", &["src/*.rs"]) else {
        panic!("src/*.rs matches b's src/apis.rs");
    };
    assert_eq!(c[0].held_path, "src/apis.rs");
    assert!(matches!(
        claim("b", &["tests/**/*.rs"]),
        ClaimOutcome::Granted(_)
    ));
    assert!(matches!(claim("a", &["docs/**"]), ClaimOutcome::Granted(_)));
    assert!(matches!(
        claim("b", &["docs/"]),
        ClaimOutcome::Conflicted(_)
    ));
    // The same pattern again renews; releasing it names the same string.
    let ClaimOutcome::Granted(g) = claim("a", &["src/api/"]) else {
        panic!("renewal");
    };
    assert!(g[0].renewed);
    let r = store
        .release("s", "a", &ReleaseScope::Paths(paths(&["src/api/"])))
        .unwrap();
    assert_eq!(r.released.len(), 1);
    assert!(matches!(
        claim("b", &["src/api/v1/x.rs"]),
        ClaimOutcome::Granted(_)
    ));
}

#[test]
fn the_pattern_index_matches_the_rules_and_is_used() {
    assert!(
        crate::store::migrations::V1.contains(&format!("WHERE {PATTERN_ROWS}")),
        "V1__initial.sql's idx_file_locks_patterns must be spelled as PATTERN_ROWS"
    );
    let (_d, store, _clock) = open_temp();
    register(&store, &["a"]);
    let samples = [
        "src/a.rs", "src/", "src/*.rs", "a?", "[ab]", "{a,b}", "a\\*", "a]b", "a}b", "a/b/c",
    ];
    store
        .read(|c| {
            for path in samples {
                let sql_says: bool = c.query_row(
                    &format!("SELECT {PATTERN_ROWS} FROM (SELECT ?1 AS file_path)"),
                    [path],
                    |r| r.get(0),
                )?;
                assert_eq!(
                    sql_says,
                    crate::rules::targets::is_pattern(path),
                    "{path}"
                );
            }
            let plan: Vec<String> = c
                .prepare(&format!(
                    "EXPLAIN QUERY PLAN SELECT id FROM file_locks WHERE session_id = ?1 AND {PATTERN_ROWS}"
                ))?
                .query_map(["s"], |r| r.get(3))?
                .collect::<rusqlite::Result<_>>()?;
            assert!(
                plan.iter().any(|p| p.contains("idx_file_locks_patterns")),
                "{plan:?}"
            );
            Ok(())
        })
        .unwrap();
}

#[test]
fn prefix_ranges_end_where_the_prefix_does() {
    assert_eq!(prefix_upper_bound("src/").as_deref(), Some("src0"));
    assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
    assert_eq!(prefix_upper_bound("\u{D7FF}").as_deref(), Some("\u{E000}"));
    assert_eq!(prefix_upper_bound(""), None);
    assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
}

fn request(agent: &str, list: &[&str]) -> ClaimRequest {
    ClaimRequest {
        session: "s".into(),
        agent: agent.into(),
        operation: Operation::Write,
        paths: paths(list),
        duration_minutes: 1,
    }
}

/// Test-side polling for a condition the code under test reaches on its own.
async fn until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

fn spawn_waiter(
    store: &Store,
    agent: &str,
    list: &[&str],
    seconds: u64,
) -> tokio::task::JoinHandle<WaitedClaim> {
    let store = store.clone();
    let request = request(agent, list);
    tokio::spawn(async move {
        store
            .claim_waiting(request, std::time::Duration::from_secs(seconds))
            .await
            .unwrap()
    })
}

async fn granted_to(waiter: tokio::task::JoinHandle<WaitedClaim>) -> WaitedClaim {
    let waited = tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
        .await
        .expect("the waiter was woken")
        .unwrap();
    assert!(
        matches!(waited.outcome, ClaimOutcome::Granted(_)),
        "{waited:?}"
    );
    waited
}

/// a holds x for `minutes`; b waits for it (queued, its first attempt refused).
async fn b_waits_for_as_x(store: &Store, minutes: i64) -> tokio::task::JoinHandle<WaitedClaim> {
    register(store, &["a", "b"]);
    store
        .claim("s", "a", Operation::Write, &paths(&["x"]), minutes)
        .unwrap();
    let waiter = spawn_waiter(store, "b", &["x"], 60);
    until("b waits", || store.waiting_claims() == 1).await;
    // b joins the queue just before its first attempt; let that attempt meet a's lock.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(!waiter.is_finished());
    waiter
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiry_swept_wakes_a_waiting_claim() {
    let (_d, store, clock) = open_temp();
    let waiter = b_waits_for_as_x(&store, 1).await;
    // The lease ends on the store's clock; only the sweep can tell the waiter,
    // whose own timer runs on real time and would wait a minute.
    clock.advance_ms(60_000);
    let swept = std::time::Instant::now();
    assert_eq!(store.sweep_expired().unwrap(), 1);
    granted_to(waiter).await;
    println!("granted {:?} after the sweep", swept.elapsed());
    assert_eq!(store.waiting_claims(), 0);
    assert_eq!(
        event_kinds(&store),
        ["granted", "expired", "granted"],
        "waiting records no conflict per retry"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releases_and_forced_releases_wake_waiters_in_arrival_order() {
    let (_d, store, _clock) = open_temp();
    register(&store, &["a", "b", "c", "d"]);
    store
        .claim("s", "a", Operation::Write, &paths(&["src/api/"]), 5)
        .unwrap();
    let b = spawn_waiter(&store, "b", &["src/api/x.rs"], 30);
    until("b waits", || store.waiting_claims() == 1).await;
    let c = spawn_waiter(&store, "c", &["src/api/**"], 30);
    until("c waits", || store.waiting_claims() == 2).await;
    // d wants nothing the others want: it need not queue behind them.
    let d = spawn_waiter(&store, "d", &["docs/"], 30);
    granted_to(d).await;
    store
        .force_release(
            &ForceSelector::Agent {
                session_id: None,
                agent_id: "a".into(),
            },
            "cli",
        )
        .unwrap();
    granted_to(b).await;
    assert!(!c.is_finished());
    store.release("s", "b", &ReleaseScope::All).unwrap();
    granted_to(c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_answers_with_the_conflict_and_records_it_once() {
    let (_d, store, _clock) = open_temp();
    register(&store, &["a", "b"]);
    store
        .claim("s", "a", Operation::Write, &paths(&["x"]), 5)
        .unwrap();
    let waited = store
        .claim_waiting(request("b", &["x"]), std::time::Duration::from_millis(300))
        .await
        .unwrap();
    let ClaimOutcome::Conflicted(c) = waited.outcome else {
        panic!("{waited:?}");
    };
    assert_eq!(c[0].holder, "a");
    assert!(waited.waited >= std::time::Duration::from_millis(300));
    assert_eq!(store.waiting_claims(), 0);
    assert_eq!(event_kinds(&store), ["granted", "conflict"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_whose_future_is_dropped_leaves_no_phantom() {
    let (_d, store, _clock) = open_temp();
    register(&store, &["a", "b", "c"]);
    store
        .claim("s", "a", Operation::Write, &paths(&["x"]), 5)
        .unwrap();
    let gone = spawn_waiter(&store, "b", &["x"], 60);
    until("b waits", || store.waiting_claims() == 1).await;
    let c = spawn_waiter(&store, "c", &["x"], 60);
    until("c waits", || store.waiting_claims() == 2).await;
    gone.abort();
    until("b left", || store.waiting_claims() == 1).await;
    store.release("s", "a", &ReleaseScope::All).unwrap();
    granted_to(c).await;
    let view = store.session_view("s").unwrap();
    assert_eq!(view.locks.len(), 1);
    assert_eq!(view.locks[0].agent_id, "c");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_processs_release_is_noticed_by_the_fallback_check() {
    let (dir, store, clock) = open_temp();
    let waiter = b_waits_for_as_x(&store, 5).await;
    // Nothing changed elsewhere yet: no wake-up, the waiter stays.
    store.wake_waiters_if_changed_elsewhere().unwrap();
    // `ccmulti release` is another Store on the same file, in another process.
    let other = Store::open(
        &dir.path().join("c.db"),
        clock.clone(),
        crate::store::Durability::Normal,
    )
    .unwrap();
    other
        .force_release(
            &ForceSelector::Path {
                session_id: None,
                path: "x".into(),
            },
            "cli",
        )
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    if waiter.is_finished() {
        panic!("only the fallback check can see it: {:?}", waiter.await);
    }
    store.wake_waiters_if_changed_elsewhere().unwrap();
    granted_to(waiter).await;
}
