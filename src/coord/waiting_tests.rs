//! The service's waiting claims on both backends (SQLite in a temporary
//! file, a real PostgreSQL from the testkit): each wake-up comes from that
//! store's own change feed.

use super::tests::{granted_to, spawn_waiter, until};
use super::*;
use crate::rules::locks::ReleaseScope;
use crate::store::CoordStore;
use crate::store::behaviour::{Backend, Fixture, claim, event_kinds, on_both_backends, register};
use ccmulti_model::Operation;
use ccmulti_model::tools::WaitCycle;

on_both_backends!(
    an_expiry_swept_wakes_a_waiting_claim,
    releases_and_forced_releases_wake_waiters_in_arrival_order,
    a_timeout_answers_with_the_conflict_and_records_it_once,
    a_waiter_whose_future_is_dropped_leaves_no_phantom,
    a_waiting_claim_shows_until_granted_or_gone,
    a_timed_out_claim_leaves_no_row_and_a_start_clears_stale_ones,
    a_wait_closing_a_cycle_of_two_is_answered_at_once,
    a_wait_closing_a_cycle_of_three_is_answered_at_once,
    waits_closing_one_cycle_together_are_told_once,
    a_granted_waiting_claim_is_not_told_to_claim_what_it_holds,
);

/// b's edit was refused (a conflict recorded), b waited for x and was
/// granted it: the release that let it in is no news telling b to claim x.
async fn a_granted_waiting_claim_is_not_told_to_claim_what_it_holds(fx: Fixture) {
    let store = fx.store.as_ref();
    let coord = Coordinator::new(fx.store.clone());
    register(store, &["a", "b"]).await;
    claim(store, "a", Operation::Write, &["x", "y"], 5).await;
    let refused = claim(store, "b", Operation::Write, &["x"], 5).await;
    assert!(matches!(refused, ClaimOutcome::Conflicted(_)));
    claim(store, "b", Operation::Write, &["y"], 5).await;
    let waiter = spawn_waiter(&coord, "b", &["x"], 30);
    until_shown(store, "b waits", 1).await;
    store.release("s", "a", &ReleaseScope::All).await.unwrap();
    granted_to(waiter).await;
    let news = store.take_news("s", "b").await.unwrap();
    assert!(
        news.iter()
            .all(|n| n.kind() != "wanted_lock_freed" || n.path() != Some("x")),
        "{news:?}"
    );
    // y was refused and freed too, but b does not hold it: still news.
    let y: Vec<String> = news
        .iter()
        .filter(|n| n.path() == Some("y"))
        .map(|n| n.message())
        .collect();
    assert_eq!(
        y,
        ["a released y, which you wanted; it is free now: claim_file_lock it before editing"]
    );
}

/// `agent` claims `path` waiting for a minute, and is answered well before:
/// refused, with the cycle.
async fn told_of_a_cycle(coord: &Coordinator, agent: &str, path: &str) -> WaitCycle {
    let waited = coord
        .claim_waiting(one_path(agent, path), std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        waited.waited < std::time::Duration::from_secs(5),
        "{waited:?}"
    );
    assert!(
        matches!(waited.outcome, ClaimOutcome::Conflicted(_)),
        "{waited:?}"
    );
    waited.cycle.expect("the cycle")
}

/// Each wait of the cycle as (agent, what it wants, who holds it).
fn waits_of(cycle: &WaitCycle) -> Vec<(&str, &str, &str)> {
    cycle
        .waits
        .iter()
        .map(|w| (w.agent.as_str(), w.wants[0].as_str(), w.held_by.as_str()))
        .collect()
}

async fn a_wait_closing_a_cycle_of_two_is_answered_at_once(fx: Fixture) {
    let store = fx.store.as_ref();
    let coord = Coordinator::new(fx.store.clone());
    register(store, &["a", "b"]).await;
    claim(store, "a", Operation::Write, &["build.rs"], 15).await;
    claim(store, "b", Operation::Write, &["ci.yml"], 15).await;
    let b = spawn_waiter(&coord, "b", &["build.rs"], 60);
    until_shown(store, "b waits", 1).await;
    // a, on another coordinator (or process) of the same database, sees b's wait.
    let elsewhere = Coordinator::new(fx.another().await);
    let cycle = told_of_a_cycle(&elsewhere, "a", "ci.yml").await;
    assert_eq!(
        waits_of(&cycle),
        [("a", "ci.yml", "b"), ("b", "build.rs", "a")]
    );
    assert_eq!(cycle.release, ["build.rs"]);
    // a was not written down as waiting; b still waits, until a does as told.
    assert_eq!(shown(store).await.len(), 1);
    assert!(!b.is_finished());
    store
        .release(
            "s",
            "a",
            &ReleaseScope::Paths(crate::store::behaviour::paths(&["build.rs"])),
        )
        .await
        .unwrap();
    granted_to(b).await;
}

