use std::time::Duration;

use tokio::task::JoinHandle;

use super::*;
use crate::rules::locks::ReleaseScope;
use crate::store::sqlite::test_support::{event_kinds, open_temp, paths, register, scalar};
use crate::store::{ClaimOutcome, ClaimRequest, CoordStore, ReleaseOutcome};
use ccmulti_model::Operation;

/// Holds the write thread on a job until the returned sender is used, so
/// that the calls made meanwhile queue up and run as one batch.
fn hold_write_thread(store: &SqliteStore) -> (std::sync::mpsc::Sender<()>, JoinHandle<()>) {
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let (started, running) = std::sync::mpsc::channel::<()>();
    let s = store.clone();
    let held = tokio::spawn(async move {
        s.on_write_thread(move |_| {
            let _ = started.send(());
            let _ = wait.recv();
            Ok(())
        })
        .await
        .expect("the holding job");
    });
    running
        .recv()
        .expect("the write thread took the holding job");
    (go, held)
}

/// Registers agents `a0`..`a{n-1}` of session `s`; returns their names.
fn registered(store: &SqliteStore, n: usize) -> Vec<String> {
    let agents: Vec<String> = (0..n).map(|i| format!("a{i}")).collect();
    register(
        store,
        &agents.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    agents
}

fn request(agent: &str, path: &str) -> ClaimRequest {
    ClaimRequest {
        session: "s".into(),
        agent: agent.into(),
        operation: Operation::Write,
        paths: paths(&[path]),
        lease_ms: 5 * 60_000,
        idle_yield_ms: None,
    }
}

fn claim_later(store: &SqliteStore, agent: &str, path: &str) -> JoinHandle<Result<ClaimOutcome>> {
    let (s, r) = (store.clone(), request(agent, path));
    tokio::spawn(async move { CoordStore::claim(&s, &r, true).await })
}

fn release_later(
    store: &SqliteStore,
    agent: &str,
    path: &str,
) -> JoinHandle<Result<ReleaseOutcome>> {
    let (s, agent, scope) = (
        store.clone(),
        agent.to_owned(),
        ReleaseScope::Paths(paths(&[path])),
    );
    tokio::spawn(async move { CoordStore::release(&s, "s", &agent, &scope).await })
}

/// Time enough for every spawned call to reach the write thread's queue (a
/// call queues at its first poll, before it waits for its answer).
async fn let_them_queue() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_writes_share_a_batch_and_a_failing_job_spoils_only_itself() {
    let (_d, store, _clock) = open_temp();
    let agents: Vec<String> = (0..20).map(|i| format!("a{i}")).collect();
    let mut names: Vec<&str> = agents.iter().map(String::as_str).collect();
    names.push("w");
    register(&store, &names);
    let held = store
        .claim("s", "w", Operation::Write, &paths(&["held.rs"]), 5)
        .expect("w claims");
    let ClaimOutcome::Granted(held) = held else {
        panic!("w's claim was refused")
    };
    store
        .claim("s", "a0", Operation::Write, &paths(&["free.rs"]), 5)
        .expect("a0 claims");
    let mut changes = store.inner.changes.subscribe();
    let before = store.write_batches();

    let (go, holder) = hold_write_thread(&store);
    let claims: Vec<_> = agents
        .iter()
        .enumerate()
        .map(|(i, a)| claim_later(&store, a, &format!("p{i}.rs")))
        .collect();
    let conflicting = claim_later(&store, "a1", "held.rs");
    let release = release_later(&store, "a0", "free.rs");
    let s = store.clone();
    let failing = tokio::spawn(async move {
        s.on_write_thread(|s| {
            // Written, then the job fails: the write goes with it.
            s.write(|tx| {
                tx.execute(
                    "INSERT INTO coordination_events (session_id, at, kind, detail) \
                     VALUES ('s', '0', 'blocked_client', 'doomed')",
                    [],
                )?;
                Ok(())
            })?;
            Err::<(), _>(StoreError::Corrupt("a job that fails".into()))
        })
        .await
    });
    let_them_queue().await;
    // Nothing of the queued calls is visible or announced before their commit.
    assert_eq!(scalar(&store, "SELECT COUNT(*) FROM file_locks"), 2);
    assert!(changes.try_recv().is_err());
    go.send(()).expect("release the write thread");
    holder.await.expect("the holding job");

    let mut tokens = Vec::new();
    for claim in claims {
        match claim.await.expect("a claim task") {
            Ok(ClaimOutcome::Granted(granted)) => tokens.push(granted[0].fencing_token),
            other => panic!("a free path was not granted: {other:?}"),
        }
    }
    match conflicting.await.expect("the conflicting claim") {
        Ok(ClaimOutcome::Conflicted(c)) => assert_eq!(c[0].holder, "w"),
        other => panic!("a held path was not refused: {other:?}"),
    }
    let released = release.await.expect("the release").expect("released");
    assert_eq!(released.released.len(), 1);
    match failing.await.expect("the failing job") {
        Err(StoreError::Corrupt(m)) => assert_eq!(m, "a job that fails"),
        other => panic!("the failing job's own error was not told: {other:?}"),
    }

    let after = store.write_batches();
    assert!(
        after.shared > before.shared,
        "no batch of more than one: {after:?}"
    );
    assert!(
        after.largest >= 23,
        "the queued calls did not share one batch: {after:?}"
    );
    // Fencing tokens only grow, one per grant.
    tokens.sort_unstable();
    tokens.dedup();
    assert_eq!(tokens.len(), 20);
    assert!(tokens[0] > held[0].fencing_token);
    assert_eq!(scalar(&store, "SELECT COUNT(*) FROM file_locks"), 21);
    let kinds = event_kinds(&store);
    assert_eq!(kinds.iter().filter(|k| *k == "conflict").count(), 1);
    assert!(!kinds.iter().any(|k| k == "blocked_client"), "{kinds:?}");
    assert_eq!(
        changes
            .try_recv()
            .expect("the release's notice, after the commit"),
        Change::Freed {
            session: "s".into(),
            paths: vec!["free.rs".into()]
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_commit_tells_every_caller_and_leaves_nothing() {
    let (_d, store, _clock) = open_temp();
    let agents = registered(&store, 8);
    store
        .claim("s", "a0", Operation::Write, &paths(&["free.rs"]), 5)
        .expect("a0 claims");
    // A deferred foreign key is checked at COMMIT: a row breaking it makes
    // the batch's COMMIT fail, as a full disk would.
    store
        .write(|c| {
            c.execute_batch(
                "CREATE TABLE t_parent (id INTEGER PRIMARY KEY);
                 CREATE TABLE t_child (p INTEGER REFERENCES t_parent (id) DEFERRABLE INITIALLY DEFERRED);",
            )?;
            Ok(())
        })
        .expect("test tables");
    let events = scalar(&store, "SELECT COUNT(*) FROM coordination_events");
    let token = scalar(&store, "SELECT last_token FROM fencing_counter");
    let mut changes = store.inner.changes.subscribe();

    let (go, holder) = hold_write_thread(&store);
    let claims: Vec<_> = agents
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, a)| claim_later(&store, a, &format!("p{i}.rs")))
        .collect();
    let release = release_later(&store, "a0", "free.rs");
    let s = store.clone();
    let breaking = tokio::spawn(async move {
        s.on_write_thread(|s| {
            s.write(|c| {
                c.execute("INSERT INTO t_child (p) VALUES (42)", [])?;
                Ok(())
            })
        })
        .await
    });
    let_them_queue().await;
    go.send(()).expect("release the write thread");
    holder.await.expect("the holding job");

    for claim in claims {
        assert!(
            matches!(
                claim.await.expect("a claim task"),
                Err(StoreError::Database(_))
            ),
            "a claim of the failed batch was answered as if written"
        );
    }
    assert!(matches!(
        release.await.expect("the release"),
        Err(StoreError::Database(_))
    ));
    assert!(matches!(
        breaking.await.expect("the breaking job"),
        Err(StoreError::Database(_))
    ));
    assert!(store.write_batches().largest >= 9);
    // Nothing of the batch was written or announced.
    assert_eq!(scalar(&store, "SELECT COUNT(*) FROM file_locks"), 1);
    assert_eq!(scalar(&store, "SELECT COUNT(*) FROM t_child"), 0);
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM coordination_events"),
        events
    );
    assert_eq!(
        scalar(&store, "SELECT last_token FROM fencing_counter"),
        token
    );
    assert!(changes.try_recv().is_err());
    // The write thread goes on: the next call is written.
    match CoordStore::claim(&store, &request("a1", "p1.rs"), true).await {
        Ok(ClaimOutcome::Granted(g)) => assert_eq!(g[0].fencing_token, token + 1),
        other => panic!("the claim after a failed batch: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_claims_and_releases_stay_exclusive() {
    let (_d, store, _clock) = open_temp();
    let agents = registered(&store, 16);
    let tasks: Vec<_> = agents
        .into_iter()
        .map(|agent| {
            let s = store.clone();
            tokio::spawn(async move {
                let mut granted = 0;
                for _ in 0..50 {
                    // Every agent wants the same two paths: one holder at a time.
                    if let ClaimOutcome::Granted(_) =
                        CoordStore::claim(&s, &request(&agent, "hot.rs"), false)
                            .await
                            .expect("a claim")
                    {
                        granted += 1;
                        let scope = ReleaseScope::Paths(paths(&["hot.rs"]));
                        let r = CoordStore::release(&s, "s", &agent, &scope)
                            .await
                            .expect("a release");
                        assert_eq!(r.released.len(), 1, "{agent} lost its lock");
                    }
                    CoordStore::claim(&s, &request(&agent, &format!("{agent}.rs")), true)
                        .await
                        .expect("an own path");
                }
                granted
            })
        })
        .collect();
    let mut grants = 0;
    for t in tasks {
        grants += t.await.expect("an agent");
    }
    assert!(grants > 0);
    let granted_events = scalar(
        &store,
        "SELECT COUNT(*) FROM coordination_events WHERE kind = 'granted' AND file_path = 'hot.rs'",
    );
    assert_eq!(granted_events, grants);
    // Fencing tokens are unique and were handed out in order.
    assert_eq!(
        scalar(
            &store,
            "SELECT COUNT(DISTINCT fencing_token) FROM file_locks"
        ),
        16
    );
    let batches = store.write_batches();
    assert!(batches.jobs >= 16 * 50, "{batches:?}");
}
