//! Clock and expiry: a lease is never cut short, and a lock that expires during
//! a burst of claims and sweeps is handled exactly once (one `expired` event,
//! one new holder). The clock is a manual one, so nothing sleeps.

use std::sync::Arc;

use ccmulti::clock::ManualClock;
use ccmulti_testkit::*;
use serde_json::json;

const T0: i64 = 1_790_000_000_000;

on_both_backends!(
    a_lock_expiring_during_a_burst_expires_once_and_goes_to_one_claimant,
    renewal_never_shortens_a_lease,
);

async fn a_lock_expiring_during_a_burst_expires_once_and_goes_to_one_claimant(backend: Backend) {
    let clock = ManualClock::starting_at(T0);
    let server = backend.start_with_clock(clock.clone()).await;
    let holder = server.url("claude", "u__session__s__holder");
    let granted = call_tool(
        &holder,
        "claim_file_lock",
        json!({ "file_paths": ["hot.rs"], "duration_minutes": 1 }),
    )
    .await;
    assert_eq!(granted.structured()["success"], true, "{}", granted.text);

    // Not a millisecond early: at 59.999 s the lease still holds.
    clock.advance_ms(59_999);
    let early = call_tool(
        &server.url("claude", "u__session__s__early"),
        "claim_file_lock",
        json!({ "file_paths": ["hot.rs"] }),
    )
    .await;
    assert_eq!(early.structured()["success"], false, "{}", early.text);
    assert_eq!(early.structured()["conflicts"][0]["seconds_left"], 1);

    clock.advance_ms(1);
    let store = server.store.clone();
    let sweeps: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.sweep_expired().await.unwrap() })
        })
        .collect();
    let claims: Vec<_> = (0..32)
        .map(|i| {
            let url = server.url("claude", &format!("u__session__s__c{i}"));
            tokio::spawn(async move {
                call_tool(&url, "claim_file_lock", json!({ "file_paths": ["hot.rs"] }))
                    .await
                    .structured()["success"]
                    == true
            })
        })
        .collect();
    let mut winners = 0;
    for c in claims {
        winners += usize::from(c.await.unwrap());
    }
    for s in sweeps {
        s.await.unwrap();
    }
    assert_eq!(winners, 1, "exactly one claimant gets the expired lock");
    let events = server.store.snapshot(1000).await.unwrap().events;
    let expired: Vec<_> = events
        .iter()
        .filter(|e| {
            e.kind == ccmulti_model::EventKind::Expired && e.path.as_deref() == Some("hot.rs")
        })
        .collect();
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert_eq!(expired[0].agent_id.as_deref(), Some("holder"));
}

async fn renewal_never_shortens_a_lease(backend: Backend) {
    let clock: Arc<ManualClock> = ManualClock::starting_at(T0);
    let server = backend.start_with_clock(clock.clone()).await;
    let me = server.url("claude", "u__session__s__me");
    let long = call_tool(
        &me,
        "claim_file_lock",
        json!({ "file_paths": ["a.rs"], "duration_minutes": 30 }),
    )
    .await;
    let short = call_tool(
        &me,
        "claim_file_lock",
        json!({ "file_paths": ["a.rs"], "duration_minutes": 1 }),
    )
    .await;
    assert_eq!(short.structured()["locks"][0]["renewed"], true);
    assert_eq!(
        short.structured()["locks"][0]["expires_at"],
        long.structured()["locks"][0]["expires_at"],
        "a shorter renewal keeps the longer deadline"
    );
}
