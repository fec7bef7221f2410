//! Hand-over through the service, with real git worktrees, on both backends:
//! a release refused until committed, then a chain of three agents.

use std::path::{Path, PathBuf};

use super::*;
use crate::clock::{Clock, SystemClock};
use crate::git::tests::Repo;
use crate::rules::locks::steps::{ClaimOutcome, ClaimRequest};
use crate::store::behaviour::{Fixture, on_both_backends, paths, register};
use ccmulti_model::{Operation, VirtualUser};

on_both_backends!(
    a_change_travels_down_a_chain_of_three_worktrees,
    a_change_is_handed_over_after_its_lock_ran_out,
    a_reader_in_a_stale_worktree_is_told_of_the_newer_version,
    a_waiter_whose_uncommitted_change_is_needed_is_called_away_to_commit_it,
    a_grant_hands_over_each_worktrees_change_not_only_the_newest,
    the_rest_of_a_change_partly_committed_is_handed_over_once_committed,
    a_worktree_that_merged_an_older_version_does_not_hide_the_latest,
);

const APP: &str = "def total(xs):\n    return sum(xs)\n";

async fn place(coord: &Coordinator, agent: &str, worktree: &Path) {
    let user: VirtualUser = format!("u__session__s__{agent}").parse().unwrap();
    let workspace = AgentWorkspace {
        worktree: worktree.to_string_lossy().into_owned(),
        branch: Some(agent.into()),
        host: git::this_host(),
    };
    coord.set_workspace(&user, &workspace).await.unwrap();
}

async fn claim(coord: &Coordinator, roots: &[PathBuf], agent: &str) -> Vec<handover::HandOver> {
    let request = ClaimRequest {
        session: "s".into(),
        agent: agent.into(),
        operation: Operation::Write,
        paths: paths(&["app.py"]),
        lease_ms: 15 * 60_000,
        idle_yield_ms: None,
    };
    let ClaimOutcome::Granted(granted) = coord.claim_now(&request).await.unwrap() else {
        panic!("{agent}'s claim was refused");
    };
    coord
        .handovers_of_grant(roots, "s", agent, &granted)
        .await
        .unwrap()
}

async fn release(coord: &Coordinator, roots: &[PathBuf], agent: &str) -> Released {
    coord
        .release_handing_over(roots, "s", agent, &ReleaseScope::All)
        .await
        .unwrap()
}

/// Each hand-over as (from, commit, left uncommitted).
fn froms(told: &[handover::HandOver]) -> Vec<(&str, Option<&str>, bool)> {
    told.iter()
        .map(|h| (h.from.as_str(), h.commit.as_deref(), h.left_uncommitted))
        .collect()
}

/// impl_a claims app.py in its worktree `a`, finding nothing to bring in,
/// and commits a change to it; the commit.
async fn impl_a_commits_a_list(
    coord: &Coordinator,
    roots: &[PathBuf],
    repo: &Repo,
    a: &Path,
) -> String {
    assert!(claim(coord, roots, "impl_a").await.is_empty());
    repo.write(
        a,
        &[("app.py", "def total(xs):\n    return sum(list(xs))\n")],
    );
    repo.commit(a, "impl_a: a list")
}

/// A repository holding `app.py` with a worktree for each of impl_a, impl_b
/// and impl_c, each placed there; the project roots (the main checkout's
/// and the worktrees').
async fn three_worktrees(fx: &Fixture, coord: &Coordinator) -> (Repo, Vec<PathBuf>, Vec<PathBuf>) {
    let repo = Repo::new(&[("app.py", APP)]);
    let trees: Vec<PathBuf> = ["impl_a", "impl_b", "impl_c"]
        .iter()
        .map(|a| repo.worktree(a))
        .collect();
    let roots: Vec<PathBuf> = std::iter::once(repo.top.clone())
        .chain(trees.iter().cloned())
        .collect();
    register(fx.store.as_ref(), &["impl_a", "impl_b", "impl_c"]).await;
    for (agent, tree) in ["impl_a", "impl_b", "impl_c"].iter().zip(&trees) {
        place(coord, agent, tree).await;
    }
    (repo, trees, roots)
}

