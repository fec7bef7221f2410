//! Facts gathered from real worktrees.

use super::*;
use crate::git::tests::Repo;
use ccmulti_model::AgentWorkspace;

fn lock(path: &str, granted_at_ms: i64) -> EndingLock {
    EndingLock {
        path: path.into(),
        exclusive: true,
        granted_at_ms,
    }
}

fn checkout(top: &Path, within: &str) -> Checkout {
    Checkout {
        top: top.to_owned(),
        within: PathBuf::from(within),
    }
}

#[test]
fn ending_locks_see_uncommitted_files_and_the_commits_that_changed_theirs() {
    let repo = Repo::new(&[
        ("proj/src/app.py", "a\n"),
        ("proj/src/util.py", "u\n"),
        ("proj/src/gone.py", "g\n"),
        ("proj/README", "r\n"),
    ]);
    let wt = repo.worktree("impl_a");
    let co = checkout(&wt, "proj");
    let granted = 1_000; // long before any commit here
    repo.write(&wt, &[("proj/src/app.py", "a2\n")]);
    std::fs::remove_file(wt.join("proj/src/gone.py")).unwrap();
    let commit = repo.commit(&wt, "A");
    repo.write(
        &wt,
        &[("proj/src/util.py", "u2\n"), ("proj/src/new.py", "n\n")],
    );

    let facts = ending(
        &co,
        &[
            lock("src/app.py", granted),
            lock("src/*.py", granted),
            EndingLock {
                exclusive: false,
                ..lock("README", granted)
            },
        ],
    )
    .unwrap();
    assert_eq!(
        facts.uncommitted.iter().collect::<Vec<_>>(),
        ["src/new.py", "src/util.py"]
    );
    let app = &facts.committed["src/app.py"];
    assert_eq!(app.commit, commit);
    assert_eq!(
        app.blob.as_deref(),
        Some(
            repo.git(&wt, &["rev-parse", "HEAD:proj/src/app.py"])
                .as_str()
        )
    );
    let gone = &facts.committed["src/gone.py"];
    assert_eq!(
        (gone.commit.as_str(), gone.blob.as_deref()),
        (commit.as_str(), None)
    );
    assert!(
        !facts.committed.contains_key("README"),
        "a read lock is not looked at"
    );
}

#[test]
fn a_claimer_has_a_version_by_its_commit_or_by_its_content() {
    let repo = Repo::new(&[("src/app.py", "a\n")]);
    let (a, b) = (repo.worktree("impl_a"), repo.worktree("impl_b"));
    repo.write(&a, &[("src/app.py", "a2\n")]);
    let commit = repo.commit(&a, "A");
    let version = PathVersion {
        id: 7,
        session_id: "s1".into(),
        path: "src/app.py".into(),
        agent_id: "impl_a".into(),
        workspace: AgentWorkspace {
            host: None,
            worktree: a.to_string_lossy().into_owned(),
            branch: Some("impl_a".into()),
        },
        commit: Some(commit.clone()),
        blob: Some(repo.git(&a, &["rev-parse", "HEAD:src/app.py"])),
        left_uncommitted: false,
        recorded_at_ms: 0,
    };
    let co = checkout(&b, "");
    let scan = claimer(&co, &[&version], &|_| false).unwrap();
    assert_eq!(scan.facts[&7].in_head, Some(InHead::No));
    assert!(scan.found_in_head.is_empty());
    let stale = scan.facts[&7].content.clone();
    assert!(stale.is_some() && stale != version.blob);

    repo.git(&b, &["merge", "-q", "--no-edit", &commit]);
    let scan = claimer(&co, &[&version], &|_| false).unwrap();
    assert_eq!(scan.facts[&7].in_head, Some(InHead::Yes));
    assert_eq!(scan.found_in_head, std::slice::from_ref(&commit));
    let known = claimer(&co, &[&version], &|c| c == commit).unwrap();
    assert_eq!(known.facts[&7].in_head, Some(InHead::Yes));
    assert!(known.found_in_head.is_empty(), "not asked again");

    let elsewhere = Repo::new(&[("src/app.py", "a\n")]);
    let scan = claimer(&checkout(&elsewhere.top, ""), &[&version], &|_| false).unwrap();
    assert_eq!(scan.facts[&7].in_head, Some(InHead::NotInRepository));
}
