//! A window of real history as `derive.py` wrote it: the touched files at the
//! window's start, and each commit's diff, message and author.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::git::{git, git_ok};

#[derive(Debug, Clone, Deserialize)]
pub struct Commit {
    pub version: String,
    pub message: String,
    pub author: String,
    pub files: Vec<String>,
    /// Relative to the window's directory.
    pub diff: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Window {
    pub name: String,
    pub project: String,
    pub files: Vec<String>,
    pub commits: Vec<Commit>,
    #[serde(skip)]
    pub dir: PathBuf,
}

/// Every file of the window as it ends (`None`: absent).
pub type Tree = BTreeMap<String, Option<String>>;

impl Window {
    pub fn load(dir: &Path) -> Self {
        let text = std::fs::read_to_string(dir.join("window.json"))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.join("window.json").display()));
        let mut window: Window = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.join("window.json").display()));
        window.dir = dir.to_owned();
        window
    }

    /// The windows shipped beside this file, by name.
    pub fn all() -> Vec<Self> {
        let root = ccmulti_testkit::interop::repo().join("benches/replay/windows");
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
            .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join("window.json").is_file())
            .collect();
        dirs.sort();
        dirs.iter().map(|d| Self::load(d)).collect()
    }

    pub fn diff_path(&self, commit: &Commit) -> PathBuf {
        self.dir.join(&commit.diff)
    }

    pub fn hunks(&self) -> usize {
        self.commits
            .iter()
            .map(|c| {
                let text = std::fs::read_to_string(self.diff_path(c)).unwrap_or_default();
                hunks_in(&text)
            })
            .sum()
    }

    /// A git repository at `root` holding the window's base files, one commit on `main`.
    pub fn make_repo(&self, root: &Path) {
        copy_dir(&self.dir.join("base"), root);
        git_ok(root, &["init", "-q", "-b", "main"]);
        git_ok(root, &["add", "-A"]);
        git_ok(root, &["commit", "-q", "-m", "base of the replayed window"]);
    }

    /// The real history's end: the base with every commit's diff applied, in a scratch repository.
    pub fn history_end(&self, scratch: &Path) -> Tree {
        self.make_repo(scratch);
        for commit in &self.commits {
            let diff = self.diff_path(commit);
            let out = git(
                scratch,
                &["apply", "--whitespace=nowarn", &diff.to_string_lossy()],
            );
            assert!(
                out.status.success(),
                "{}: {} does not apply to its predecessor: {}",
                self.name,
                commit.diff,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        self.tree(scratch)
    }

    /// The window's files as they are under `root`.
    pub fn tree(&self, root: &Path) -> Tree {
        self.files
            .iter()
            .map(|f| (f.clone(), std::fs::read_to_string(root.join(f)).ok()))
            .collect()
    }
}

/// Hunks of a diff: each `@@`, and one for a file added or deleted whole without any
/// (as the replay policy counts them).
pub fn hunks_in(diff: &str) -> usize {
    let mut per_file: Vec<usize> = Vec::new();
    for line in diff.lines() {
        if line.starts_with("diff --git ") {
            per_file.push(0);
        } else if line.starts_with("@@")
            && let Some(last) = per_file.last_mut()
        {
            *last += 1;
        }
    }
    per_file.iter().map(|n| (*n).max(1)).sum()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the checkout");
    for entry in std::fs::read_dir(from).expect("read base").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a base file");
        }
    }
}
