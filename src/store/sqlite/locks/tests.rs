use super::*;
use crate::store::sqlite::test_support::{open_temp, paths, register};

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
