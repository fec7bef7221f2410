//! Plain git, as the bench itself uses it (setting up, landing, measuring):
//! none of the developer's own git environment, a fixed identity.

use std::path::Path;
use std::process::{Command, Output};

pub fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args([
            "-c",
            "user.name=replay",
            "-c",
            "user.email=replay@localhost",
        ])
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .unwrap_or_else(|e| panic!("git {args:?}: {e}"))
}

/// `git` that must succeed; its stdout.
pub fn git_ok(dir: &Path, args: &[&str]) -> String {
    let out = git(dir, args);
    assert!(
        out.status.success(),
        "git {args:?} in {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Is `ancestor` in the history of `commit`?
pub fn is_ancestor(dir: &Path, ancestor: &str, commit: &str) -> bool {
    git(dir, &["merge-base", "--is-ancestor", ancestor, commit])
        .status
        .success()
}

/// The files a (non-merge) commit changed.
pub fn files_of(dir: &Path, commit: &str) -> Vec<String> {
    git_ok(dir, &["show", "--name-only", "--format=", commit])
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}
