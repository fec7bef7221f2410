//! `ccmulti team land` on real git repositories with real worktrees, through
//! the real binary: the implementers' branches land in the main checkout's
//! branch in hand-over order, the first conflict stops it with that merge
//! aborted, a checkout with uncommitted changes is refused; `team status`
//! says per agent how many commits of its branch have not landed.
//! `ccmulti team` runs on SQLite by design, so these do too.

use std::path::{Path, PathBuf};
use std::process::Output;

use ccmulti_testkit::claude::{ccmulti, git_repo, place_agents};

const SESSION: &str = "s";

/// A repository on `main` with worktrees for implementers on the team's branches.
struct Team {
    _dir: tempfile::TempDir,
    base: PathBuf,
    repo: PathBuf,
    db: PathBuf,
}

fn git(dir: &Path, args: &[&str]) -> Output {
    ccmulti_testkit::tools::git(dir, args, &[])
}

fn git_ok(dir: &Path, args: &[&str]) -> String {
    let out = git(dir, args);
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

impl Team {
    fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = std::fs::canonicalize(dir.path()).expect("canonical");
        let repo = base.join("repo");
        git_repo(&repo, files);
        Self {
            db: base.join("coordinator.db"),
            _dir: dir,
            base,
            repo,
        }
    }

    /// `agent`'s worktree on `ccmulti/s/<agent>`, as `ccmulti team --worktrees` makes it.
    fn worktree(&self, agent: &str) -> PathBuf {
        let path = self.base.join(format!("{SESSION}-{agent}"));
        git_ok(
            &self.repo,
            &[
                "worktree",
                "add",
                "-q",
                "-b",
                &format!("ccmulti/{SESSION}/{agent}"),
                &path.to_string_lossy(),
            ],
        );
        path
    }

    /// Writes `files` in `dir` and commits them.
    fn commit(&self, dir: &Path, files: &[(&str, &str)], message: &str) -> String {
        for (path, text) in files {
            std::fs::write(dir.join(path), text).expect("write");
        }
        git_ok(dir, &["add", "-A"]);
        git_ok(dir, &["commit", "-q", "-m", message]);
        git_ok(dir, &["rev-parse", "HEAD"])
    }

    fn land(&self, extra: &[&str]) -> Output {
        ccmulti()
            .arg("--db")
            .arg(&self.db)
            .args(["team", "land", "--session", SESSION])
            .args(extra)
            .current_dir(&self.repo)
            .output()
            .expect("ccmulti team land")
    }

    fn team_status(&self) -> String {
        let out = ccmulti()
            .arg("--db")
            .arg(&self.db)
            .args(["team", "status", "--session", SESSION])
            .current_dir(&self.repo)
            .output()
            .expect("ccmulti team status");
        assert!(
            out.status.success(),
            "{}",
            ccmulti_testkit::tools::said(&out)
        );
        ccmulti_testkit::tools::said(&out)
    }

    fn file(&self, path: &str) -> String {
        std::fs::read_to_string(self.repo.join(path)).expect("file")
    }
}

#[test]
fn land_merges_each_branch_once_and_a_dry_run_merges_nothing() {
    let team = Team::new(&[("a.py", "a = 1\n"), ("b.py", "b = 1\n")]);
    let (one, two) = (
        team.worktree("implementer-1"),
        team.worktree("implementer-2"),
    );
    team.commit(&one, &[("a.py", "a = 2\n")], "one");
    team.commit(&two, &[("b.py", "b = 2\n")], "two");
    let start = git_ok(&team.repo, &["rev-parse", "HEAD"]);

    let dry = team.land(&["--dry-run"]);
    assert!(
        dry.status.success(),
        "{}",
        ccmulti_testkit::tools::said(&dry)
    );
    let text = ccmulti_testkit::tools::said(&dry);
    assert!(
        text.contains("would land 2 branch(es) of session s into main")
            && text.contains("1. ccmulti/s/implementer-1")
            && text.contains("2. ccmulti/s/implementer-2"),
        "{text}"
    );
    assert_eq!(git_ok(&team.repo, &["rev-parse", "HEAD"]), start);

    let landed = team.land(&[]);
    assert!(
        landed.status.success(),
        "{}",
        ccmulti_testkit::tools::said(&landed)
    );
    assert_eq!(
        (team.file("a.py"), team.file("b.py")),
        ("a = 2\n".into(), "b = 2\n".into())
    );
    assert!(
        ccmulti_testkit::tools::said(&landed).contains("landed 2 branch(es) into main"),
        "{}",
        ccmulti_testkit::tools::said(&landed)
    );

    let again = team.land(&[]);
    assert!(
        again.status.success(),
        "{}",
        ccmulti_testkit::tools::said(&again)
    );
    assert!(
        ccmulti_testkit::tools::said(&again).contains("ccmulti/s/implementer-1 is already in main")
            && ccmulti_testkit::tools::said(&again).contains("nothing to land"),
        "{}",
        ccmulti_testkit::tools::said(&again)
    );
}