async fn a_wait_closing_a_cycle_of_three_is_answered_at_once(fx: Fixture) {
    let store = fx.store.as_ref();
    let coord = Coordinator::new(fx.store.clone());
    register(store, &["a", "b", "c"]).await;
    claim(store, "a", Operation::Write, &["src/"], 15).await;
    claim(store, "b", Operation::Write, &["x"], 15).await;
    claim(store, "c", Operation::Write, &["y"], 15).await;
    let b = spawn_waiter(&coord, "b", &["y"], 60);
    until_shown(store, "b waits", 1).await;
    let c = spawn_waiter(&coord, "c", &["src/lib.rs"], 60);
    until_shown(store, "c waits", 2).await;
    let cycle = told_of_a_cycle(&coord, "a", "x").await;
    assert_eq!(
        waits_of(&cycle),
        [("a", "x", "b"), ("b", "y", "c"), ("c", "src/lib.rs", "a")]
    );
    assert_eq!(cycle.release, ["src/"]);
    assert!(!b.is_finished() && !c.is_finished());
    store.release("s", "a", &ReleaseScope::All).await.unwrap();
    granted_to(c).await;
    b.abort();
}

/// Two claims closing one cycle at the same moment: the store writes waits
/// one at a time, so exactly one of them is told, and the other waits.
async fn waits_closing_one_cycle_together_are_told_once(fx: Fixture) {
    let store = fx.store.as_ref();
    let coord = Coordinator::new(fx.store.clone());
    register(store, &["a", "b"]).await;
    claim(store, "a", Operation::Write, &["x"], 15).await;
    claim(store, "b", Operation::Write, &["y"], 15).await;
    let a = spawn_waiter(&coord, "a", &["y"], 3);
    let b = spawn_waiter(&coord, "b", &["x"], 3);
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let told: Vec<&WaitedClaim> = [&a, &b].into_iter().filter(|w| w.cycle.is_some()).collect();
    assert_eq!(told.len(), 1, "{a:?} {b:?}");
    assert!(
        told[0].waited < std::time::Duration::from_secs(2),
        "{told:?}"
    );
}

/// a holds x for `minutes`; b waits for it (queued, its first attempt refused).
pub(super) async fn b_waits_for_as_x(
    fx: &Fixture,
    coord: &Coordinator,
    minutes: i64,
) -> tokio::task::JoinHandle<WaitedClaim> {
    let store = fx.store.as_ref();
    register(store, &["a", "b"]).await;
    let held = claim(store, "a", Operation::Write, &["x"], minutes).await;
    assert!(matches!(held, ClaimOutcome::Granted(_)), "{held:?}");
    let waiter = spawn_waiter(coord, "b", &["x"], 60);
    until("b waits", || coord.waiting_claims() == 1).await;
    // b joins the queue just before its first attempt; let that attempt meet a's lock.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(!waiter.is_finished());
    waiter
}

async fn an_expiry_swept_wakes_a_waiting_claim(fx: Fixture) {
    let coord = Coordinator::new(fx.store.clone());
    let waiter = b_waits_for_as_x(&fx, &coord, 1).await;
    // The lease ends on the store's clock; only the sweep can tell the waiter,
    // whose own timer runs on real time and would wait a minute.
    fx.clock.advance_ms(60_000);
    assert_eq!(fx.store.sweep_expired().await.unwrap(), 1);
    granted_to(waiter).await;
    assert_eq!(coord.waiting_claims(), 0);
    assert_eq!(
        event_kinds(fx.store.as_ref()).await,
        ["granted", "expired", "granted"],
        "waiting records no conflict per retry"
    );
}

async fn releases_and_forced_releases_wake_waiters_in_arrival_order(fx: Fixture) {
    let store = fx.store.as_ref();
    let coord = Coordinator::new(fx.store.clone());
    register(store, &["a", "b", "c", "d"]).await;
    claim(store, "a", Operation::Write, &["src/api/"], 5).await;
    let b = spawn_waiter(&coord, "b", &["src/api/x.rs"], 30);
    until("b waits", || coord.waiting_claims() == 1).await;
    let c = spawn_waiter(&coord, "c", &["src/api/**"], 30);
    until("c waits", || coord.waiting_claims() == 2).await;
    // d wants nothing the others want: it need not queue behind them.
    let d = spawn_waiter(&coord, "d", &["docs/"], 30);
    granted_to(d).await;
    store
        .force_release(
            &ForceSelector::Agent {
                session_id: None,
                agent_id: "a".into(),
            },
            "cli",
        )
        .await
        .unwrap();
    granted_to(b).await;
    assert!(!c.is_finished());
    store.release("s", "b", &ReleaseScope::All).await.unwrap();
    granted_to(c).await;
}

async fn a_timeout_answers_with_the_conflict_and_records_it_once(fx: Fixture) {
    let store = fx.store.as_ref();
    let coord = Coordinator::new(fx.store.clone());
    register(store, &["a", "b"]).await;
    claim(store, "a", Operation::Write, &["x"], 5).await;
    let waited = coord
        .claim_waiting(
            super::tests::request("b", &["x"]),
            std::time::Duration::from_millis(300),
        )
        .await
        .unwrap();
    let ClaimOutcome::Conflicted(c) = waited.outcome else {
        panic!("{waited:?}");
    };
    assert_eq!(c[0].holder, "a");
    assert!(waited.waited >= std::time::Duration::from_millis(300));
    assert_eq!(coord.waiting_claims(), 0);
    assert_eq!(event_kinds(store).await, ["granted", "conflict"]);
}

