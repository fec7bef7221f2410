//! What the agent's own worktree holds of a hand-over: where the project
//! sits in it, whether a commit or content is there; and what became of a
//! change in no commit in the other agent's worktree.

use std::path::{Path, PathBuf};

use ccmulti::git::{self, Ancestry};
use ccmulti_model::tools::HandOver;

/// A hand-over of a change in no commit, as its maker's worktree has it
/// now: once nothing of the file is uncommitted there, the same hand-over
/// naming that worktree's HEAD (and the file's blob in it) as the commit to
/// bring in: the coordinator looked into that worktree when it answered the
/// claim, and a commit made since would otherwise be taken for a change
/// undone, and the edit go ahead on a copy without it. A change its maker
/// undid leaves a HEAD this worktree already has, and nothing is brought in. `None` while the change is still uncommitted, or
/// when git cannot read that worktree here (another machine).
pub(super) fn settled(handover: &HandOver, root: Option<&PathBuf>) -> Option<HandOver> {
    let top = Path::new(handover.worktree.as_deref()?);
    if handover.commit.is_some() || !top.is_dir() {
        return None;
    }
    // Where the project sits in a worktree is the same in each of them.
    let within = root
        .and_then(|r| worktree_of(r))
        .map(|(_, w)| w)
        .unwrap_or_default();
    let file = in_worktree(&within, &handover.path);
    let left = git::uncommitted(top, &[git::pathspec(&file, false)]).ok()?;
    if !left.is_empty() {
        return None;
    }
    let head = git::head(top).ok()??;
    let blob = git::blobs_at(top, &head, std::slice::from_ref(&file))
        .ok()?
        .remove(&file)
        .flatten();
    let command = ccmulti_model::merge_command(&head);
    let on_branch = handover
        .branch
        .as_deref()
        .map(|b| format!(" (branch {b})"))
        .unwrap_or_default();
    Some(HandOver {
        message: format!(
            "{} has since committed its change to {} as {}{on_branch}: bring it in before editing the file: `{command}`.",
            handover.from,
            handover.path,
            head.get(..ccmulti_model::SHORT_COMMIT_ID).unwrap_or(&head),
        ),
        commit: Some(head),
        blob,
        command: Some(command),
        ..handover.clone()
    })
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

    fn git_in(at: &Path, args: &[&str]) {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(at)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
    }

    /// A repository holding app.py, and a worktree of it on branch `theirs`.
    fn repo_and_theirs(base: &Path) -> (PathBuf, PathBuf) {
        let (repo, theirs) = (base.join("repo"), base.join("theirs"));
        std::fs::create_dir_all(&repo).unwrap();
        git_in(&repo, &["init", "-q"]);
        std::fs::write(repo.join("app.py"), "a\n").unwrap();
        git_in(&repo, &["add", "app.py"]);
        git_in(&repo, &["commit", "-q", "-m", "init"]);
        let path = theirs.to_string_lossy().into_owned();
        git_in(&repo, &["worktree", "add", "-q", "-b", "theirs", &path]);
        (repo, theirs)
    }

    /// Whether the worktree at `top` has the version `handover` names.
    fn has_it(top: &Path, handover: &HandOver) -> bool {
        let content = git::worktree_blob(top, "app.py").unwrap();
        has_version(top, "app.py", handover, content)
    }

    /// The pre-tool hook waits for a change in no commit only while it is
    /// uncommitted there; once committed (before the coordinator heard of
    /// it) it names that commit, and a change undone names a HEAD that
    /// holds the file as it was.
    #[test]
    fn a_change_in_no_commit_is_waited_for_only_while_it_is_uncommitted() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        let (repo, theirs) = repo_and_theirs(&base);
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
        let head_of = |at: &Path| git::head(at).unwrap().unwrap();
        let blob_of = |at: &Path, rev: &str| {
            git::blobs_at(at, rev, &["app.py".to_owned()]).unwrap()["app.py"].clone()
        };
        let settled_at = |h: &HandOver| settled(h, root).map(|s| (s.commit, s.blob));

        let unchanged = settled_at(&handover).expect("nothing uncommitted yet");
        assert_eq!(unchanged, (Some(head_of(&theirs)), blob_of(&repo, "HEAD")));

        std::fs::write(theirs.join("app.py"), "b\n").unwrap();
        assert_eq!(settled(&handover, root), None, "uncommitted: wait");

        git_in(&theirs, &["checkout", "--", "app.py"]);
        let undone = settled(&handover, root).expect("undone");
        assert!(
            has_it(&repo, &undone),
            "undone: this worktree has that version already"
        );

        std::fs::write(theirs.join("app.py"), "b\n").unwrap();
        git_in(&theirs, &["commit", "-q", "-am", "theirs"]);
        let committed = settled(&handover, root).expect("committed");
        let commit = head_of(&theirs);
        assert_eq!(committed.commit.as_deref(), Some(commit.as_str()));
        assert_eq!(committed.blob, blob_of(&theirs, "HEAD"));
        assert_eq!(
            committed.command,
            Some(format!("git merge --no-edit {commit}"))
        );
        assert!(
            committed
                .message
                .contains("impl_b has since committed its change to app.py as "),
            "{}",
            committed.message
        );
        assert!(
            !has_it(&repo, &committed),
            "this worktree lacks it: brought in"
        );

        let elsewhere = HandOver {
            worktree: Some(
                base.join("on-another-machine")
                    .to_string_lossy()
                    .into_owned(),
            ),
            ..handover
        };
        assert_eq!(
            settled(&elsewhere, root),
            None,
            "cannot look: taken as uncommitted"
        );
    }
}
