//! A session's and an agent's life on both backends: a launcher sees an
//! agent go from starting to ready; re-planning replaces what was planned and
//! not started; a forgotten session leaves nothing behind, and one with live
//! locks is not forgotten.

use super::{Fixture, claim, on_both_backends};
use std::str::FromStr;

use ccmulti_model::{AgentWorkspace, Operation, PlannedTask, TaskStatus, VirtualUser};

use crate::rules::lifetimes::{CONNECTED, ForgetOutcome, READY, STARTING};
use crate::rules::locks::ReleaseScope;
use crate::rules::progress::ProgressUpdate;
use crate::store::{CoordStore, PlacedBy};

on_both_backends!(
    an_agent_is_ready_once_its_client_listed_its_tools_since_it_was_started,
    re_planning_replaces_what_was_planned_and_not_started,
    a_forgotten_session_leaves_nothing_and_live_locks_keep_it,
);

async fn status_of(store: &dyn CoordStore, agent: &str) -> String {
    store
        .session_view("s")
        .await
        .expect("the session")
        .agents
        .into_iter()
        .find(|a| a.agent_id == agent)
        .map(|a| a.status)
        .unwrap_or_else(|| panic!("no agent {agent}"))
}

async fn an_agent_is_ready_once_its_client_listed_its_tools_since_it_was_started(fx: Fixture) {
    let store = fx.store.as_ref();
    let a = VirtualUser::from_str("u__session__s__a").expect("a virtual user");
    let place = AgentWorkspace {
        worktree: "/repo".into(),
        branch: Some("main".into()),
        host: None,
    };
    // Placed by a launcher: starting; its first call: connected; its tools/list: ready.
    store
        .set_agent_workspace(&a, &place, PlacedBy::Launcher)
        .await
        .expect("placed");
    assert_eq!(status_of(store, "a").await, STARTING);
    store.touch_agent(&a, "url").await.expect("touched");
    assert_eq!(status_of(store, "a").await, CONNECTED);
    store.note_tools_listed(&a).await.expect("noted");
    assert_eq!(status_of(store, "a").await, READY);
    // Its later calls keep it ready, seen by another process too.
    store.touch_agent(&a, "url").await.expect("touched");
    assert_eq!(status_of(fx.another().await.as_ref(), "a").await, READY);
    // Its hooks saying where it works (another worktree now) keep it ready.
    let moved = AgentWorkspace {
        worktree: "/repo-a".into(),
        branch: Some("a".into()),
        host: Some("box".into()),
    };
    store
        .set_agent_workspace(&a, &moved, PlacedBy::Agent)
        .await
        .expect("reported");
    assert_eq!(status_of(store, "a").await, READY);
    let view = store.session_view("s").await.expect("the session");
    let seen = view.agents.iter().find(|x| x.agent_id == "a");
    assert_eq!(seen.and_then(|x| x.workspace.clone()), Some(moved));
    // Started again (its claude had exited): starting until its new client calls and lists.
    store
        .set_agent_workspace(&a, &place, PlacedBy::Launcher)
        .await
        .expect("placed");
    assert_eq!(status_of(store, "a").await, STARTING);
    store.touch_agent(&a, "url").await.expect("touched");
    assert_eq!(status_of(store, "a").await, CONNECTED);
    // An agent nobody registered is not made up by a listing.
    let ghost = VirtualUser::from_str("u__session__s__ghost").expect("a virtual user");
    store.note_tools_listed(&ghost).await.expect("noted");
    let view = store.session_view("s").await.expect("the session");
    assert!(view.agents.iter().all(|a| a.agent_id != "ghost"));
}

fn planned(agent: &str, task: &str) -> PlannedTask {
    PlannedTask {
        agent_id: agent.into(),
        task_id: task.into(),
        description: "d".into(),
        files: vec!["a.rs".into()],
    }
}

async fn tasks(store: &dyn CoordStore, session: &str) -> Vec<(String, String, &'static str)> {
    store
        .session_view(session)
        .await
        .expect("the session")
        .tasks
        .iter()
        .map(|t| (t.agent_id.clone(), t.task_id.clone(), t.status.as_str()))
        .collect()
}

