//! Locks on both backends: exclusion, sharing, all or nothing, renewal,
//! fencing tokens, expiry once, forced release, and what the change feed
//! tells another store.

use std::time::Duration;

use super::{Backend, Fixture, T0, claim, event_kinds, on_both_backends, paths, register, request};
use crate::rules::locks::ReleaseScope;
use crate::store::{Change, ClaimOutcome, ForceSelector};
use ccmulti_model::Operation;

on_both_backends!(
    grant_conflict_release_and_events,
    readers_share_and_patterns_overlap,
    tokens_only_grow_and_renewal_never_shortens,
    racing_claims_through_two_stores_get_one_grant,
    expiry_is_recorded_once_however_many_sweep,
    forced_release_is_recorded_and_frees,
    another_store_hears_what_was_freed,
    an_idle_lock_gives_way_to_another_agents_claim,
);

fn granted(o: &ClaimOutcome) -> bool {
    matches!(o, ClaimOutcome::Granted(_))
}

async fn grant_conflict_release_and_events(fx: Fixture) {
    let store = fx.store.as_ref();
    register(store, &["a", "b"]).await;
    let ClaimOutcome::Granted(g) = claim(store, "a", Operation::Write, &["x"], 10).await else {
        panic!("expected a grant");
    };
    assert_eq!(g[0].expires_at_ms, T0 + 600_000);
    let ClaimOutcome::Conflicted(c) = claim(store, "b", Operation::Write, &["x", "y"], 10).await
    else {
        panic!("expected a conflict");
    };
    assert_eq!((c[0].holder.as_str(), c[0].seconds_left), ("a", 600));
    // All or nothing: y was not granted to b.
    assert_eq!(store.session_view("s").await.unwrap().locks.len(), 1);
    // b cannot release a's lock.
    let r = store
        .release("s", "b", &ReleaseScope::Paths(paths(&["x"])))
        .await
        .unwrap();
    assert!(r.released.is_empty());
    assert_eq!(r.not_held, ["x"]);
    let r = store.release("s", "a", &ReleaseScope::All).await.unwrap();
    assert_eq!(r.released.len(), 1);
    assert!(store.session_view("s").await.unwrap().locks.is_empty());
    assert_eq!(
        event_kinds(store).await,
        ["granted", "conflict", "released"]
    );
}

async fn readers_share_and_patterns_overlap(fx: Fixture) {
    let store = fx.store.as_ref();
    register(store, &["a", "b", "c", "d"]).await;
    for r in ["a", "b"] {
        assert!(granted(
            &claim(store, r, Operation::Read, &["src/x.rs"], 5).await
        ));
    }
    // A directory lock overlaps the files under it, held by both readers.
    let ClaimOutcome::Conflicted(c) = claim(store, "c", Operation::Write, &["src/"], 5).await
    else {
        panic!("a write on src/ must wait for the readers");
    };
    assert_eq!(c.len(), 2);
    store.release("s", "a", &ReleaseScope::All).await.unwrap();
    store.release("s", "b", &ReleaseScope::All).await.unwrap();
    assert!(granted(
        &claim(store, "c", Operation::Write, &["src/"], 5).await
    ));
    // Now a file under it, and a glob over it, are held by c.
    for wanted in ["src/y.rs", "src/*.rs", "src"] {
        let outcome = claim(store, "d", Operation::Read, &[wanted], 5).await;
        assert!(
            !granted(&outcome),
            "{wanted} must overlap src/: {outcome:?}"
        );
    }
    assert!(granted(
        &claim(store, "d", Operation::Write, &["srcs/z.rs", "lib/"], 5).await
    ));
}

async fn tokens_only_grow_and_renewal_never_shortens(fx: Fixture) {
    let store = fx.store.as_ref();
    register(store, &["a"]).await;
    let mut last = 0;
    for _ in 0..5 {
        let ClaimOutcome::Granted(g) = claim(store, "a", Operation::Write, &["x", "y"], 1).await
        else {
            panic!("a grant")
        };
        for lock in &g {
            assert!(lock.fencing_token > last);
            last = lock.fencing_token;
        }
        store.release("s", "a", &ReleaseScope::All).await.unwrap();
    }
    let ClaimOutcome::Granted(first) = claim(store, "a", Operation::Write, &["z"], 5).await else {
        panic!("a grant")
    };
    // A shorter renewal keeps the longer lease, and the token of the lease it extends.
    let ClaimOutcome::Granted(again) = claim(store, "a", Operation::Write, &["z"], 1).await else {
        panic!("a renewal")
    };
    assert!(again[0].renewed);
    assert_eq!(again[0].fencing_token, first[0].fencing_token);
    assert_eq!(again[0].expires_at_ms, T0 + 5 * 60_000);
    // Tokens never repeat, even for a store opened later.
    let later = fx.another().await;
    let ClaimOutcome::Granted(next) = claim(later.as_ref(), "a", Operation::Write, &["w"], 1).await
    else {
        panic!("a grant")
    };
    assert!(next[0].fencing_token > first[0].fencing_token);
}

