//! The git layer against real repositories and worktrees in temp directories.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

/// A repository for tests: commits with a fixed identity, worktrees beside it.
pub(crate) struct Repo {
    _dir: tempfile::TempDir,
    pub base: PathBuf,
    pub top: PathBuf,
}

impl Repo {
    /// A repository on `main` with `files` in its first commit.
    pub fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = std::fs::canonicalize(dir.path()).expect("canonical");
        let top = base.join("repo");
        std::fs::create_dir_all(&top).expect("mkdir");
        let repo = Self {
            _dir: dir,
            base,
            top,
        };
        repo.git(&repo.top, &["init", "-q", "-b", "main"]);
        repo.write(&repo.top, files);
        repo.commit(&repo.top, "start");
        repo
    }

    pub fn git(&self, dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=T",
                "-c",
                "user.email=t@example.com",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(dir)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "git {args:?} in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    pub fn write(&self, dir: &Path, files: &[(&str, &str)]) {
        for (path, text) in files {
            let file = dir.join(path);
            std::fs::create_dir_all(file.parent().expect("parent")).expect("dirs");
            std::fs::write(file, text).expect("write");
        }
    }

    /// Commits everything in `dir`; the new commit's id.
    pub fn commit(&self, dir: &Path, message: &str) -> String {
        self.git(dir, &["add", "-A"]);
        self.git(dir, &["commit", "-q", "--allow-empty", "-m", message]);
        self.git(dir, &["rev-parse", "HEAD"])
    }

    /// A worktree `repo-<name>` beside the repository on a new branch `<name>`.
    pub fn worktree(&self, name: &str) -> PathBuf {
        let path = self.base.join(format!("repo-{name}"));
        self.git(
            &self.top,
            &["worktree", "add", "-q", "-b", name, &path.to_string_lossy()],
        );
        path
    }
}

const APP: &str = "def total(xs):\n    return sum(xs)\n";

/// impl_a changes the first line of src/app.py in its worktree and commits;
/// the repository, impl_b's worktree, and impl_a's commit.
fn a_commits_app_py() -> (Repo, PathBuf, String) {
    let repo = Repo::new(&[("src/app.py", APP)]);
    let (a, b) = (repo.worktree("impl_a"), repo.worktree("impl_b"));
    repo.write(
        &a,
        &[(
            "src/app.py",
            "def total(xs, start=0):\n    return sum(xs)\n",
        )],
    );
    let commit = repo.commit(&a, "A");
    (repo, b, commit)
}