#[test]
fn land_stops_at_the_first_conflict_with_that_merge_aborted() {
    let team = Team::new(&[("app.py", "def total(xs):\n    return sum(xs)\n")]);
    let (one, two) = (
        team.worktree("implementer-1"),
        team.worktree("implementer-2"),
    );
    team.commit(
        &one,
        &[("app.py", "def total(xs, start=0):\n    return sum(xs)\n")],
        "one",
    );
    team.commit(
        &two,
        &[("app.py", "def total(xs):\n    return round(sum(xs), 2)\n")],
        "two",
    );

    let stopped = team.land(&[]);
    assert!(
        !stopped.status.success(),
        "{}",
        ccmulti_testkit::tools::said(&stopped)
    );
    let text = ccmulti_testkit::tools::said(&stopped);
    assert!(
        text.contains("landed ccmulti/s/implementer-1")
            && text.contains("stopped at ccmulti/s/implementer-2: merging it into main conflicts in app.py; the merge was aborted")
            && text.contains("main keeps the branches landed before it (ccmulti/s/implementer-1)"),
        "{text}"
    );
    // implementer-1 landed, nothing of implementer-2, no merge in progress, nothing changed.
    assert_eq!(
        team.file("app.py"),
        "def total(xs, start=0):\n    return sum(xs)\n"
    );
    assert_eq!(git_ok(&team.repo, &["status", "--porcelain"]), "");
    assert!(
        !git(&team.repo, &["rev-parse", "-q", "--verify", "MERGE_HEAD"])
            .status
            .success()
    );
}

#[test]
fn land_refuses_a_checkout_with_uncommitted_changes() {
    let team = Team::new(&[("a.py", "a = 1\n")]);
    let one = team.worktree("implementer-1");
    team.commit(&one, &[("a.py", "a = 2\n")], "one");
    std::fs::write(team.repo.join("a.py"), "a = 'mine'\n").expect("write");
    let start = git_ok(&team.repo, &["rev-parse", "HEAD"]);

    let refused = team.land(&[]);
    assert!(
        !refused.status.success(),
        "{}",
        ccmulti_testkit::tools::said(&refused)
    );
    assert!(
        ccmulti_testkit::tools::said(&refused)
            .contains("has uncommitted changes (a.py); commit or stash them first")
            && ccmulti_testkit::tools::said(&refused).contains("Nothing was changed"),
        "{}",
        ccmulti_testkit::tools::said(&refused)
    );
    assert_eq!(git_ok(&team.repo, &["rev-parse", "HEAD"]), start);
    assert_eq!(team.file("a.py"), "a = 'mine'\n");
}

#[test]
fn team_status_says_per_agent_what_has_not_landed() {
    let team = Team::new(&[("a.py", "a = 1\n"), ("b.py", "b = 1\n")]);
    let (one, two) = (
        team.worktree("implementer-1"),
        team.worktree("implementer-2"),
    );
    team.commit(&one, &[("a.py", "a = 2\n")], "one");
    team.commit(&one, &[("a.py", "a = 3\n")], "one again");
    team.commit(&two, &[("b.py", "b = 2\n")], "two");
    place_agents(
        &team.db,
        "tester",
        SESSION,
        &[
            ("planner", &team.repo, "main"),
            ("implementer-1", &one, "ccmulti/s/implementer-1"),
            ("implementer-2", &two, "ccmulti/s/implementer-2"),
        ],
    );

    let before = team.team_status();
    assert!(
        before.contains(
            "implementer-1: branch ccmulti/s/implementer-1: 2 commits not landed in main"
        ) && before
            .contains("implementer-2: branch ccmulti/s/implementer-2: 1 commit not landed in main"),
        "{before}"
    );
    // The planner works on main itself: nothing of its own to land.
    assert!(!before.contains("planner: branch"), "{before}");

    let landed = team.land(&[]);
    assert!(
        landed.status.success(),
        "{}",
        ccmulti_testkit::tools::said(&landed)
    );
    // Its worktree removed, a branch is still looked at in the repository.
    git_ok(&team.repo, &["worktree", "remove", &two.to_string_lossy()]);
    let after = team.team_status();
    assert!(
        after.contains("implementer-1: branch ccmulti/s/implementer-1: landed in main")
            && after.contains("implementer-2: branch ccmulti/s/implementer-2: landed in main"),
        "{after}"
    );
}
