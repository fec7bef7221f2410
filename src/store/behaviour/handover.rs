//! Hand-over records on both backends: the versions a release writes in its
//! own transaction, and the pending hand-overs that go with their lock.

use super::{Fixture, T0, claim, on_both_backends, register};
use crate::rules::handover::NewVersion;
use crate::rules::locks::ReleaseScope;
use crate::store::{ClaimOutcome, ForceSelector};
use ccmulti_model::{AgentWorkspace, Operation, VirtualUser};
use std::str::FromStr;

on_both_backends!(
    a_release_records_the_versions_its_write_locks_cover,
    a_forced_release_records_work_left_uncommitted,
    pending_handovers_go_with_their_lock,
    the_snapshot_shows_each_agent_its_pending_handovers,
    a_look_records_nothing_when_a_version_of_its_paths_came_meanwhile,
);

fn version(agent: &str, path: &str, commit: Option<&str>, left_uncommitted: bool) -> NewVersion {
    NewVersion {
        path: path.into(),
        agent: agent.into(),
        workspace: AgentWorkspace {
            worktree: format!("/repo-{agent}"),
            branch: Some(format!("ccmulti/s/{agent}")),
            host: Some("box".into()),
        },
        commit: commit.map(Into::into),
        blob: commit.map(|c| format!("blob-of-{c}")),
        left_uncommitted,
    }
}

fn lock_id(outcome: &ClaimOutcome) -> String {
    match outcome {
        ClaimOutcome::Granted(granted) => granted[0].lock_id.clone(),
        ClaimOutcome::Conflicted(c) => panic!("refused: {c:?}"),
    }
}

async fn a_release_records_the_versions_its_write_locks_cover(fx: Fixture) {
    let store = fx.store.as_ref();
    register(store, &["impl_a"]).await;
    claim(store, "impl_a", Operation::Write, &["src/app.py"], 15).await;
    claim(store, "impl_a", Operation::Read, &["README.md"], 15).await;
    fx.clock.advance_ms(5_000);
    let versions = [
        version("impl_a", "src/app.py", Some("c1"), false),
        // Only read-locked: a version there is no release's to record.
        version("impl_a", "README.md", Some("c1"), false),
    ];
    let released = store
        .release_recording("s", "impl_a", &ReleaseScope::All, &versions)
        .await
        .unwrap();
    assert_eq!(released.released.len(), 2);
    let recorded = store.path_versions("s").await.unwrap();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    let v = &recorded[0];
    assert_eq!(
        (v.path.as_str(), v.agent_id.as_str(), v.commit.as_deref()),
        ("src/app.py", "impl_a", Some("c1"))
    );
    assert_eq!(v.blob.as_deref(), Some("blob-of-c1"));
    assert_eq!(v.workspace, versions[0].workspace);
    assert!(!v.left_uncommitted);
    assert_eq!(v.recorded_at_ms, T0 + 5_000);
    // A release with nothing to record leaves nothing; the record stays.
    claim(store, "impl_a", Operation::Write, &["src/app.py"], 15).await;
    store
        .release("s", "impl_a", &ReleaseScope::All)
        .await
        .unwrap();
    assert_eq!(store.path_versions("s").await.unwrap(), recorded);
}

async fn a_forced_release_records_work_left_uncommitted(fx: Fixture) {
    let store = fx.store.as_ref();
    register(store, &["impl_a", "impl_b"]).await;
    claim(store, "impl_a", Operation::Write, &["src/"], 15).await;
    claim(store, "impl_b", Operation::Write, &["lib.py"], 15).await;
    let versions = [
        version("impl_a", "src/app.py", None, true),
        // Another agent's version: not this release's.
        version("impl_b", "lib.py", Some("c2"), false),
    ];
    let selector = ForceSelector::Agent {
        session_id: Some("s".into()),
        agent_id: "impl_a".into(),
    };
    let released = store
        .force_release_recording(&selector, "cli", &versions)
        .await
        .unwrap();
    assert_eq!(released.len(), 1);
    let recorded = store.path_versions("s").await.unwrap();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0].path, "src/app.py");
    assert_eq!(recorded[0].commit, None);
    assert!(recorded[0].left_uncommitted);
}

