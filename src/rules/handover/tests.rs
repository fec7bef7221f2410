use super::*;
use ccmulti_model::{AgentWorkspace, PathVersion};

const GRANTED_MS: Millis = 1_800_000_000_000;
const DURING: i64 = 1_800_000_100;
const BEFORE: i64 = 1_799_999_000;

fn ws(worktree: &str) -> AgentWorkspace {
    AgentWorkspace {
        host: Some("box".into()),
        worktree: worktree.into(),
        branch: Some(format!("b/{}", worktree.trim_start_matches("/w/"))),
    }
}

fn write_lock(path: &str) -> EndingLock {
    EndingLock {
        path: path.into(),
        exclusive: true,
        granted_at_ms: GRANTED_MS,
    }
}

fn committed(commit: &str, at: i64, blob: Option<&str>) -> Committed {
    Committed {
        commit: commit.into(),
        committed_at_secs: at,
        blob: blob.map(str::to_owned),
    }
}

fn version(
    path: &str,
    agent: &str,
    worktree: &str,
    commit: &str,
    blob: Option<&str>,
) -> PathVersion {
    PathVersion {
        id: 1,
        session_id: "s1".into(),
        path: path.into(),
        agent_id: agent.into(),
        workspace: ws(worktree),
        commit: Some(commit.into()),
        blob: blob.map(str::to_owned),
        left_uncommitted: false,
        recorded_at_ms: GRANTED_MS,
    }
}

fn release(
    locks: &[EndingLock],
    facts: &WorktreeFacts,
    latest: &BTreeMap<String, PathVersion>,
    ending: Ending,
) -> ReleaseVerdict {
    on_release("impl_a", &ws("/w/a"), locks, facts, latest, ending)
}

#[test]
fn uncommitted_changes_refuse_a_release_and_name_the_files() {
    let facts = WorktreeFacts {
        uncommitted: ["src/app.py".into(), "src/other.py".into()].into(),
        committed: BTreeMap::new(),
    };
    assert_eq!(
        release(
            &[write_lock("src/app.py")],
            &facts,
            &BTreeMap::new(),
            Ending::Release
        ),
        ReleaseVerdict::CommitFirst(vec!["src/app.py".into()]),
        "only the released locks' files count"
    );
    let read = EndingLock {
        exclusive: false,
        ..write_lock("src/app.py")
    };
    assert_eq!(
        release(&[read], &facts, &BTreeMap::new(), Ending::Release),
        ReleaseVerdict::Records(vec![]),
        "a read lock changes nothing"
    );
    assert_eq!(
        release(
            &[write_lock("src/")],
            &facts,
            &BTreeMap::new(),
            Ending::Release
        ),
        ReleaseVerdict::CommitFirst(vec!["src/app.py".into(), "src/other.py".into()]),
        "a directory lock covers the files under it"
    );
    let message = commit_first_message(&["src/app.py".into(), "src/my file.py".into()]);
    assert!(
        message.starts_with("commit first: src/app.py, src/my file.py have uncommitted changes"),
        "{message}"
    );
    assert!(
        message.contains("`git add -A -- src/app.py 'src/my file.py' && git commit -m \"...\"`"),
        "{message}"
    );
}

#[test]
fn a_forced_release_goes_through_and_flags_the_work_left_behind() {
    let facts = WorktreeFacts {
        uncommitted: ["src/app.py".into(), "src/util.py".into()].into(),
        committed: [(
            "src/util.py".to_string(),
            committed("c1", DURING, Some("u1")),
        )]
        .into(),
    };
    let ReleaseVerdict::Records(records) = release(
        &[write_lock("src/app.py"), write_lock("src/util.py")],
        &facts,
        &BTreeMap::new(),
        Ending::Forced,
    ) else {
        panic!("a forced release goes through");
    };
    let summary: Vec<(&str, Option<&str>, bool)> = records
        .iter()
        .map(|r| (r.path.as_str(), r.commit.as_deref(), r.left_uncommitted))
        .collect();
    assert_eq!(
        summary,
        [
            ("src/app.py", None, true),
            ("src/util.py", Some("c1"), true)
        ]
    );
}