/// Sixteen agents, half through each of two stores, claim one path at once:
/// one grant. Then overlapping multi-path claims: never both.
async fn racing_claims_through_two_stores_get_one_grant(fx: Fixture) {
    let other = fx.another().await;
    let names: Vec<String> = (0..16).map(|i| format!("agent{i}")).collect();
    register(
        fx.store.as_ref(),
        &names.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    let racers: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let store = if i % 2 == 0 {
                fx.store.clone()
            } else {
                other.clone()
            };
            let request = request(name, Operation::Write, &["hot.rs"], 5);
            tokio::spawn(async move { store.claim(&request, true).await.unwrap() })
        })
        .collect();
    let mut grants = 0;
    for racer in racers {
        grants += usize::from(granted(&racer.await.unwrap()));
    }
    assert_eq!(grants, 1);
    for round in 0..10 {
        let (p, q, r) = (
            format!("p{round}"),
            format!("q{round}"),
            format!("r{round}"),
        );
        let first = request("agent0", Operation::Write, &[&p, &q], 5);
        let second = request("agent1", Operation::Write, &[&q, &r], 5);
        let (a, b) = tokio::join!(fx.store.claim(&first, true), other.claim(&second, true));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(granted(&a) != granted(&b), "round {round}: {a:?} {b:?}");
        // The loser took nothing of its paths.
        let view = fx.store.session_view("s").await.unwrap();
        let held: Vec<&str> = view.locks.iter().map(|l| l.path.as_str()).collect();
        assert!(
            !(held.contains(&p.as_str()) && held.contains(&r.as_str())),
            "{held:?}"
        );
    }
}

async fn expiry_is_recorded_once_however_many_sweep(fx: Fixture) {
    let store = fx.store.as_ref();
    let sweepers = [fx.store.clone(), fx.another().await, fx.another().await];
    register(store, &["a", "b"]).await;
    claim(store, "a", Operation::Write, &["x", "y"], 1).await;
    fx.clock.advance_ms(59_999);
    assert!(!granted(
        &claim(store, "b", Operation::Write, &["x"], 1).await
    ));
    fx.clock.advance_ms(1);
    // Expired locks stop counting at once, before any sweep.
    assert!(store.session_view("s").await.unwrap().locks.is_empty());
    let (one, two, three) = tokio::join!(
        sweepers[0].sweep_expired(),
        sweepers[1].sweep_expired(),
        sweepers[2].sweep_expired()
    );
    assert_eq!(one.unwrap() + two.unwrap() + three.unwrap(), 2);
    assert_eq!(store.sweep_expired().await.unwrap(), 0);
    assert_eq!(
        event_kinds(store).await,
        ["granted", "granted", "conflict", "expired", "expired"]
    );
}

async fn forced_release_is_recorded_and_frees(fx: Fixture) {
    let store = fx.store.as_ref();
    register(store, &["a"]).await;
    let ClaimOutcome::Granted(g) = claim(store, "a", Operation::Write, &["x", "y", "z"], 5).await
    else {
        panic!("a grant")
    };
    let mut feed = store.changes();
    let by_path = ForceSelector::Path {
        session_id: None,
        path: "x".into(),
    };
    let released = store.force_release(&by_path, "dashboard").await.unwrap();
    assert_eq!((released.len(), released[0].session_id.as_str()), (1, "s"));
    let snap = store.snapshot(10).await.unwrap();
    assert_eq!(snap.events[0].kind.as_str(), "forced_release");
    assert_eq!(
        snap.events[0].detail.as_deref(),
        Some("released by dashboard")
    );
    assert_eq!(
        feed.recv().await.unwrap(),
        Change::Freed {
            session: "s".into(),
            paths: vec!["x".into()]
        }
    );
    let y = g
        .iter()
        .find(|l| l.path == "y")
        .map(|l| l.lock_id.clone())
        .unwrap_or_default();
    let released = store
        .force_release(&ForceSelector::LockId(y), "cli")
        .await
        .unwrap();
    assert_eq!(released[0].path, "y");
    let by_agent = ForceSelector::Agent {
        session_id: Some("s".into()),
        agent_id: "a".into(),
    };
    assert_eq!(
        store.force_release(&by_agent, "cli").await.unwrap().len(),
        1
    );
    assert!(store.snapshot(10).await.unwrap().locks.is_empty());
}