async fn a_waiter_whose_future_is_dropped_leaves_no_phantom(fx: Fixture) {
    let store = fx.store.as_ref();
    let coord = Coordinator::new(fx.store.clone());
    register(store, &["a", "b", "c"]).await;
    claim(store, "a", Operation::Write, &["x"], 5).await;
    let gone = spawn_waiter(&coord, "b", &["x"], 60);
    until("b waits", || coord.waiting_claims() == 1).await;
    let c = spawn_waiter(&coord, "c", &["x"], 60);
    until("c waits", || coord.waiting_claims() == 2).await;
    gone.abort();
    until("b left", || coord.waiting_claims() == 1).await;
    store.release("s", "a", &ReleaseScope::All).await.unwrap();
    granted_to(c).await;
    let view = store.session_view("s").await.unwrap();
    assert_eq!(view.locks.len(), 1);
    assert_eq!(view.locks[0].agent_id, "c");
}

fn one_path(agent: &str, path: &str) -> ClaimRequest {
    ClaimRequest {
        lease_ms: 5 * 60_000,
        idle_yield_ms: None,
        ..super::tests::request(agent, &[path])
    }
}

/// The waiting claims the store shows other processes: agent, paths, blockers.
async fn shown(store: &dyn CoordStore) -> Vec<(String, Vec<String>, usize)> {
    store
        .snapshot(0)
        .await
        .unwrap()
        .waiters
        .into_iter()
        .map(|w| (w.agent_id, w.paths, w.blocked_by.len()))
        .collect()
}

/// Test-side polling until the store shows `count` waiting claims.
async fn until_shown(store: &dyn CoordStore, what: &str, count: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while shown(store).await.len() != count {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

async fn a_waiting_claim_shows_until_granted_or_gone(fx: Fixture) {
    let store = fx.store.as_ref();
    let coord = Coordinator::new(fx.store.clone());
    register(store, &["a", "b", "c"]).await;
    // Granted at once: no row written.
    let now = coord
        .claim_waiting(one_path("a", "src/**"), std::time::Duration::from_secs(5))
        .await
        .unwrap();
    assert!(matches!(now.outcome, ClaimOutcome::Granted(_)));
    assert!(shown(store).await.is_empty());

    let spawn = |agent: &'static str| {
        let coord = coord.clone();
        tokio::spawn(async move {
            coord
                .claim_waiting(
                    one_path(agent, "src/x.rs"),
                    std::time::Duration::from_secs(30),
                )
                .await
                .unwrap()
        })
    };
    let b = spawn("b");
    until_shown(store, "b shows", 1).await;
    let c = spawn("c");
    until_shown(store, "c shows", 2).await;
    let snapshot = store.snapshot(0).await.unwrap();
    assert_eq!(snapshot.waiters[0].agent_id, "b");
    assert_eq!(
        snapshot.waiters[0].blocked_by,
        [snapshot.locks[0].lock_id.clone()]
    );
    assert_eq!(snapshot.waiters[0].paths, ["src/x.rs"]);
    assert!(snapshot.waiters[0].deadline_ms > snapshot.now_ms);

    // c's client goes away: its row goes with it.
    c.abort();
    until_shown(store, "c gone", 1).await;
    // a releases: b is granted and its row goes.
    store.release("s", "a", &ReleaseScope::All).await.unwrap();
    let granted = tokio::time::timeout(std::time::Duration::from_secs(5), b)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(granted.outcome, ClaimOutcome::Granted(_)));
    assert!(shown(store).await.is_empty());
}

async fn a_timed_out_claim_leaves_no_row_and_a_start_clears_stale_ones(fx: Fixture) {
    let store = fx.store.as_ref();
    let coord = Coordinator::new(fx.store.clone());
    register(store, &["a", "b"]).await;
    claim(store, "a", Operation::Write, &["x"], 5).await;
    let waited = coord
        .claim_waiting(one_path("b", "x"), std::time::Duration::from_millis(200))
        .await
        .unwrap();
    assert!(matches!(waited.outcome, ClaimOutcome::Conflicted(_)));
    assert!(shown(store).await.is_empty());
    // A row a crashed coordinator left behind.
    let now = crate::clock::Clock::now_ms(fx.clock.as_ref());
    store
        .record_waiter(&one_path("b", "x"), now + 60_000)
        .await
        .unwrap();
    assert_eq!(shown(store).await.len(), 1);
    if fx.backend == Backend::Postgres {
        // Other coordinators share the database: a starting one cannot tell
        // a crashed one's rows from a live one's, so rows go at their deadline.
        assert_eq!(store.clear_waiters().await.unwrap(), 0);
        fx.clock.advance_ms(60_001);
    }
    assert_eq!(store.clear_waiters().await.unwrap(), 1);
    assert!(shown(store).await.is_empty());
}