async fn a_change_travels_down_a_chain_of_three_worktrees(fx: Fixture) {
    let coord = Coordinator::new(fx.store.clone());
    // Commits carry the real time; the grants must not be later than them.
    let behind = SystemClock.now_ms() - 60_000 - fx.clock.now_ms();
    fx.clock.advance_ms(behind.max(0));
    let (repo, trees, roots) = three_worktrees(&fx, &coord).await;
    let (a, b, c) = (&trees[0], &trees[1], &trees[2]);

    // impl_a: a release before committing is refused and releases nothing.
    assert!(claim(&coord, &roots, "impl_a").await.is_empty());
    repo.write(
        a,
        &[(
            "app.py",
            "def total(xs):\n    xs = list(xs)\n    return sum(xs)\n",
        )],
    );
    assert_eq!(
        release(&coord, &roots, "impl_a").await,
        Released::CommitFirst(vec!["app.py".into()])
    );
    assert_eq!(
        coord.store().session_view("s").await.unwrap().locks.len(),
        1
    );
    let one = repo.commit(a, "impl_a: a list");
    let Released::Done(done) = release(&coord, &roots, "impl_a").await else {
        panic!("the committed release was refused");
    };
    assert_eq!(done.released.len(), 1);

    // impl_b is told to bring impl_a's commit in, does, and builds on it.
    let told = claim(&coord, &roots, "impl_b").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].from, "impl_a");
    assert_eq!(
        told[0].command(),
        Some(format!("git merge --no-edit {one}"))
    );
    assert_eq!(
        coord
            .pending_handovers(&roots, "s", "impl_b")
            .await
            .unwrap(),
        told
    );
    repo.git(b, &["merge", "-q", "--no-edit", &one]);
    assert!(
        coord
            .pending_handovers(&roots, "s", "impl_b")
            .await
            .unwrap()
            .is_empty(),
        "a hand-over brought in is still pending"
    );
    repo.write(
        b,
        &[(
            "app.py",
            "def total(xs):\n    xs = list(xs)\n    return round(sum(xs), 2)\n",
        )],
    );
    let two = repo.commit(b, "impl_b: rounds");
    assert!(matches!(
        release(&coord, &roots, "impl_b").await,
        Released::Done(_)
    ));

    // impl_c is told of the latest version, impl_b's, which holds impl_a's.
    let told = claim(&coord, &roots, "impl_c").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(
        (told[0].from.as_str(), told[0].commit.as_deref()),
        ("impl_b", Some(two.as_str()))
    );
    repo.git(c, &["merge", "-q", "--no-edit", &two]);
    assert_eq!(
        std::fs::read_to_string(c.join("app.py")).unwrap(),
        "def total(xs):\n    xs = list(xs)\n    return round(sum(xs), 2)\n"
    );
    assert!(
        coord
            .pending_handovers(&roots, "s", "impl_c")
            .await
            .unwrap()
            .is_empty()
    );
    // impl_c released without changing the file: no version of its own.
    assert!(matches!(
        release(&coord, &roots, "impl_c").await,
        Released::Done(_)
    ));
    let recorded: Vec<String> = coord
        .store()
        .path_versions("s")
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.agent_id)
        .collect();
    assert_eq!(recorded, ["impl_a", "impl_b"]);
}

/// The lease ends without a release (the hook's short lease, a holder that
/// forgot): the next grant finds the committed change in the other worktree
/// itself, and says so of changes left in no commit.
async fn a_change_is_handed_over_after_its_lock_ran_out(fx: Fixture) {
    let coord = Coordinator::new(fx.store.clone());
    let (repo, trees, roots) = three_worktrees(&fx, &coord).await;
    let (a, b) = (&trees[0], &trees[1]);

    let one = impl_a_commits_a_list(&coord, &roots, &repo, a).await;
    fx.clock.advance_ms(16 * 60_000);

    let told = claim(&coord, &roots, "impl_b").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(
        (told[0].from.as_str(), told[0].command()),
        ("impl_a", Some(format!("git merge --no-edit {one}")))
    );
    // Claimed again after its lease: the same version, not a second record.
    fx.clock.advance_ms(16 * 60_000);
    assert_eq!(claim(&coord, &roots, "impl_b").await, told);
    assert_eq!(coord.store().path_versions("s").await.unwrap().len(), 1);

    // impl_b brings it in and edits, but its lease ends before it commits.
    repo.git(b, &["merge", "-q", "--no-edit", &one]);
    repo.write(
        b,
        &[(
            "app.py",
            "def total(xs):\n    return round(sum(list(xs)), 2)\n",
        )],
    );
    fx.clock.advance_ms(16 * 60_000);
    let told = claim(&coord, &roots, "impl_c").await;
    assert_eq!(froms(&told), [("impl_b", None, true)], "{told:?}");
    assert!(
        told[0].message().contains("in no commit yet"),
        "{}",
        told[0].message()
    );

    // impl_b's news asks it, once, to commit; then the next read hands the commit over.
    fx.clock.advance_ms(1000);
    let wanted = |news: Vec<crate::rules::news::News>| -> Vec<String> {
        news.iter()
            .filter(|n| n.kind() == "change_wanted")
            .map(crate::rules::news::News::message)
            .collect()
    };
    let (_, news) = coord.status("s", "impl_b", true).await.unwrap();
    let asked = wanted(news);
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(asked[0].contains("git add -A -- app.py"), "{}", asked[0]);
    fx.clock.advance_ms(1000);
    let (_, news) = coord.status("s", "impl_b", true).await.unwrap();
    assert!(wanted(news).is_empty(), "told once");
    let two = repo.commit(b, "impl_b: rounded");
    // impl_c's next edit renews its lock: the change is looked for again, now a commit.
    let renewed = claim(&coord, &roots, "impl_c").await;
    let commands: Vec<Option<String>> = renewed.iter().map(handover::HandOver::command).collect();
    assert_eq!(commands, [Some(format!("git merge --no-edit {two}"))]);
    let told = coord
        .newer_for_reading(&roots, "s", "impl_c", &["app.py".to_owned()])
        .await
        .unwrap();
    let commands: Vec<Option<String>> = told.iter().map(handover::HandOver::command).collect();
    assert_eq!(commands, [Some(format!("git merge --no-edit {two}"))]);
    fx.clock.advance_ms(1000);
    let (_, news) = coord.status("s", "impl_b", true).await.unwrap();
    assert!(wanted(news).is_empty(), "committed: nothing more to ask");
}

