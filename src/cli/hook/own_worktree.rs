//! What the agent's own worktree holds of a hand-over: where the project
//! sits in it, whether a commit or content is there, whether a change in no
//! commit is still in the other agent's worktree.

use std::path::{Path, PathBuf};

use ccmulti::git::{self, Ancestry};
use ccmulti_model::tools::HandOver;

/// Whether the change in no commit a hand-over names is still there, asked
/// of its worktree when it is on this machine: a change its maker undid is
/// nothing to wait for. A worktree git cannot read here (another machine)
/// is taken to still hold it.
pub(super) fn still_uncommitted(handover: &HandOver, root: Option<&PathBuf>) -> bool {
    let Some(top) = handover.worktree.as_deref().map(Path::new) else {
        return true;
    };
    if !top.is_dir() {
        return true;
    }
    // Where the project sits in a worktree is the same in each of them.
    let within = root
        .and_then(|r| worktree_of(r))
        .map(|(_, w)| w)
        .unwrap_or_default();
    let file = in_worktree(&within, &handover.path);
    git::uncommitted(top, &[git::pathspec(&file, false)]).map_or(true, |found| !found.is_empty())
}

/// Where the project root sits in its worktree: the worktree's top and the
/// root relative to it (empty when the root is the top).
pub(super) fn worktree_of(root: &Path) -> Option<(PathBuf, PathBuf)> {
    let top = git::place_of(root)?.top;
    let within = std::fs::canonicalize(root)
        .unwrap_or_else(|_| root.to_owned())
        .strip_prefix(&top)
        .ok()?
        .to_owned();
    Some((top, within))
}

/// A lock path as git spells it in the worktree, and back.
pub(super) fn in_worktree(within: &Path, lock_path: &str) -> String {
    within.join(lock_path).to_string_lossy().into_owned()
}

pub(super) fn as_lock_path(within: &Path, repo_path: &str) -> String {
    Path::new(repo_path).strip_prefix(within).map_or_else(
        |_| repo_path.to_owned(),
        |p| p.to_string_lossy().into_owned(),
    )
}

/// Whether the worktree has the hand-over's version: its commit is in HEAD
/// (or in the merge being committed), or the file already holds that content.
pub(super) fn has_version(
    top: &Path,
    file: &str,
    handover: &HandOver,
    content: Option<String>,
) -> bool {
    let Some(commit) = handover.commit.as_deref() else {
        return true;
    };
    let mut heads = vec!["HEAD".to_owned()];
    heads.extend(git::merge_heads(top).unwrap_or_default());
    heads
        .iter()
        .any(|head| git::ancestry(top, commit, head) == Ok(Ancestry::Ancestor))
        || content.is_some_and(|c| Some(c) == handover.blob)
        || (handover.blob.is_none() && !top.join(file).exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pre-tool hook holds an edit for a change in no commit only while
    /// that change is there: one its maker undid is nothing to wait for.
    #[test]
    fn a_change_in_no_commit_is_waited_for_only_while_it_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        let (repo, theirs) = (base.join("repo"), base.join("theirs"));
        std::fs::create_dir_all(&repo).unwrap();
        let run = |at: &Path, args: &[&str]| {
            let out = std::process::Command::new("git")
                .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
                .args(args)
                .current_dir(at)
                .env_remove("GIT_DIR")
                .env_remove("GIT_WORK_TREE")
                .output()
                .unwrap();
            assert!(out.status.success(), "git {args:?}: {out:?}");
        };
        run(&repo, &["init", "-q"]);
        std::fs::write(repo.join("app.py"), "a\n").unwrap();
        run(&repo, &["add", "app.py"]);
        run(&repo, &["commit", "-q", "-m", "init"]);
        run(
            &repo,
            &[
                "worktree",
                "add",
                "-q",
                "-b",
                "theirs",
                &theirs.to_string_lossy(),
            ],
        );
        let handover = HandOver {
            path: "app.py".into(),
            from: "impl_b".into(),
            commit: None,
            branch: Some("theirs".into()),
            blob: None,
            command: None,
            fetch: false,
            worktree: Some(theirs.to_string_lossy().into_owned()),
            message: String::new(),
        };
        let root = Some(&repo);
        assert!(!still_uncommitted(&handover, root), "nothing changed yet");
        std::fs::write(theirs.join("app.py"), "b\n").unwrap();
        assert!(still_uncommitted(&handover, root));
        run(&theirs, &["checkout", "--", "app.py"]);
        assert!(!still_uncommitted(&handover, root), "undone");
        let elsewhere = HandOver {
            worktree: Some(
                base.join("on-another-machine")
                    .to_string_lossy()
                    .into_owned(),
            ),
            ..handover
        };
        assert!(
            still_uncommitted(&elsewhere, root),
            "cannot look: taken as there"
        );
    }
}