async fn re_planning_replaces_what_was_planned_and_not_started(fx: Fixture) {
    let store = fx.store.as_ref();
    for vu in ["u__session__s__planner", "u__session__other__planner"] {
        store
            .touch_agent(&VirtualUser::from_str(vu).unwrap(), "x")
            .await
            .unwrap();
    }
    let first = [
        planned("implementer-1", "T1"),
        planned("implementer-2", "T2"),
        planned("implementer-3", "T3"),
    ];
    store.record_plan("s", &first).await.unwrap();
    store.record_plan("other", &first).await.unwrap();
    let started = ProgressUpdate {
        task_id: "T2".into(),
        status: TaskStatus::InProgress,
        progress_percentage: Some(70),
        message: Some("half way".into()),
        affected_files: None,
    };
    store
        .sync_progress("s", "implementer-2", &started)
        .await
        .unwrap();
    // A new plan of two implementers: T1 and T3 were only planned and go;
    // the started T2 stays with its agent; T4 is planned.
    let kept = store
        .record_plan(
            "s",
            &[
                planned("implementer-1", "T2"),
                planned("implementer-2", "T4"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(kept, ["T2"]);
    assert_eq!(
        tasks(store, "s").await,
        [
            ("implementer-2".into(), "T2".into(), "in_progress"),
            ("implementer-2".into(), "T4".into(), "planned"),
        ]
    );
    // Another session's plan is its own.
    assert_eq!(tasks(store, "other").await.len(), 3);
}

async fn a_forgotten_session_leaves_nothing_and_live_locks_keep_it(fx: Fixture) {
    let store = fx.store.as_ref();
    for vu in [
        "u__session__s__planner",
        "u__session__s__a",
        "u__session__s__b",
        "u__session__keep__a",
    ] {
        store
            .touch_agent(&VirtualUser::from_str(vu).unwrap(), "x")
            .await
            .unwrap();
    }
    store
        .record_plan("s", &[planned("a", "T1"), planned("b", "T2")])
        .await
        .unwrap();
    store.save_analysis("s", "an1", "{}").await.unwrap();
    claim(store, "a", Operation::Write, &["x.rs"], 15).await;
    claim(store, "b", Operation::Read, &["y.rs"], 15).await;

    // Live locks keep it: nothing is removed, and they are named.
    let ForgetOutcome::HeldLocks(held) = store.forget_session("s").await.unwrap() else {
        panic!("a session with live locks was forgotten");
    };
    let holders: Vec<(&str, &str)> = held
        .iter()
        .map(|l| (l.agent_id.as_str(), l.path.as_str()))
        .collect();
    assert_eq!(holders, [("a", "x.rs"), ("b", "y.rs")]);
    assert_eq!(store.session_view("s").await.unwrap().agents.len(), 3);

    // Released (or expired): forgotten, every row of it.
    store.release("s", "a", &ReleaseScope::All).await.unwrap();
    fx.clock.advance_ms(16 * 60 * 1000);
    let ForgetOutcome::Forgotten(forgotten) = store.forget_session("s").await.unwrap() else {
        panic!("the session was not forgotten");
    };
    assert_eq!((forgotten.agents, forgotten.tasks), (3, 2), "{forgotten:?}");
    assert!(forgotten.events >= 3, "{forgotten:?}");
    let snapshot = fx.another().await.snapshot(1000).await.unwrap();
    assert!(snapshot.sessions.iter().all(|s| s.session_id != "s"));
    assert!(snapshot.agents.iter().all(|a| a.session_id != "s"));
    assert!(snapshot.locks.iter().all(|l| l.session_id != "s"));
    assert!(snapshot.tasks.iter().all(|t| t.session_id != "s"));
    assert!(
        snapshot
            .events
            .iter()
            .all(|e| e.session_id.as_deref() != Some("s")),
        "{:?}",
        snapshot.events
    );
    assert_eq!(store.load_analysis("s", "an1").await.unwrap(), None);
    // The other session is untouched; forgetting again finds nothing.
    assert!(snapshot.agents.iter().any(|a| a.session_id == "keep"));
    assert_eq!(
        store.forget_session("s").await.unwrap(),
        ForgetOutcome::Unknown
    );
    // A forgotten session's id can start afresh, owned by whoever comes first.
    store
        .touch_agent(&VirtualUser::from_str("v__session__s__a").unwrap(), "x")
        .await
        .unwrap();
    assert_eq!(store.session_view("s").await.unwrap().agents.len(), 1);
}