/// Reading a file: told of a newer version its worktree lacks before any
/// claim (Claude Code refuses an edit whose text is missing before the
/// pre-tool hook runs); nothing is kept, as no lock is held.
async fn a_reader_in_a_stale_worktree_is_told_of_the_newer_version(fx: Fixture) {
    let coord = Coordinator::new(fx.store.clone());
    let (repo, trees, roots) = three_worktrees(&fx, &coord).await;
    let (a, b) = (&trees[0], &trees[1]);
    let read = |agent: &'static str| {
        let (coord, roots) = (&coord, &roots);
        async move {
            coord
                .newer_for_reading(roots, "s", agent, &["app.py".to_owned()])
                .await
                .unwrap()
        }
    };
    assert!(read("impl_b").await.is_empty(), "nothing newer yet");

    // impl_a commits without ever claiming: found all the same.
    repo.write(
        a,
        &[("app.py", "def total(xs):\n    return sum(list(xs))\n")],
    );
    let one = repo.commit(a, "impl_a: a list");
    let told = read("impl_b").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(
        (told[0].from.as_str(), told[0].command()),
        ("impl_a", Some(format!("git merge --no-edit {one}")))
    );
    assert!(fx.store.pending_handovers("s").await.unwrap().is_empty());
    assert!(read("impl_a").await.is_empty(), "its own change");

    repo.git(b, &["merge", "-q", "--no-edit", &one]);
    assert!(read("impl_b").await.is_empty(), "brought in");
}

/// A wait in a cycle only one edge of which is a lock: impl_b waits for a
/// lock impl_c holds, while impl_a needs impl_b's uncommitted change. impl_b
/// cannot commit while it waits, so finding the need calls it away: its
/// wait ends at once, refused, naming the file to commit.
async fn a_waiter_whose_uncommitted_change_is_needed_is_called_away_to_commit_it(fx: Fixture) {
    let coord = Coordinator::new(fx.store.clone());
    let (repo, trees, roots) = three_worktrees(&fx, &coord).await;
    repo.write(
        &trees[1],
        &[("app.py", "def total(xs):\n    return sum(list(xs))\n")],
    );
    let held = crate::coord::tests::request("impl_c", &["other.py"]);
    assert!(matches!(
        coord.claim_now(&held).await.unwrap(),
        ClaimOutcome::Granted(_)
    ));
    let waiter = crate::coord::tests::spawn_waiter(&coord, "impl_b", &["other.py"], 60);
    crate::coord::tests::until("impl_b waits", || coord.waiting_claims() == 1).await;

    let told = coord
        .newer_for_reading(&roots, "s", "impl_a", &["app.py".to_owned()])
        .await
        .unwrap();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].left_uncommitted && told[0].commit.is_none(),
        "{told:?}"
    );

    let waited = tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
        .await
        .expect("called away well before its minute")
        .unwrap();
    assert!(
        matches!(waited.outcome, ClaimOutcome::Conflicted(_)),
        "{waited:?}"
    );
    assert_eq!(waited.called_away, ["app.py"]);
    assert!(waited.cycle.is_none());
}

