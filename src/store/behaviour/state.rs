//! Everything else on both backends: news told once, sessions and their
//! owners, progress and plans, waiting claims as other dashboards see them,
//! pruning, and `db verify`.

use super::{Fixture, T0, claim, on_both_backends, paths, register, request};
use crate::rules::locks::ReleaseScope;
use crate::rules::wait_cycle::JoinedWaits;
use crate::store::{
    AgentWorkspace, ClaimOutcome, ForceSelector, PlacedBy, PlannedTask, ProgressUpdate, StoreError,
};
use ccmulti_model::Operation;
use ccmulti_model::TaskStatus;
use ccmulti_model::VirtualUser;
use std::str::FromStr;

on_both_backends!(
    news_is_told_once_across_stores,
    a_session_belongs_to_its_first_user,
    plans_move_only_unstarted_tasks,
    waiting_claims_are_shown_with_what_blocks_them,
    pruning_keeps_the_newest_events,
    verify_finds_the_schema_whole,
    registration_stops_at_the_limits_across_stores,
    racing_first_registrations_of_one_agent_are_all_admitted,
    no_lease_outlasts_the_longest_grant,
    a_session_view_is_read_at_one_moment,
    agents_show_their_live_locks_and_current_task,
    a_wait_that_closes_a_cycle_is_not_written,
);

fn kinds(news: &[crate::rules::news::News]) -> Vec<&'static str> {
    news.iter().map(|n| n.kind()).collect()
}

fn progress(task: &str, status: TaskStatus) -> ProgressUpdate {
    ProgressUpdate {
        task_id: task.into(),
        status,
        progress_percentage: None,
        message: Some("done".into()),
        affected_files: None,
    }
}