#[test]
fn head_branch_and_blobs_of_a_worktree() {
    let repo = Repo::new(&[("src/app.py", APP), ("README", "r\n")]);
    let wt = repo.worktree("impl_a");
    assert_eq!(branch(&wt).unwrap().as_deref(), Some("impl_a"));
    assert_eq!(top_of(&wt.join("src")).unwrap(), wt);
    let start = head(&wt).unwrap().unwrap();
    assert_eq!(head(&repo.top).unwrap().as_deref(), Some(start.as_str()));

    let blobs = blobs_at(&wt, "HEAD", &["src/app.py".into(), "gone.py".into()]).unwrap();
    let app_blob = blobs["src/app.py"].clone().unwrap();
    assert_eq!(blobs["gone.py"], None);
    assert_eq!(
        worktree_blob(&wt, "src/app.py").unwrap().as_deref(),
        Some(app_blob.as_str())
    );
    assert_eq!(
        staged_blob(&wt, "src/app.py").unwrap().as_deref(),
        Some(app_blob.as_str())
    );
    assert_eq!(worktree_blob(&wt, "gone.py").unwrap(), None);

    repo.write(
        &wt,
        &[(
            "src/app.py",
            "def total(xs, start=0):\n    return sum(xs)\n",
        )],
    );
    assert_ne!(worktree_blob(&wt, "src/app.py").unwrap(), Some(app_blob));
    let changed = repo.commit(&wt, "A: start");
    let touch = last_commit_touching(&wt, "HEAD", "src/app.py")
        .unwrap()
        .unwrap();
    assert_eq!(touch.commit, changed);
    assert!(touch.committed_at_secs > 1_700_000_000);
    assert_eq!(
        last_commit_touching(&wt, "HEAD", "README")
            .unwrap()
            .unwrap()
            .commit,
        start
    );
    assert_eq!(last_commit_touching(&wt, "HEAD", "nothing").unwrap(), None);
    assert_eq!(
        touched_since(
            &wt,
            "HEAD",
            touch.committed_at_secs,
            &[pathspec("src/", false)]
        )
        .unwrap(),
        ["src/app.py"]
    );
    assert_eq!(
        touched_since(
            &wt,
            "HEAD",
            touch.committed_at_secs + 3600,
            &[pathspec("src/", false)]
        )
        .unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn uncommitted_work_is_changed_deleted_staged_or_untracked_but_not_ignored() {
    let repo = Repo::new(&[
        ("src/a.py", "a\n"),
        ("src/b.py", "b\n"),
        ("src/c.py", "c\n"),
        (".gitignore", "*.log\n"),
    ]);
    let top = &repo.top;
    let all = [pathspec("src/", false)];
    assert_eq!(uncommitted(top, &all).unwrap(), Vec::<String>::new());
    repo.write(
        top,
        &[
            ("src/a.py", "a2\n"),
            ("src/new.py", "n\n"),
            ("src/x.log", "l\n"),
        ],
    );
    std::fs::remove_file(top.join("src/b.py")).unwrap();
    repo.write(top, &[("src/c.py", "c2\n")]);
    repo.git(top, &["add", "src/c.py"]);
    assert_eq!(
        uncommitted(top, &all).unwrap(),
        ["src/a.py", "src/b.py", "src/c.py", "src/new.py"]
    );
    assert_eq!(
        uncommitted(top, &[pathspec("src/a.py", false)]).unwrap(),
        ["src/a.py"]
    );
    assert_eq!(
        uncommitted(top, &[pathspec("src/*.py", true)])
            .unwrap()
            .len(),
        4
    );
    assert_eq!(tracked_changes(top).unwrap().len(), 3);
}

#[test]
fn ancestry_knows_a_commit_another_clone_made() {
    let repo = Repo::new(&[("a", "1\n")]);
    let wt = repo.worktree("impl_a");
    repo.write(&wt, &[("a", "2\n")]);
    let a = repo.commit(&wt, "A");
    assert_eq!(ancestry(&wt, &a, "HEAD").unwrap(), Ancestry::Ancestor);
    assert_eq!(
        ancestry(&repo.top, &a, "HEAD").unwrap(),
        Ancestry::NotAncestor
    );
    let other = Repo::new(&[("a", "1\n")]);
    assert_eq!(ancestry(&other.top, &a, "HEAD").unwrap(), Ancestry::Missing);
    assert!(!has_commit(&other.top, &a).unwrap());
}

#[test]
fn a_clean_merge_names_what_it_changed() {
    let repo = Repo::new(&[("src/app.py", APP), ("src/util.py", "u\n")]);
    let (a, b) = (repo.worktree("impl_a"), repo.worktree("impl_b"));
    repo.write(
        &a,
        &[(
            "src/app.py",
            "def total(xs, start=0):\n    return sum(xs)\n",
        )],
    );
    let commit = repo.commit(&a, "A");
    repo.write(&b, &[("src/util.py", "u2\n")]);
    repo.commit(&b, "B");
    assert_eq!(
        merge(&b, &commit).unwrap(),
        Merge::Done {
            changed: vec!["src/app.py".into()]
        }
    );
    assert_eq!(ancestry(&b, &commit, "HEAD").unwrap(), Ancestry::Ancestor);
    assert_eq!(
        merge(&b, &commit).unwrap(),
        Merge::Done { changed: vec![] },
        "merging again is a no-op"
    );
}

#[test]
fn a_conflicting_merge_is_aborted_and_names_the_files() {
    let (repo, b, commit) = a_commits_app_py();
    let mine = "def total(xs):\n    return round(sum(xs), 2)\n";
    repo.write(&b, &[("src/app.py", mine)]);
    let before = repo.commit(&b, "B");
    assert_eq!(
        merge(&b, &commit).unwrap(),
        Merge::Conflicted {
            files: vec!["src/app.py".into()]
        }
    );
    assert_eq!(std::fs::read_to_string(b.join("src/app.py")).unwrap(), mine);
    assert_eq!(head(&b).unwrap().as_deref(), Some(before.as_str()));
    assert!(
        merge_heads(&b).unwrap().is_empty(),
        "no merge left in progress"
    );
    assert!(
        uncommitted(&b, &[pathspec("src/", false)])
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_merge_that_would_overwrite_local_changes_is_refused_and_changes_nothing() {
    let (repo, b, commit) = a_commits_app_py();
    let dirty = "def total(xs):\n    return 0\n";
    repo.write(&b, &[("src/app.py", dirty)]);
    let Merge::Refused { why } = merge(&b, &commit).unwrap() else {
        panic!("expected a refusal");
    };
    assert!(why.contains("would be overwritten"), "{why}");
    assert_eq!(
        std::fs::read_to_string(b.join("src/app.py")).unwrap(),
        dirty
    );
    assert!(merge_heads(&b).unwrap().is_empty());
}

#[test]
fn the_place_of_a_directory_is_read_from_gits_files() {
    let repo = Repo::new(&[("src/app.py", APP)]);
    let wt = repo.worktree("impl_a");
    assert_eq!(
        place_of(&wt.join("src")),
        Some(Place {
            top: wt.clone(),
            branch: Some("impl_a".into())
        })
    );
    assert_eq!(place_of(&repo.top).unwrap().branch.as_deref(), Some("main"));
    repo.git(&wt, &["checkout", "-q", "--detach"]);
    assert_eq!(place_of(&wt).unwrap().branch, None);
    let outside = tempfile::tempdir().unwrap();
    assert_eq!(place_of(outside.path()), None);
}
