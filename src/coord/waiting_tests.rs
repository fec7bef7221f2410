//! The service's waiting claims on both backends (SQLite in a temporary
//! file, a real PostgreSQL from the testkit): each wake-up comes from that
//! store's own change feed.

use super::tests::{granted_to, spawn_waiter, until};
use super::*;
use crate::rules::locks::{Operation, ReleaseScope};
use crate::store::behaviour::{Fixture, claim, event_kinds, on_both_backends, register};

on_both_backends!(
    an_expiry_swept_wakes_a_waiting_claim,
    releases_and_forced_releases_wake_waiters_in_arrival_order,
    a_timeout_answers_with_the_conflict_and_records_it_once,
    a_waiter_whose_future_is_dropped_leaves_no_phantom,
);

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