async fn news_is_told_once_across_stores(fx: Fixture) {
    let store = fx.store.as_ref();
    register(store, &["a", "b"]).await;
    assert!(store.take_news("s", "a").await.unwrap().is_empty());
    // b holds x.rs; a's claim conflicts; b releases it.
    claim(store, "b", Operation::Write, &["x.rs"], 15).await;
    assert!(matches!(
        claim(store, "a", Operation::Write, &["x.rs"], 15).await,
        ClaimOutcome::Conflicted(_)
    ));
    fx.clock.advance_ms(1000);
    store.release("s", "b", &ReleaseScope::All).await.unwrap();
    store
        .sync_progress("s", "b", &progress("api", TaskStatus::Completed))
        .await
        .unwrap();
    // a's own lock on y.rs is force-released; z.rs is short.
    claim(store, "a", Operation::Write, &["y.rs"], 15).await;
    let y = ForceSelector::Path {
        session_id: Some("s".into()),
        path: "y.rs".into(),
    };
    store.force_release(&y, "cli").await.unwrap();
    claim(store, "a", Operation::Write, &["z.rs"], 1).await;
    fx.clock.advance_ms(1);
    // Asked through two stores at once (two coordinators, two processes): told once.
    let other = fx.another().await;
    let (one, two) = tokio::join!(store.take_news("s", "a"), other.take_news("s", "a"));
    let (one, two) = (one.unwrap(), two.unwrap());
    let told = if one.is_empty() {
        two
    } else {
        assert!(two.is_empty(), "{two:?}");
        one
    };
    assert_eq!(
        kinds(&told),
        [
            "own_lock_force_released",
            "own_lock_expiring",
            "wanted_lock_freed",
            "task_completed"
        ],
        "{told:?}"
    );
    assert!(other.take_news("s", "a").await.unwrap().is_empty());
    assert!(
        fx.another()
            .await
            .take_news("s", "b")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_session_belongs_to_its_first_user(fx: Fixture) {
    let store = fx.store.as_ref();
    store
        .touch_agent(
            &VirtualUser::from_str("alice__session__s1__planner").unwrap(),
            "u",
        )
        .await
        .unwrap();
    fx.clock.advance_ms(5_000);
    let impl_a = VirtualUser::from_str("alice__session__s1__impl_a").unwrap();
    let at = AgentWorkspace {
        worktree: "/repo/.wt/impl_a".into(),
        branch: Some("impl-a".into()),
        host: Some("box".into()),
    };
    store
        .set_agent_workspace(&impl_a, &at, PlacedBy::Launcher)
        .await
        .unwrap();
    store.touch_agent(&impl_a, "u").await.unwrap();
    let err = fx
        .another()
        .await
        .touch_agent(
            &VirtualUser::from_str("mallory__session__s1__impl_b").unwrap(),
            "u",
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::SessionOwnedByOther { .. }),
        "{err}"
    );
    let view = store.session_view("s1").await.unwrap();
    let names: Vec<_> = view.agents.iter().map(|a| a.agent_id.as_str()).collect();
    assert_eq!(names, ["impl_a", "planner"]);
    assert_eq!(view.agents[0].last_activity_ms, T0 + 5_000);
    assert_eq!(view.agents[0].workspace, Some(at));
    assert_eq!(view.agents[1].workspace, None);
}

async fn plans_move_only_unstarted_tasks(fx: Fixture) {
    let store = fx.store.as_ref();
    for vu in ["u__session__s1__planner", "u__session__s2__planner"] {
        store
            .touch_agent(&VirtualUser::from_str(vu).unwrap(), "x")
            .await
            .unwrap();
    }
    store.save_analysis("s1", "a1", "{\"x\":1}").await.unwrap();
    assert_eq!(
        store.load_analysis("s1", "a1").await.unwrap().as_deref(),
        Some("{\"x\":1}")
    );
    assert_eq!(store.load_analysis("s2", "a1").await.unwrap(), None);
    let planned = |agent: &str, task: &str| PlannedTask {
        agent_id: agent.into(),
        task_id: task.into(),
        description: "d".into(),
        files: vec!["a.rs".into()],
    };
    store
        .record_plan(
            "s1",
            &[
                planned("implementer-1", "T1"),
                planned("implementer-1", "T2"),
            ],
        )
        .await
        .unwrap();
    store
        .sync_progress("s1", "implementer-1", &progress("T2", TaskStatus::Started))
        .await
        .unwrap();
    let kept = store
        .record_plan(
            "s1",
            &[
                planned("implementer-2", "T1"),
                planned("implementer-2", "T2"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(kept, ["T2"]);
    let rows: Vec<(String, String, &str)> = store
        .session_view("s1")
        .await
        .unwrap()
        .tasks
        .iter()
        .map(|t| (t.agent_id.clone(), t.task_id.clone(), t.status.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            ("implementer-1".into(), "T2".into(), "started"),
            ("implementer-2".into(), "T1".into(), "planned"),
        ]
    );
}

async fn waiting_claims_are_shown_with_what_blocks_them(fx: Fixture) {
    let store = fx.store.as_ref();
    register(store, &["a", "b"]).await;
    let ClaimOutcome::Granted(held) = claim(store, "a", Operation::Write, &["x"], 5).await else {
        panic!("a grant")
    };
    let JoinedWaits::Waiting(id) = store
        .record_waiter(&request("b", Operation::Write, &["x", "y"], 5), T0 + 60_000)
        .await
        .unwrap()
    else {
        panic!("b waits")
    };
    let snap = fx.another().await.snapshot(0).await.unwrap();
    assert_eq!(snap.waiters.len(), 1);
    assert_eq!(snap.waiters[0].paths, ["x", "y"]);
    assert_eq!(snap.waiters[0].blocked_by, [held[0].lock_id.clone()]);
    store.forget_waiter(id).await.unwrap();
    assert!(store.snapshot(0).await.unwrap().waiters.is_empty());
    // A row nobody forgot goes at its deadline.
    store
        .record_waiter(&request("b", Operation::Write, &["x"], 5), T0 + 60_000)
        .await
        .unwrap();
    fx.clock.advance_ms(60_000);
    assert!(store.snapshot(0).await.unwrap().waiters.is_empty());
}

async fn a_wait_that_closes_a_cycle_is_not_written(fx: Fixture) {
    let store = fx.store.as_ref();
    register(store, &["a", "b"]).await;
    claim(store, "a", Operation::Write, &["x"], 5).await;
    claim(store, "b", Operation::Write, &["y"], 5).await;
    let first = store
        .record_waiter(&request("b", Operation::Write, &["x"], 5), T0 + 60_000)
        .await
        .unwrap();
    assert!(matches!(first, JoinedWaits::Waiting(_)), "{first:?}");
    // From another store on the same database: a waits for b, who waits for a.
    let JoinedWaits::WouldCycle(cycle) = fx
        .another()
        .await
        .record_waiter(&request("a", Operation::Write, &["y"], 5), T0 + 60_000)
        .await
        .unwrap()
    else {
        panic!("a cycle")
    };
    assert_eq!(cycle.release, ["x"]);
    assert_eq!(cycle.waits.len(), 2);
    assert_eq!(store.snapshot(0).await.unwrap().waiters.len(), 1);
    // Once b's wait is over, a's may be written.
    fx.clock.advance_ms(60_000);
    let later = store
        .record_waiter(&request("a", Operation::Write, &["y"], 5), T0 + 120_000)
        .await
        .unwrap();
    assert!(matches!(later, JoinedWaits::Waiting(_)), "{later:?}");
}

async fn pruning_keeps_the_newest_events(fx: Fixture) {
    let store = fx.store.as_ref();
    register(store, &["a"]).await;
    for _ in 0..10 {
        claim(store, "a", Operation::Write, &["a.rs"], 5).await;
        store
            .release("s", "a", &ReleaseScope::Paths(paths(&["a.rs"])))
            .await
            .unwrap();
    }
    let ids = async || -> Vec<i64> {
        let mut ids: Vec<i64> = store
            .snapshot(1000)
            .await
            .unwrap()
            .events
            .iter()
            .map(|e| e.id)
            .collect();
        ids.sort();
        ids
    };
    let all = ids().await;
    assert_eq!(all.len(), 20);
    store.keep_events(5);
    assert_eq!(
        store.prune_events(4).await.unwrap(),
        4,
        "one batch at a time"
    );
    assert_eq!(store.prune_events(100).await.unwrap(), 11);
    assert_eq!(ids().await, all[15..]);
    assert_eq!(store.prune_events(100).await.unwrap(), 0);
    assert_eq!(store.counts().await.unwrap().events, 5);
}

async fn verify_finds_the_schema_whole(fx: Fixture) {
    let v = fx.store.verify().await.unwrap();
    assert!(v.ok(), "{v:?}");
    assert_eq!(v.backend, fx.store.backend());
    assert_eq!(v.user_version, fx.store.schema_version());
    for table in [
        "claude_code_sessions",
        "claude_code_agents",
        "file_locks",
        "task_progress",
    ] {
        assert!(
            v.tables.iter().any(|(t, present)| t == table && *present),
            "{table}"
        );
    }
    assert!(
        v.indexes
            .iter()
            .any(|(i, _)| i == "idx_file_locks_patterns")
    );
}

async fn registration_stops_at_the_limits_across_stores(fx: Fixture) {
    let limits = crate::rules::limits::Limits {
        agents_per_session: 2,
        sessions_per_user: 2,
        ..Default::default()
    };
    let other = fx.another().await;
    for store in [fx.store.as_ref(), other.as_ref()] {
        store.set_limits(limits);
    }
    touch(fx.store.as_ref(), "alice__session__s1__a")
        .await
        .unwrap();
    touch(other.as_ref(), "alice__session__s1__b")
        .await
        .unwrap();
    let err = touch(fx.store.as_ref(), "alice__session__s1__c")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LimitReached(_)), "{err}");
    // A known agent is always let in; the refused one was not written.
    touch(other.as_ref(), "alice__session__s1__a")
        .await
        .unwrap();
    let view = fx.store.session_view("s1").await.unwrap();
    let names: Vec<_> = view.agents.iter().map(|a| a.agent_id.as_str()).collect();
    assert_eq!(names, ["a", "b"]);

    touch(other.as_ref(), "alice__session__s2__a")
        .await
        .unwrap();
    let err = touch(fx.store.as_ref(), "alice__session__s3__a")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LimitReached(_)), "{err}");
    assert!(fx.store.session_view("s3").await.unwrap().agents.is_empty());
    // Another user's sessions are counted apart.
    touch(fx.store.as_ref(), "bob__session__s4__a")
        .await
        .unwrap();
}