async fn pending_handovers_go_with_their_lock(fx: Fixture) {
    let store = fx.store.as_ref();
    register(store, &["impl_a", "impl_b"]).await;
    claim(store, "impl_a", Operation::Write, &["app.py"], 15).await;
    store
        .release_recording(
            "s",
            "impl_a",
            &ReleaseScope::All,
            &[version("impl_a", "app.py", Some("c1"), false)],
        )
        .await
        .unwrap();
    let version_id = store.path_versions("s").await.unwrap()[0].id;
    let lock = lock_id(&claim(store, "impl_b", Operation::Write, &["app.py"], 15).await);
    let pair = [(lock.clone(), version_id)];
    store.add_pending_handovers(&pair).await.unwrap();
    // Kept once however often it is told.
    store.add_pending_handovers(&pair).await.unwrap();
    let pending = store.pending_handovers("s").await.unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(
        (pending[0].lock_id.as_str(), pending[0].agent_id.as_str()),
        (lock.as_str(), "impl_b")
    );
    assert_eq!(pending[0].version.commit.as_deref(), Some("c1"));
    // Brought in: forgotten.
    store.drop_pending_handovers(&pair).await.unwrap();
    assert!(store.pending_handovers("s").await.unwrap().is_empty());
    // Kept again, then the lock ends: the pending hand-over goes with it.
    store.add_pending_handovers(&pair).await.unwrap();
    store
        .release("s", "impl_b", &ReleaseScope::All)
        .await
        .unwrap();
    assert!(store.pending_handovers("s").await.unwrap().is_empty());
    // A lock that is gone keeps nothing.
    store.add_pending_handovers(&pair).await.unwrap();
    assert!(store.pending_handovers("s").await.unwrap().is_empty());
    // When each lock was granted, for the release's "changed while held".
    fx.clock.advance_ms(1_000);
    let again = lock_id(&claim(store, "impl_b", Operation::Write, &["app.py"], 15).await);
    let granted = store.granted_at("s", "impl_b").await.unwrap();
    assert_eq!(granted.get(&again), Some(&(T0 + 1_000)));
}

async fn the_snapshot_shows_each_agent_its_pending_handovers(fx: Fixture) {
    let store = fx.store.as_ref();
    register(store, &["impl_a", "impl_b"]).await;
    // The same agent name in another session: not the holder.
    let elsewhere = VirtualUser::from_str("u__session__t__impl_b").unwrap();
    store.touch_agent(&elsewhere, "url").await.unwrap();
    claim(store, "impl_a", Operation::Write, &["app.py"], 15).await;
    store
        .release_recording(
            "s",
            "impl_a",
            &ReleaseScope::All,
            &[version("impl_a", "app.py", Some("c1"), false)],
        )
        .await
        .unwrap();
    let recorded = store.path_versions("s").await.unwrap();
    let lock = lock_id(&claim(store, "impl_b", Operation::Write, &["app.py"], 15).await);
    store
        .add_pending_handovers(&[(lock.clone(), recorded[0].id)])
        .await
        .unwrap();
    let snapshot = store.snapshot(10).await.unwrap();
    let pending: Vec<(&str, &str, usize)> = snapshot
        .agents
        .iter()
        .map(|a| {
            (
                a.session_id.as_str(),
                a.agent_id.as_str(),
                a.pending_handovers.len(),
            )
        })
        .collect();
    assert_eq!(
        pending,
        [("s", "impl_a", 0), ("s", "impl_b", 1), ("t", "impl_b", 0)]
    );
    let holder = &snapshot.agents[1].pending_handovers[0];
    assert_eq!(holder.lock_id, lock);
    assert_eq!(holder.version, recorded[0]);
    assert_eq!(
        holder.version.merge_command().as_deref(),
        Some("git merge --no-edit c1")
    );
    // The lock ends: the snapshot shows nothing pending.
    store
        .release("s", "impl_b", &ReleaseScope::All)
        .await
        .unwrap();
    let snapshot = store.snapshot(10).await.unwrap();
    assert!(
        snapshot
            .agents
            .iter()
            .all(|a| a.pending_handovers.is_empty()),
        "{:?}",
        snapshot.agents
    );
}

async fn a_look_records_nothing_when_a_version_of_its_paths_came_meanwhile(fx: Fixture) {
    let store = fx.store.as_ref();
    register(store, &["impl_a", "impl_b", "impl_c"]).await;
    // A look that read no versions finds impl_b's commit of app.py.
    let found = [version("impl_b", "src/app.py", Some("b1"), false)];
    // Meanwhile impl_a's release records its newer commit of the file.
    claim(store, "impl_a", Operation::Write, &["src/app.py"], 15).await;
    let newer = [version("impl_a", "src/app.py", Some("a2"), false)];
    store
        .release_recording("s", "impl_a", &ReleaseScope::All, &newer)
        .await
        .unwrap();
    let before = store.path_versions("s").await.unwrap();
    assert!(!store.record_versions("s", &found, None).await.unwrap());
    assert_eq!(store.path_versions("s").await.unwrap(), before);
    // Looked again, having read that version: recorded.
    let seen = before.iter().map(|v| v.id).max();
    assert!(store.record_versions("s", &found, seen).await.unwrap());
    let after = store.path_versions("s").await.unwrap();
    assert_eq!(after.len(), 2);
    assert_eq!(after[1].commit.as_deref(), Some("b1"));
    // A version of another path recorded meanwhile does not stop one of app.py.
    store
        .record_versions(
            "s",
            &[version("impl_c", "lib.py", Some("c1"), false)],
            after.iter().map(|v| v.id).max(),
        )
        .await
        .unwrap();
    let found = [version("impl_c", "src/app.py", Some("c2"), false)];
    let seen = after.iter().map(|v| v.id).max();
    assert!(store.record_versions("s", &found, seen).await.unwrap());
    assert_eq!(store.path_versions("s").await.unwrap().len(), 4);
}
