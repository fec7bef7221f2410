//! What of the coordination service is SQLite's own (the fallback check for
//! another process's writes on the file, the sweep of stale waiting rows)
//! and the wake rules alone; the waiting claims themselves run on both
//! backends in `waiting_tests.rs`. Shared helpers for both live here.

use std::sync::Arc;

use super::waiting_tests::b_waits_for_as_x;
use super::*;
use crate::store::behaviour::{Backend, Fixture};
use crate::store::sqlite::test_support::{open_temp, paths, register, scalar};
use ccmulti_model::Operation;

pub(super) fn request(agent: &str, list: &[&str]) -> ClaimRequest {
    ClaimRequest {
        session: "s".into(),
        agent: agent.into(),
        operation: Operation::Write,
        paths: paths(list),
        lease_ms: 60_000,
        idle_yield_ms: None,
    }
}

/// Test-side polling for a condition the code under test reaches on its own.
pub(super) async fn until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

pub(super) fn spawn_waiter(
    coord: &Coordinator,
    agent: &str,
    list: &[&str],
    seconds: u64,
) -> tokio::task::JoinHandle<WaitedClaim> {
    let coord = coord.clone();
    let request = request(agent, list);
    tokio::spawn(async move {
        coord
            .claim_waiting(request, std::time::Duration::from_secs(seconds))
            .await
            .unwrap()
    })
}

pub(super) async fn granted_to(waiter: tokio::task::JoinHandle<WaitedClaim>) -> WaitedClaim {
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

/// SQLite only: on PostgreSQL another coordinator's release arrives at once
/// by LISTEN/NOTIFY (`tests/it/postgres.rs`), with nothing left to fall back on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_processs_release_is_noticed_by_the_fallback_check() {
    let fx = Fixture::new(Backend::Sqlite).await;
    let coord = Coordinator::new(fx.store.clone());
    let waiter = b_waits_for_as_x(&fx, &coord, 5).await;
    // Nothing changed elsewhere yet: no wake-up, the waiter stays.
    coord.sweep().await;
    // `ccmulti release` is another store on the same file, in another process.
    fx.another()
        .await
        .force_release(
            &ForceSelector::Path {
                session_id: None,
                path: "x".into(),
            },
            "cli",
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    if waiter.is_finished() {
        panic!("only the fallback check can see it: {:?}", waiter.await);
    }
    coord.sweep().await;
    granted_to(waiter).await;
}

/// A dashboard following every write must not make waiting claims retry on
/// each one; a write by another process (or a lagging listener) wakes them.
#[tokio::test]
async fn waiters_wake_for_writes_elsewhere_but_not_for_every_write() {
    let queue = Arc::new(wait_queue::WaitQueue::default());
    let ticket = queue
        .join(
            crate::rules::waiting::Waiter {
                session: "s".into(),
                agent: "b".into(),
                operation: Operation::Write,
                targets: vec![crate::rules::targets::LockTarget::parse("x")],
            },
            &crate::rules::limits::Limits::default(),
        )
        .unwrap();
    let (feed, changes) = tokio::sync::broadcast::channel(8);
    tokio::spawn(wake_from_changes(changes, queue.clone()));
    let woken = |ms| tokio::time::timeout(std::time::Duration::from_millis(ms), ticket.woken());
    feed.send(Change::Written).unwrap();
    assert!(woken(100).await.is_err(), "a followed write woke a waiter");
    feed.send(Change::Other).unwrap();
    assert!(
        woken(2_000).await.is_ok(),
        "another process's write did not wake it"
    );
}

#[test]
fn a_sweep_forgets_waiting_rows_past_their_deadline() {
    let (_d, store, clock) = open_temp();
    register(&store, &["b"]);
    store
        .record_waiter(&request("b", &["x"]), store.now_ms() + 1_000)
        .unwrap();
    assert_eq!(store.snapshot(0).unwrap().waiters.len(), 1);
    clock.advance_ms(1_001);
    store.sweep_expired().unwrap();
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM lock_waiters"),
        0,
        "the row of a claim past its deadline stays"
    );
}
