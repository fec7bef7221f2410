//! Steps of the wall clock, with the injected clock: a step back leaves every
//! lease the time it had left, a step nobody saw leaves none more than the
//! longest grant, and a step forward expires what it ran out, each with its
//! `expired` event ([`crate::rules::clock_step`]).

use std::sync::Arc;

use super::*;
use crate::rules::clock_step::MAX_LEASE_MS;
use crate::store::SqliteStore;
use crate::store::sqlite::test_support::{event_kinds, open_temp, paths, register};
use ccmulti_model::Operation;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

fn request(agent: &str, path: &str, minutes: i64) -> ClaimRequest {
    ClaimRequest {
        session: "s".into(),
        agent: agent.into(),
        operation: Operation::Write,
        paths: paths(&[path]),
        lease_ms: minutes * 60_000,
        idle_yield_ms: None,
    }
}

async fn grant(coord: &Coordinator, agent: &str, path: &str, minutes: i64) {
    let outcome = coord
        .claim_now(&request(agent, path, minutes))
        .await
        .unwrap();
    assert!(matches!(outcome, ClaimOutcome::Granted(_)), "{outcome:?}");
}

/// Each live lease's path and the milliseconds it has left.
fn time_left(store: &SqliteStore) -> Vec<(String, i64)> {
    let now = store.now_ms();
    let mut left: Vec<_> = store
        .snapshot(0)
        .unwrap()
        .locks
        .into_iter()
        .map(|l| (l.path, l.expires_at_ms - now))
        .collect();
    left.sort();
    left
}

fn expired_events(store: &SqliteStore) -> usize {
    event_kinds(store)
        .iter()
        .filter(|k| *k == "expired")
        .count()
}

#[tokio::test]
async fn a_step_back_leaves_every_lease_the_time_it_had_left() {
    let (_dir, store, clock) = open_temp();
    register(&store, &["a", "b"]);
    let coord = Coordinator::new(Arc::new(store.clone()));
    grant(&coord, "a", "x.rs", 15).await;
    grant(&coord, "b", "y.rs", 60).await;
    coord.sweep().await;
    clock.advance_ms(-HOUR);
    coord.sweep().await;
    let left = time_left(&store);
    assert_eq!(left.len(), 2, "{left:?}");
    for ((path, left), granted) in left.iter().zip([15 * MINUTE, 60 * MINUTE]) {
        // Pulled back by the step as seen: the hour, plus the moment between sweeps.
        assert!(
            *left <= granted && *left > granted - 2_000,
            "{path} has {left} ms left of {granted} granted"
        );
    }
    // The lease still holds, and runs out when it was granted to.
    let blocked = coord.claim_now(&request("b", "x.rs", 5)).await.unwrap();
    assert!(matches!(blocked, ClaimOutcome::Conflicted(_)));
    clock.advance_ms(15 * MINUTE);
    coord.sweep().await;
    assert_eq!(time_left(&store).len(), 1, "x.rs expired on time");
    assert_eq!(expired_events(&store), 1);
    grant(&coord, "b", "x.rs", 5).await;
}

#[tokio::test]
async fn after_a_step_nobody_saw_no_lease_keeps_more_than_the_longest_grant() {
    let (_dir, store, clock) = open_temp();
    register(&store, &["a"]);
    {
        let before = Coordinator::new(Arc::new(store.clone()));
        grant(&before, "a", "x.rs", 15).await;
        grant(&before, "a", "y.rs", 1).await;
    }
    // Stopped, the clock set back two hours, started again: no earlier look.
    clock.advance_ms(-2 * HOUR);
    let coord = Coordinator::new(Arc::new(store.clone()));
    coord.sweep().await;
    let left = time_left(&store);
    assert_eq!(
        left,
        [
            ("x.rs".to_owned(), MAX_LEASE_MS),
            ("y.rs".to_owned(), MAX_LEASE_MS)
        ],
        "capped at the longest grant, not 2 h 15 min"
    );
}

#[tokio::test]
async fn a_step_forward_expires_what_it_ran_out_with_an_event_each() {
    let (_dir, store, clock) = open_temp();
    register(&store, &["a", "b"]);
    let coord = Coordinator::new(Arc::new(store.clone()));
    for path in ["a.rs", "b.rs", "c.rs"] {
        grant(&coord, "a", path, 15).await;
    }
    grant(&coord, "a", "long.rs", 60).await;
    coord.sweep().await;
    clock.advance_ms(HOUR - 10 * MINUTE);
    coord.sweep().await;
    assert_eq!(expired_events(&store), 3, "{:?}", event_kinds(&store));
    let left = time_left(&store);
    assert_eq!(left, [("long.rs".to_owned(), 10 * MINUTE)], "untouched");
    grant(&coord, "b", "a.rs", 5).await;
}
