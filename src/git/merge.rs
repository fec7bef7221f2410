//! Bringing a commit into a worktree: `git merge --no-edit`, which either
//! completes, or is aborted at once with the conflicting files named, so the
//! worktree is as it was; a merge git refuses to start changes nothing.

use std::path::{Path, PathBuf};

use super::run::{MERGE_TIMEOUT, failed, ok, run};
use super::{GitError, ObjectId, head};

/// What a merge came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merge {
    /// Merged, or already there. `changed`: the files it changed in the worktree.
    Done { changed: Vec<String> },
    /// The merge conflicted in `files`; it was aborted, the worktree is as before.
    Conflicted { files: Vec<String> },
    /// Git did not merge and changed nothing (local changes the merge would
    /// overwrite, a merge already in progress, no identity to commit with):
    /// what it said.
    Refused { why: String },
}

/// Merges `rev` into the branch checked out at `top` (`git merge --no-edit`).
pub fn merge(top: &Path, rev: &str) -> Result<Merge, GitError> {
    if !merge_heads(top)?.is_empty() {
        return Ok(Merge::Refused {
            why: "a merge is already in progress in this worktree; finish it (git commit) or abort it (git merge --abort) first".into(),
        });
    }
    let before = head(top)?;
    let args = ["merge", "--no-edit", "--no-stat", "--end-of-options", rev];
    let ran = run(top, &args, MERGE_TIMEOUT)?;
    if ran.success() {
        let changed = match before {
            Some(before) => ok(top, &["diff", "--name-only", "-z", &before, "HEAD"])?
                .split('\0')
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
            None => Vec::new(),
        };
        return Ok(Merge::Done { changed });
    }
    if merge_heads(top)?.is_empty() {
        let said = format!("{}\n{}", ran.stderr.trim(), ran.stdout.trim());
        return Ok(Merge::Refused {
            why: said.trim().to_owned(),
        });
    }
    let files = unmerged_paths(top)?;
    abort_merge(top)?;
    if files.is_empty() {
        // Stopped with a merge in progress but nothing unmerged (a failed commit step).
        return Err(failed(top, &args, &ran));
    }
    Ok(Merge::Conflicted { files })
}

/// `git merge --abort`: the worktree and index as before the merge.
pub fn abort_merge(top: &Path) -> Result<(), GitError> {
    ok(top, &["merge", "--abort"]).map(drop)
}

/// The commits a merge in progress is bringing in (`MERGE_HEAD`); empty when
/// no merge is in progress.
pub fn merge_heads(top: &Path) -> Result<Vec<ObjectId>, GitError> {
    let path = PathBuf::from(ok(top, &["rev-parse", "--git-path", "MERGE_HEAD"])?.trim_end());
    let path = if path.is_absolute() {
        path
    } else {
        top.join(path)
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(GitError::Spawn {
            dir: top.display().to_string(),
            why: format!("reading {}: {e}", path.display()),
        }),
    }
}

/// The paths a merge in progress left in conflict.
pub fn unmerged_paths(top: &Path) -> Result<Vec<String>, GitError> {
    let mut files: Vec<String> = ok(top, &["diff", "--name-only", "-z", "--diff-filter=U"])?
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}