/// With room for exactly one more session of a user, or one more agent of a
/// session, the same new agent registering through two stores at once (two
/// coordinators, or two of its own first requests) is admitted every time:
/// the second to count must not count what the first just wrote.
async fn racing_first_registrations_of_one_agent_are_all_admitted(fx: Fixture) {
    use crate::rules::limits::Limits;
    let other = fx.another().await;
    let stores = [fx.store.clone(), other];
    let one_session = Limits {
        sessions_per_user: 1,
        ..Default::default()
    };
    // The session exists (with one agent): the racers meet only at the count.
    let one_more_agent = Limits {
        agents_per_session: 2,
        ..Default::default()
    };
    for (name, limits) in [("session", one_session), ("agent", one_more_agent)] {
        for store in &stores {
            store.set_limits(limits);
        }
        for round in 0..20 {
            if name == "agent" {
                let first = format!("{name}{round}__session__{name}{round}__first");
                touch(stores[0].as_ref(), &first)
                    .await
                    .expect("the first agent");
            }
            let user = format!("{name}{round}__session__{name}{round}__a");
            let racers: Vec<_> = (0..4)
                .map(|i| {
                    let store = stores[i % 2].clone();
                    let user = user.clone();
                    tokio::spawn(async move { touch(store.as_ref(), &user).await })
                })
                .collect();
            for racer in racers {
                let admitted = racer.await.expect("racer");
                assert!(admitted.is_ok(), "one {name}, round {round}: {admitted:?}");
            }
        }
    }
}