#[test]
fn a_release_records_a_change_committed_under_the_lock_and_nothing_else() {
    let facts = WorktreeFacts {
        uncommitted: BTreeSet::new(),
        committed: [
            (
                "src/app.py".to_string(),
                committed("c2", DURING, Some("a2")),
            ),
            (
                "src/old.py".to_string(),
                committed("c0", BEFORE, Some("o0")),
            ),
            (
                "src/merged.py".to_string(),
                committed("cb", DURING, Some("m1")),
            ),
        ]
        .into(),
    };
    // merged.py's content is the version impl_b recorded: brought in, not changed.
    let latest: BTreeMap<String, PathVersion> = [(
        "src/merged.py".to_string(),
        version("src/merged.py", "impl_b", "/w/b", "cb", Some("m1")),
    )]
    .into();
    let locks = [
        write_lock("src/app.py"),
        write_lock("src/old.py"),
        write_lock("src/merged.py"),
    ];
    assert_eq!(
        release(&locks, &facts, &latest, Ending::Release),
        ReleaseVerdict::Records(vec![NewVersion {
            path: "src/app.py".into(),
            agent: "impl_a".into(),
            workspace: ws("/w/a"),
            commit: Some("c2".into()),
            blob: Some("a2".into()),
            left_uncommitted: false,
        }])
    );
}

#[test]
fn a_deletion_and_a_rename_are_versions_too() {
    // A rename is the old path deleted and the new one added, both under the lock.
    let facts = WorktreeFacts {
        uncommitted: BTreeSet::new(),
        committed: [
            ("src/old.py".to_string(), committed("c3", DURING, None)),
            (
                "src/new.py".to_string(),
                committed("c3", DURING, Some("n1")),
            ),
        ]
        .into(),
    };
    let ReleaseVerdict::Records(records) = release(
        &[write_lock("src/*.py")],
        &facts,
        &BTreeMap::new(),
        Ending::Release,
    ) else {
        panic!("released");
    };
    let summary: Vec<(&str, Option<&str>)> = records
        .iter()
        .map(|r| (r.path.as_str(), r.blob.as_deref()))
        .collect();
    assert_eq!(summary, [("src/new.py", Some("n1")), ("src/old.py", None)]);
}

#[test]
fn only_another_agent_in_another_checkout_hands_over() {
    let v = version("src/app.py", "impl_a", "/w/a", "c1", Some("a1"));
    assert!(is_candidate(&v, "impl_b", &ws("/w/b")));
    assert!(
        !is_candidate(&v, "impl_a", &ws("/w/b")),
        "one's own version"
    );
    assert!(
        !is_candidate(&v, "impl_b", &ws("/w/a")),
        "one checkout shared"
    );
    let elsewhere = AgentWorkspace {
        host: Some("laptop".into()),
        ..ws("/w/a")
    };
    assert!(
        is_candidate(&v, "impl_b", &elsewhere),
        "the same path on another machine is another clone"
    );
    let me = ws("/w/a");
    assert!(is_own(&me, [&ws("/w/b"), &elsewhere]));
    assert!(!is_own(&me, [&ws("/w/b"), &ws("/w/a")]));
}

#[test]
fn a_grant_hands_over_what_the_claimers_head_and_file_lack() {
    let v = version(
        "src/app.py",
        "impl_a",
        "/w/a",
        "0123456789abcdef",
        Some("a1"),
    );
    let facts = |in_head, content: Option<&str>| ClaimerFacts {
        in_head: Some(in_head),
        content: content.map(str::to_owned),
    };
    assert_eq!(pending(&v, &facts(InHead::Yes, Some("a0"))), None);
    assert_eq!(
        pending(&v, &facts(InHead::No, Some("a1"))),
        None,
        "the same content already"
    );
    let handover = pending(&v, &facts(InHead::No, Some("a0"))).expect("a hand-over");
    assert_eq!(
        handover.command().as_deref(),
        Some("git merge --no-edit 0123456789abcdef")
    );
    assert_eq!(
        handover.message(),
        "impl_a changed src/app.py in commit 0123456789 (branch b/a), which your worktree lacks: \
         bring it in before editing the file: `git merge --no-edit 0123456789abcdef`."
    );
    let remote = pending(&v, &facts(InHead::NotInRepository, Some("a0"))).expect("a hand-over");
    assert_eq!(
        remote.command().as_deref(),
        Some("git fetch <remote> b/a && git merge --no-edit 0123456789abcdef")
    );
    assert!(
        remote
            .message()
            .contains("made in another clone: fetch it from where impl_a pushes"),
        "{}",
        remote.message()
    );
    let deleted = version("src/app.py", "impl_a", "/w/a", "c9", None);
    assert_eq!(pending(&deleted, &facts(InHead::No, None)), None);
    assert!(pending(&deleted, &facts(InHead::No, Some("a0"))).is_some());
}

#[test]
fn work_left_uncommitted_is_told_without_a_command() {
    let left = PathVersion {
        commit: None,
        blob: None,
        left_uncommitted: true,
        ..version("src/app.py", "impl_a", "/w/a", "-", None)
    };
    let facts = ClaimerFacts {
        in_head: None,
        content: Some("a0".into()),
    };
    let handover = pending(&left, &facts).expect("told");
    assert_eq!(handover.command(), None);
    assert!(
        handover
            .message()
            .contains("impl_a has changes to src/app.py in its worktree /w/a (branch b/a) that are in no commit yet"),
        "{}",
        handover.message()
    );
}

