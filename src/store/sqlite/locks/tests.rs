use super::*;
use crate::store::sqlite::test_support::{T0, event_kinds, open_temp, paths, register};

#[test]
fn grant_conflict_release_and_events() {
    let (_d, store, _clock) = open_temp();
    register(&store, &["a", "b"]);
    let ClaimOutcome::Granted(g) = store
        .claim("s", "a", Operation::Write, &paths(&["x"]), 10)
        .unwrap()
    else {
        panic!("expected a grant");
    };
    assert_eq!(g[0].expires_at_ms, T0 + 600_000);
    let ClaimOutcome::Conflicted(c) = store
        .claim("s", "b", Operation::Write, &paths(&["x", "y"]), 10)
        .unwrap()
    else {
        panic!("expected a conflict");
    };
    assert_eq!((c[0].holder.as_str(), c[0].seconds_left), ("a", 600));
    // All or nothing: y was not granted to b.
    assert_eq!(store.session_view("s").unwrap().locks.len(), 1);
    // b cannot release a's lock.
    let r = store
        .release("s", "b", &ReleaseScope::Paths(paths(&["x"])))
        .unwrap();
    assert!(r.released.is_empty());
    assert_eq!(r.not_held, ["x"]);
    let r = store.release("s", "a", &ReleaseScope::All).unwrap();
    assert_eq!(r.released.len(), 1);
    assert!(store.session_view("s").unwrap().locks.is_empty());
    assert_eq!(event_kinds(&store), ["granted", "conflict", "released"]);
}

#[test]
fn fencing_tokens_only_grow_and_survive_deletion() {
    let (_d, store, _clock) = open_temp();
    register(&store, &["a"]);
    let mut last = 0;
    for _ in 0..5 {
        let ClaimOutcome::Granted(g) = store
            .claim("s", "a", Operation::Write, &paths(&["x", "y"]), 1)
            .unwrap()
        else {
            panic!()
        };
        for lock in &g {
            assert!(lock.fencing_token > last);
            last = lock.fencing_token;
        }
        store.release("s", "a", &ReleaseScope::All).unwrap();
    }
    // A renewal keeps the token of the lease it extends.
    let ClaimOutcome::Granted(first) = store
        .claim("s", "a", Operation::Write, &paths(&["z"]), 1)
        .unwrap()
    else {
        panic!()
    };
    let ClaimOutcome::Granted(again) = store
        .claim("s", "a", Operation::Write, &paths(&["z"]), 5)
        .unwrap()
    else {
        panic!()
    };
    assert!(again[0].renewed);
    assert_eq!(again[0].fencing_token, first[0].fencing_token);
    assert_eq!(again[0].expires_at_ms, T0 + 5 * 60_000);
}

#[test]
fn expiry_with_an_injected_clock_is_recorded_exactly_once() {
    let (_d, store, clock) = open_temp();
    register(&store, &["a", "b"]);
    store
        .claim("s", "a", Operation::Write, &paths(&["x"]), 1)
        .unwrap();
    clock.advance_ms(59_999);
    assert!(matches!(
        store
            .claim("s", "b", Operation::Write, &paths(&["x"]), 1)
            .unwrap(),
        ClaimOutcome::Conflicted(_)
    ));
    clock.advance_ms(1);
    // Expired locks stop counting at once, before any sweep.
    assert!(store.session_view("s").unwrap().locks.is_empty());
    assert!(matches!(
        store
            .claim("s", "b", Operation::Write, &paths(&["x"]), 1)
            .unwrap(),
        ClaimOutcome::Granted(_)
    ));
    assert_eq!(store.sweep_expired().unwrap(), 0);
    clock.advance_ms(60_000);
    assert_eq!(store.sweep_expired().unwrap(), 1);
    assert_eq!(store.sweep_expired().unwrap(), 0);
    let kinds = event_kinds(&store);
    assert_eq!(
        kinds,
        ["granted", "conflict", "expired", "granted", "expired"]
    );
}

#[test]
fn readers_share_and_a_writer_waits_for_them() {
    let (_d, store, _clock) = open_temp();
    register(&store, &["a", "b", "c"]);
    for r in ["a", "b"] {
        assert!(matches!(
            store
                .claim("s", r, Operation::Read, &paths(&["x"]), 5)
                .unwrap(),
            ClaimOutcome::Granted(_)
        ));
    }
    let ClaimOutcome::Conflicted(c) = store
        .claim("s", "c", Operation::Write, &paths(&["x"]), 5)
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(c.len(), 2);
    store.release("s", "a", &ReleaseScope::All).unwrap();
    store.release("s", "b", &ReleaseScope::All).unwrap();
    assert!(matches!(
        store
            .claim("s", "c", Operation::Write, &paths(&["x"]), 5)
            .unwrap(),
        ClaimOutcome::Granted(_)
    ));
}