async fn no_lease_outlasts_the_longest_grant(fx: Fixture) {
    use crate::rules::clock_step::MAX_LEASE_MS;
    let store = fx.store.as_ref();
    register(store, &["a"]).await;
    let granted = claim(store, "a", Operation::Write, &["long.rs"], 30).await;
    assert!(
        matches!(granted, ClaimOutcome::Granted { .. }),
        "{granted:?}"
    );
    // Nothing to correct while every lease is within what a grant can give.
    assert_eq!(store.pull_leases_back(0).await.unwrap(), 0);
    // The clock went back by more than the longest grant (seen as stepping
    // back to here from the future): the lease is capped, never lengthened.
    fx.clock.advance_ms(-(MAX_LEASE_MS + 60_000));
    assert_eq!(store.pull_leases_back(0).await.unwrap(), 1);
    let view = store.session_view("s").await.unwrap();
    let now = crate::clock::Clock::now_ms(fx.clock.as_ref());
    assert!(
        view.locks
            .iter()
            .all(|l| l.expires_at_ms <= now + MAX_LEASE_MS),
        "{:?}",
        view.locks
    );
    assert_eq!(view.locks.len(), 1);
}

async fn touch(store: &dyn crate::store::CoordStore, user: &str) -> Result<(), StoreError> {
    store
        .touch_agent(&VirtualUser::from_str(user).unwrap(), "u")
        .await
}

/// `check_agent_status` reads agents, locks and tasks in separate
/// statements; while agents join and claim through another store, each view
/// must still agree with itself: every lock it lists is held by an agent it
/// lists.
async fn a_session_view_is_read_at_one_moment(fx: Fixture) {
    let store = fx.store.as_ref();
    register(store, &["a"]).await;
    let other = fx.another().await;
    let churn = tokio::spawn(async move {
        // Within the default limit of 256 agents a session.
        for i in 0..200 {
            let agent = format!("n{i}");
            register(other.as_ref(), &[agent.as_str()]).await;
            let file = format!("f{i}.rs");
            claim(
                other.as_ref(),
                &agent,
                Operation::Write,
                &[file.as_str()],
                15,
            )
            .await;
        }
    });
    let mut views = 0;
    while !churn.is_finished() {
        let view = store.session_view("s").await.expect("a view");
        for lock in &view.locks {
            assert!(
                view.agents.iter().any(|a| a.agent_id == lock.agent_id),
                "{} holds {} in the view but is not among its agents",
                lock.agent_id,
                lock.path
            );
        }
        views += 1;
    }
    churn.await.expect("the churn ran");
    assert!(views > 10, "{views} views");
}

/// What `check_agent_status` and the dashboard show per agent: its live
/// locks (an expired one no longer counts) and the task it is on (the latest
/// it works on, else the latest it reported).
async fn agents_show_their_live_locks_and_current_task(fx: Fixture) {
    let store = fx.store.as_ref();
    register(store, &["a", "b", "c"]).await;
    claim(store, "a", Operation::Write, &["x.rs", "y.rs"], 15).await;
    claim(store, "a", Operation::Write, &["short.rs"], 1).await;
    claim(store, "b", Operation::Read, &["z.rs"], 15).await;
    for (agent, task, status) in [
        ("a", "api", TaskStatus::InProgress),
        ("a", "docs", TaskStatus::Completed),
        ("b", "tests", TaskStatus::Completed),
        ("b", "lint", TaskStatus::Failed),
    ] {
        fx.clock.advance_ms(1000);
        store
            .sync_progress("s", agent, &progress(task, status))
            .await
            .expect("progress");
    }
    fx.clock.advance_ms(2 * 60_000);
    let view = store.session_view("s").await.expect("a view");
    let shown: Vec<(&str, usize, Option<&str>)> = view
        .agents
        .iter()
        .map(|a| (a.agent_id.as_str(), a.lock_count, a.current_task.as_deref()))
        .collect();
    assert_eq!(
        shown,
        [
            ("a", 2, Some("api")),
            ("b", 1, Some("lint")),
            ("c", 0, None)
        ]
    );
    let snapshot = store.snapshot(10).await.expect("a snapshot");
    assert_eq!(snapshot.agents, view.agents, "the dashboard shows the same");
}