fn landing(branch: &str, first: Option<Millis>) -> Landing {
    Landing {
        branch: branch.into(),
        first_record_ms: first,
    }
}

#[test]
fn branches_land_in_hand_over_order_then_by_first_record() {
    let branches = [
        landing("c", Some(30)),
        landing("b", Some(20)),
        landing("a", Some(10)),
        landing("quiet", None),
    ];
    // c's version was brought into a: c lands first, though a recorded first.
    let order = landing_order(&branches, |i, j| (i, j) == (0, 2));
    let names: Vec<&str> = order.iter().map(|&i| branches[i].branch.as_str()).collect();
    assert_eq!(names, ["b", "c", "a", "quiet"]);
    // A chain of three: a -> b -> c.
    let chain = [
        landing("x", Some(3)),
        landing("y", Some(2)),
        landing("z", Some(1)),
    ];
    let order = landing_order(&chain, |i, j| (i, j) == (2, 1) || (i, j) == (1, 0));
    assert_eq!(order, [2, 1, 0]);
    // Each brought in the other's: the first record goes first.
    let order = landing_order(&chain[..2], |_, _| true);
    assert_eq!(order, [1, 0]);
}

fn other(agent: &str, commit: Option<Committed>, uncommitted: bool) -> OtherChange {
    OtherChange {
        path: "app.py".into(),
        agent: agent.into(),
        workspace: ws(&format!("/w/{agent}")),
        committed: commit,
        uncommitted,
    }
}

#[test]
fn a_grant_records_a_commit_found_in_another_worktree_once() {
    let found = vec![other("a", Some(committed("c1", DURING, Some("b1"))), false)];
    let none = BTreeMap::new();
    let records = discovered(found.clone(), &none);
    assert_eq!(records.len(), 1);
    assert_eq!(
        (
            records[0].agent.as_str(),
            records[0].commit.as_deref(),
            records[0].blob.as_deref()
        ),
        ("a", Some("c1"), Some("b1"))
    );
    assert!(!records[0].left_uncommitted);
    // Already the latest version: nothing new.
    let latest = BTreeMap::from([(
        "app.py".to_owned(),
        version("app.py", "a", "/w/a", "c1", Some("b1")),
    )]);
    assert!(discovered(found, &latest).is_empty());
}

#[test]
fn commits_from_several_worktrees_are_recorded_oldest_first() {
    let found = vec![
        other("b", Some(committed("c2", DURING, None)), true),
        other("a", Some(committed("c1", BEFORE, Some("b1"))), false),
        other("c", None, false),
    ];
    let records = discovered(found, &BTreeMap::new());
    let order: Vec<_> = records.iter().map(|r| r.commit.as_deref()).collect();
    assert_eq!(order, [Some("c1"), Some("c2")]);
    assert!(
        records[1].left_uncommitted,
        "b's further changes are flagged"
    );
    assert_eq!(records[1].blob, None, "c2 deleted the file");
}

#[test]
fn changes_left_uncommitted_are_recorded_once_per_agent() {
    let found = vec![other("a", None, true), other("a", None, true)];
    let records = discovered(found.clone(), &BTreeMap::new());
    assert_eq!(records.len(), 1);
    assert_eq!(
        (records[0].commit.as_deref(), records[0].left_uncommitted),
        (None, true)
    );
    let mut flagged = version("app.py", "a", "/w/a", "c0", None);
    flagged.commit = None;
    flagged.left_uncommitted = true;
    let latest = BTreeMap::from([("app.py".to_owned(), flagged)]);
    assert!(discovered(found, &latest).is_empty());
}

#[test]
fn a_change_in_no_commit_is_out_of_date_once_its_agent_records_the_path_again() {
    let left = PathVersion {
        id: 3,
        commit: None,
        left_uncommitted: true,
        ..version("src/app.py", "impl_a", "/w/a", "-", None)
    };
    let committed = PathVersion {
        id: 5,
        ..version("src/app.py", "impl_a", "/w/a", "c1", Some("a1"))
    };
    let others = PathVersion {
        id: 7,
        ..version("src/app.py", "impl_b", "/w/b", "c2", Some("b1"))
    };
    assert!(
        !superseded(&left, [&left, &others]),
        "another agent's record"
    );
    assert!(superseded(&left, [&left, &committed, &others]));
    assert!(
        !superseded(&committed, [&left, &committed, &others]),
        "a commit stays"
    );
}