#[test]
fn forced_release_is_recorded_with_who_did_it() {
    let (_d, store, _clock) = open_temp();
    register(&store, &["a"]);
    store
        .claim("s", "a", Operation::Write, &paths(&["x", "y"]), 5)
        .unwrap();
    let released = store
        .force_release(
            &ForceSelector::Path {
                session_id: None,
                path: "x".into(),
            },
            "dashboard",
        )
        .unwrap();
    assert_eq!(released.len(), 1);
    assert_eq!(released[0].0, "s");
    let snap = store.snapshot(10).unwrap();
    assert_eq!(snap.events[0].kind.as_str(), "forced_release");
    assert_eq!(
        snap.events[0].detail.as_deref(),
        Some("released by dashboard")
    );
    let released = store
        .force_release(
            &ForceSelector::Agent {
                session_id: Some("s".into()),
                agent_id: "a".into(),
            },
            "cli",
        )
        .unwrap();
    assert_eq!(released.len(), 1);
    assert!(store.snapshot(10).unwrap().locks.is_empty());
}

#[test]
fn thirty_two_threads_racing_for_one_path_get_one_grant() {
    let (_d, store, _clock) = open_temp();
    let names: Vec<String> = (0..32).map(|i| format!("agent{i}")).collect();
    register(
        &store,
        &names.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(32));
    let handles: Vec<_> = names
        .into_iter()
        .map(|name| {
            let store = store.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                (
                    name.clone(),
                    store
                        .claim("s", &name, Operation::Write, &paths(&["hot.rs"]), 5)
                        .unwrap(),
                )
            })
        })
        .collect();
    let outcomes: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let winners: Vec<_> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, ClaimOutcome::Granted(_)))
        .collect();
    assert_eq!(winners.len(), 1);
    let winner = &winners[0].0;
    for (_, o) in &outcomes {
        if let ClaimOutcome::Conflicted(c) = o {
            assert_eq!(&c[0].holder, winner);
        }
    }
}

#[test]
fn directory_and_glob_locks_are_found_by_every_claim_they_overlap() {
    let (_d, store, _clock) = open_temp();
    register(&store, &["a", "b"]);
    let claim = |agent: &str, list: &[&str]| {
        store
            .claim("s", agent, Operation::Write, &paths(list), 5)
            .unwrap()
    };
    assert!(matches!(
        claim("a", &["src/api/"]),
        ClaimOutcome::Granted(_)
    ));
    let ClaimOutcome::Conflicted(c) = claim("b", &["src/api/v1/x.rs"]) else {
        panic!("a file under a held directory conflicts");
    };
    assert_eq!(
        (c[0].held_path.as_str(), c[0].holder.as_str()),
        ("src/api/", "a")
    );
    assert!(matches!(
        claim("b", &["src/apis.rs"]),
        ClaimOutcome::Granted(_)
    ));
    // A pattern claim finds the files under its literal prefix, and other patterns.
    let ClaimOutcome::Conflicted(c) = claim("a", &["src/*.rs"]) else {
        panic!("src/*.rs matches b's src/apis.rs");
    };
    assert_eq!(c[0].held_path, "src/apis.rs");
    assert!(matches!(
        claim("b", &["tests/**/*.rs"]),
        ClaimOutcome::Granted(_)
    ));
    assert!(matches!(claim("a", &["docs/**"]), ClaimOutcome::Granted(_)));
    assert!(matches!(
        claim("b", &["docs/"]),
        ClaimOutcome::Conflicted(_)
    ));
    // The same pattern again renews; releasing it names the same string.
    let ClaimOutcome::Granted(g) = claim("a", &["src/api/"]) else {
        panic!("renewal");
    };
    assert!(g[0].renewed);
    let r = store
        .release("s", "a", &ReleaseScope::Paths(paths(&["src/api/"])))
        .unwrap();
    assert_eq!(r.released.len(), 1);
    assert!(matches!(
        claim("b", &["src/api/v1/x.rs"]),
        ClaimOutcome::Granted(_)
    ));
}

#[test]
fn the_pattern_index_matches_the_rules_and_is_used() {
    assert!(
        crate::store::sqlite::migrations::V1.contains(&format!("WHERE {PATTERN_ROWS}")),
        "V1__initial.sql's idx_file_locks_patterns must be spelled as PATTERN_ROWS"
    );
    let (_d, store, _clock) = open_temp();
    register(&store, &["a"]);
    let samples = [
        "src/a.rs", "src/", "src/*.rs", "a?", "[ab]", "{a,b}", "a\\*", "a]b", "a}b", "a/b/c",
    ];
    store
        .read(|c| {
            for path in samples {
                let sql_says: bool = c.query_row(
                    &format!("SELECT {PATTERN_ROWS} FROM (SELECT ?1 AS file_path)"),
                    [path],
                    |r| r.get(0),
                )?;
                assert_eq!(
                    sql_says,
                    crate::rules::targets::is_pattern(path),
                    "{path}"
                );
            }
            let plan: Vec<String> = c
                .prepare(&format!(
                    "EXPLAIN QUERY PLAN SELECT id FROM file_locks WHERE session_id = ?1 AND {PATTERN_ROWS}"
                ))?
                .query_map(["s"], |r| r.get(3))?
                .collect::<rusqlite::Result<_>>()?;
            assert!(
                plan.iter().any(|p| p.contains("idx_file_locks_patterns")),
                "{plan:?}"
            );
            Ok(())
        })
        .unwrap();
}

#[test]
fn prefix_ranges_end_where_the_prefix_does() {
    assert_eq!(prefix_upper_bound("src/").as_deref(), Some("src0"));
    assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
    assert_eq!(prefix_upper_bound("\u{D7FF}").as_deref(), Some("\u{E000}"));
    assert_eq!(prefix_upper_bound(""), None);
    assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
}