/// What one store frees reaches a store on the same database: PostgreSQL
/// pushes it (NOTIFY) as the very paths; SQLite's store notices another
/// process's commit when asked to look.
async fn another_store_hears_what_was_freed(fx: Fixture) {
    let other = fx.another().await;
    let mut heard = other.changes();
    register(fx.store.as_ref(), &["a"]).await;
    claim(fx.store.as_ref(), "a", Operation::Write, &["x"], 5).await;
    other.notice_changes_elsewhere().await.unwrap();
    while heard.try_recv().is_ok() {}
    fx.store
        .release("s", "a", &ReleaseScope::All)
        .await
        .unwrap();
    let expected = match fx.backend {
        Backend::Postgres => Change::Freed {
            session: "s".into(),
            paths: vec!["x".into()],
        },
        Backend::Sqlite => {
            other.notice_changes_elsewhere().await.unwrap();
            Change::Other
        }
    };
    let change = tokio::time::timeout(Duration::from_secs(5), heard.recv())
        .await
        .expect("heard within 5 s")
        .unwrap();
    assert_eq!(change, expected);
}

/// The edit hook's lock: a 5 s lease that gives way 2 s after each claim.
fn hooked(agent: &str, path: &str) -> crate::rules::locks::steps::ClaimRequest {
    crate::rules::locks::steps::ClaimRequest {
        lease_ms: 5_000,
        idle_yield_ms: Some(2_000),
        ..request(agent, Operation::Write, &[path], 1)
    }
}

async fn an_idle_lock_gives_way_to_another_agents_claim(fx: Fixture) {
    let store = fx.store.as_ref();
    register(store, &["a", "b"]).await;
    assert!(granted(
        &store.claim(&hooked("a", "x"), true).await.unwrap()
    ));
    // Renewed 1.5 s on: it holds another 2 s from then.
    fx.clock.advance_ms(1_500);
    assert!(granted(
        &store.claim(&hooked("a", "x"), true).await.unwrap()
    ));
    fx.clock.advance_ms(1_999);
    let ClaimOutcome::Conflicted(c) = store.claim(&hooked("b", "x"), true).await.unwrap() else {
        panic!("a lock renewed under 2 s ago must hold");
    };
    assert_eq!(c[0].yields_at_ms, Some(T0 + 3_500));
    assert_eq!(
        store.session_view("s").await.unwrap().locks[0].yields_at_ms,
        Some(T0 + 3_500)
    );
    fx.clock.advance_ms(1);
    let ClaimOutcome::Granted(g) = store.claim(&hooked("b", "x"), true).await.unwrap() else {
        panic!("an idle lock must give way");
    };
    assert_eq!((g[0].path.as_str(), g[0].renewed), ("x", false));
    let locks = store.session_view("s").await.unwrap().locks;
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0].agent_id, "b");
    assert_eq!(locks[0].yields_at_ms, Some(T0 + 5_500));
    let events = store.snapshot(10).await.unwrap().events;
    let gave = events
        .iter()
        .find(|e| e.kind.as_str() == "expired")
        .expect("the lock that gave way ends as expired");
    assert_eq!(gave.agent_id.as_deref(), Some("a"));
    assert_eq!(
        gave.detail.as_deref(),
        Some("gave way to b's claim: a had left it idle")
    );
    assert_eq!(
        event_kinds(store).await,
        ["granted", "renewed", "conflict", "expired", "granted"]
    );
    // A lock claimed without an idle time holds for its whole lease.
    assert!(granted(
        &claim(store, "a", Operation::Write, &["y"], 1).await
    ));
    fx.clock.advance_ms(59_000);
    assert!(!granted(
        &store.claim(&hooked("b", "y"), true).await.unwrap()
    ));
}