/// Two worktrees each committed a change to the file that the other lacks
/// (no lock ordered them: edited through the shell, or a lease ran out): a
/// path has one latest version, but the grant hands over both, and keeps
/// telling the one not brought in yet.
async fn a_grant_hands_over_each_worktrees_change_not_only_the_newest(fx: Fixture) {
    let coord = Coordinator::new(fx.store.clone());
    let (repo, trees, roots) = three_worktrees(&fx, &coord).await;
    repo.write(
        &trees[0],
        &[("app.py", "def total(xs, start=0):\n    return sum(xs)\n")],
    );
    let by_a = repo.commit(&trees[0], "impl_a: a start");
    repo.write(
        &trees[1],
        &[(
            "app.py",
            "def total(xs):\n    return sum(xs)  # all of them\n",
        )],
    );
    let by_b = repo.commit(&trees[1], "impl_b: a comment");

    let told = claim(&coord, &roots, "impl_c").await;
    let mut commits: Vec<Option<String>> = told.iter().map(|h| h.commit.clone()).collect();
    commits.sort();
    let mut want = vec![Some(by_a.clone()), Some(by_b.clone())];
    want.sort();
    assert_eq!(commits, want, "{told:?}");

    // impl_c brings in impl_a's only: impl_b's is still told, at the next edit's renewal too.
    repo.git(&trees[2], &["merge", "-q", "--no-edit", &by_a]);
    let told = claim(&coord, &roots, "impl_c").await;
    let commits: Vec<Option<String>> = told.iter().map(|h| h.commit.clone()).collect();
    assert_eq!(commits, [Some(by_b.clone())], "{told:?}");
    let pending = coord
        .pending_handovers(&roots, "s", "impl_c")
        .await
        .unwrap();
    let commits: Vec<Option<String>> = pending.iter().map(|h| h.commit.clone()).collect();
    assert_eq!(commits, [Some(by_b)], "{pending:?}");
}

/// impl_a's lease ended with one commit of its change to app.py and more of
/// it in no commit. impl_b brings that commit in; its next check (the
/// renewal at its next edit) hands over the rest as in no commit, and once
/// impl_a commits it, that commit, rather than taking the first commit as
/// the whole change.
async fn the_rest_of_a_change_partly_committed_is_handed_over_once_committed(fx: Fixture) {
    let coord = Coordinator::new(fx.store.clone());
    let (repo, trees, roots) = three_worktrees(&fx, &coord).await;
    let (a, b) = (&trees[0], &trees[1]);

    let one = impl_a_commits_a_list(&coord, &roots, &repo, a).await;
    repo.write(
        a,
        &[("app.py", "def total(xs):\n    return sum(list(xs)) or 0\n")],
    );
    fx.clock.advance_ms(16 * 60_000);

    let told = claim(&coord, &roots, "impl_b").await;
    assert_eq!(
        froms(&told),
        [("impl_a", Some(one.as_str()), true)],
        "{told:?}"
    );
    repo.git(b, &["merge", "-q", "--no-edit", &one]);
    // The rest, still in no commit: handed over as such (the hook waits for it).
    let rest = claim(&coord, &roots, "impl_b").await;
    assert_eq!(froms(&rest), [("impl_a", None, true)], "{rest:?}");

    let two = repo.commit(a, "impl_a: or zero");
    let renewed = claim(&coord, &roots, "impl_b").await;
    let commands: Vec<Option<String>> = renewed.iter().map(handover::HandOver::command).collect();
    assert_eq!(
        commands,
        [Some(format!("git merge --no-edit {two}"))],
        "{renewed:?}"
    );
}

/// impl_b merged impl_a's first commit of app.py (a merge commit: it had a
/// commit of its own) and changed nothing of app.py; impl_a then committed
/// more of it and released. impl_c's grant looks into the other worktrees:
/// impl_b's merge touches app.py beyond what impl_c and the latest version
/// hold, yet holds only an older state of it, so it must not be recorded as
/// the newer version and hide impl_a's second commit (in the replay an
/// agent then edited without that commit, told nothing).
async fn a_worktree_that_merged_an_older_version_does_not_hide_the_latest(fx: Fixture) {
    let coord = Coordinator::new(fx.store.clone());
    let (repo, trees, roots) = three_worktrees(&fx, &coord).await;
    let (a, b) = (&trees[0], &trees[1]);

    let one = impl_a_commits_a_list(&coord, &roots, &repo, a).await;
    repo.write(b, &[("README", "impl_b was here\n")]);
    repo.commit(b, "impl_b: a readme");
    repo.git(b, &["merge", "-q", "--no-edit", &one]);
    repo.write(
        a,
        &[("app.py", "def total(xs):\n    return sum(list(xs)) or 0\n")],
    );
    let two = repo.commit(a, "impl_a: or zero");
    assert!(matches!(
        release(&coord, &roots, "impl_a").await,
        Released::Done(_)
    ));

    let told = claim(&coord, &roots, "impl_c").await;
    assert_eq!(
        froms(&told),
        [("impl_a", Some(two.as_str()), false)],
        "{told:?}"
    );
}
