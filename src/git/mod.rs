//! Git at the edge: every question ccmulti asks of a repository, as typed
//! answers (a worktree's HEAD and branch, its uncommitted paths, a path's
//! blob at a commit, the last commit touching a path, ancestry, a merge that
//! reports its conflicts and leaves nothing half-done, the local branches and
//! how far one is ahead of another). Each runs `git`
//! bounded in time ([`run`]). What to do with the answers is decided in
//! [`crate::rules::handover`]; the coordination service, the hooks and
//! `ccmulti team land` gather them here.
//!
//! Paths in and out are relative to the worktree's top (`git rev-parse
//! --show-toplevel`), as git spells them; the callers map them to and from
//! lock paths.

mod branches;
mod merge;
mod run;
mod workspace;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use branches::{commits_not_in, local_branches};
pub use merge::{Merge, abort_merge, merge, merge_heads, unmerged_paths};
pub use run::{GitError, MERGE_TIMEOUT, QUERY_TIMEOUT, Ran, ok, run};
pub use workspace::{Place, place_of, this_host};

use run::{failed, unreadable};

/// A commit or blob id as git prints it (hex).
pub type ObjectId = String;

/// The top of the worktree `dir` is in.
pub fn top_of(dir: &Path) -> Result<PathBuf, GitError> {
    Ok(PathBuf::from(
        ok(dir, &["rev-parse", "--show-toplevel"])?.trim_end(),
    ))
}

/// The commit HEAD names; `None` in a repository without a first commit.
pub fn head(top: &Path) -> Result<Option<ObjectId>, GitError> {
    resolve(top, "HEAD^{commit}")
}

/// The id `rev` names, if it names an object; `None` if it does not.
pub fn resolve(top: &Path, rev: &str) -> Result<Option<ObjectId>, GitError> {
    let args = ["rev-parse", "-q", "--verify", "--end-of-options", rev];
    let ran = run(top, &args, QUERY_TIMEOUT)?;
    match ran.code {
        Some(0) => Ok(Some(ran.stdout.trim().to_owned())),
        Some(1) => Ok(None),
        _ => Err(failed(top, &args, &ran)),
    }
}

/// The branch checked out, without `refs/heads/`; `None` when detached.
pub fn branch(top: &Path) -> Result<Option<String>, GitError> {
    let args = ["symbolic-ref", "--short", "-q", "HEAD"];
    let ran = run(top, &args, QUERY_TIMEOUT)?;
    match ran.code {
        Some(0) => Ok(Some(ran.stdout.trim().to_owned()).filter(|b| !b.is_empty())),
        Some(1) => Ok(None),
        _ => Err(failed(top, &args, &ran)),
    }
}

/// A git pathspec for a lock path relative to the top: a file or a
/// directory (ending in `/`) as it is, a glob as a glob.
pub fn pathspec(path: &str, is_glob: bool) -> String {
    if is_glob {
        format!(":(glob){path}")
    } else {
        format!(":(literal){path}")
    }
}

/// Paths under `pathspecs` that differ from HEAD: changed or deleted in the
/// worktree or the index, and untracked files (ignored ones are not work to
/// commit). A rename shows as its two paths.
pub fn uncommitted(top: &Path, pathspecs: &[String]) -> Result<Vec<String>, GitError> {
    if pathspecs.is_empty() {
        return Ok(Vec::new());
    }
    let mut args = vec![
        "status",
        "--porcelain=v1",
        "-z",
        "--no-renames",
        "--untracked-files=all",
        "--",
    ];
    args.extend(pathspecs.iter().map(String::as_str));
    let out = ok(top, &args)?;
    let mut paths = Vec::new();
    for entry in out.split('\0').filter(|e| !e.is_empty()) {
        // "XY path": two status letters and a space.
        let path = entry
            .get(3..)
            .ok_or_else(|| unreadable(top, &args, format!("a status entry {entry:?}")))?;
        paths.push(path.to_owned());
    }
    paths.sort();
    paths.dedup();
    Ok(paths)
}

/// Every tracked path with a change not committed, staged or not (untracked
/// files left out): what makes a checkout unfit to merge into.
pub fn tracked_changes(top: &Path) -> Result<Vec<String>, GitError> {
    let out = ok(
        top,
        &[
            "status",
            "--porcelain=v1",
            "-z",
            "--no-renames",
            "--untracked-files=no",
        ],
    )?;
    Ok(out
        .split('\0')
        .filter_map(|e| e.get(3..))
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect())
}

/// The blob of each of `paths` at `rev`; `None` for a path not in that tree
/// (deleted, or never there).
pub fn blobs_at(
    top: &Path,
    rev: &str,
    paths: &[String],
) -> Result<BTreeMap<String, Option<ObjectId>>, GitError> {
    let mut found: BTreeMap<String, Option<ObjectId>> =
        paths.iter().map(|p| (p.clone(), None)).collect();
    if paths.is_empty() {
        return Ok(found);
    }
    let specs: Vec<String> = paths.iter().map(|p| pathspec(p, false)).collect();
    let mut args = vec!["ls-tree", "-r", "-z", "--full-tree", rev, "--"];
    args.extend(specs.iter().map(String::as_str));
    let out = ok(top, &args)?;
    for entry in out.split('\0').filter(|e| !e.is_empty()) {
        // "mode type id\tpath"
        let (meta, path) = entry
            .split_once('\t')
            .ok_or_else(|| unreadable(top, &args, format!("a tree entry {entry:?}")))?;
        let id = meta.split(' ').nth(2).unwrap_or_default();
        if let Some(slot) = found.get_mut(path) {
            *slot = Some(id.to_owned());
        }
    }
    Ok(found)
}

/// The blob git would make of the file at `path` as it is in the worktree
/// now (its clean filters applied); `None` when there is no such file.
pub fn worktree_blob(top: &Path, path: &str) -> Result<Option<ObjectId>, GitError> {
    if !top.join(path).is_file() {
        return Ok(None);
    }
    Ok(Some(
        ok(top, &["hash-object", "--path", path, "--", path])?
            .trim()
            .to_owned(),
    ))
}

/// The blob staged for `path` (what a commit would hold); `None` when the
/// index has none (deleted, or never added).
pub fn staged_blob(top: &Path, path: &str) -> Result<Option<ObjectId>, GitError> {
    resolve(top, &format!(":{path}"))
}

/// A commit and when it was committed (seconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touch {
    pub commit: ObjectId,
    pub committed_at_secs: i64,
}

/// The last commit reachable from `rev` that changed `path` (as `git log`
/// simplifies history: a merge that took one side's file is not it).
pub fn last_commit_touching(top: &Path, rev: &str, path: &str) -> Result<Option<Touch>, GitError> {
    last_touch(top, &[rev], path)
}

/// The last commit reachable from `rev` but from none of `lacking` that
/// changed `path`: a change another branch holds that those have not
/// brought in.
pub fn last_commit_touching_beyond(
    top: &Path,
    rev: &str,
    lacking: &[&str],
    path: &str,
) -> Result<Option<Touch>, GitError> {
    let excluded: Vec<String> = lacking.iter().map(|r| format!("^{r}")).collect();
    let mut revs = vec![rev];
    revs.extend(excluded.iter().map(String::as_str));
    last_touch(top, &revs, path)
}

fn last_touch(top: &Path, revs: &[&str], path: &str) -> Result<Option<Touch>, GitError> {
    let spec = pathspec(path, false);
    let mut args = vec!["log", "-1", "--format=%H %ct"];
    args.extend(revs);
    args.extend(["--", spec.as_str()]);
    let out = ok(top, &args)?;
    let line = out.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let (commit, secs) = line
        .split_once(' ')
        .ok_or_else(|| unreadable(top, &args, format!("a log line {line:?}")))?;
    let committed_at_secs = secs
        .parse()
        .map_err(|_| unreadable(top, &args, format!("a commit time {secs:?}")))?;
    Ok(Some(Touch {
        commit: commit.to_owned(),
        committed_at_secs,
    }))
}

/// Files changed by commits reachable from `rev` committed at or after
/// `since_secs`, under `pathspecs` (a directory or glob lock's files).
pub fn touched_since(
    top: &Path,
    rev: &str,
    since_secs: i64,
    pathspecs: &[String],
) -> Result<Vec<String>, GitError> {
    if pathspecs.is_empty() {
        return Ok(Vec::new());
    }
    let since = format!("--since=@{since_secs}");
    let mut args = vec![
        "log",
        "--format=%x01",
        "--name-only",
        "-z",
        "--no-renames",
        &since,
        rev,
        "--",
    ];
    args.extend(pathspecs.iter().map(String::as_str));
    let out = ok(top, &args)?;
    let mut paths: Vec<String> = out
        .split('\0')
        .map(|t| t.trim_start_matches(['\n', '\u{1}']))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    paths.sort();
    paths.dedup();
    Ok(paths)
}

/// Whether `commit` is in the history of `rev`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ancestry {
    Ancestor,
    NotAncestor,
    /// The commit is not in this repository (made in another clone).
    Missing,
}

pub fn ancestry(top: &Path, commit: &str, rev: &str) -> Result<Ancestry, GitError> {
    if !has_commit(top, commit)? {
        return Ok(Ancestry::Missing);
    }
    let args = ["merge-base", "--is-ancestor", commit, rev];
    let ran = run(top, &args, QUERY_TIMEOUT)?;
    match ran.code {
        Some(0) => Ok(Ancestry::Ancestor),
        Some(1) => Ok(Ancestry::NotAncestor),
        _ => Err(failed(top, &args, &ran)),
    }
}

/// The best common ancestors of `a` and `b` (more than one after criss-cross
/// merges); none when they share no history.
pub fn merge_bases(top: &Path, a: &str, b: &str) -> Result<Vec<ObjectId>, GitError> {
    let args = ["merge-base", "--all", a, b];
    let ran = run(top, &args, QUERY_TIMEOUT)?;
    match ran.code {
        Some(0) => Ok(ran.stdout.split_whitespace().map(str::to_owned).collect()),
        Some(1) => Ok(Vec::new()),
        _ => Err(failed(top, &args, &ran)),
    }
}

/// Whether the commit object is in this repository.
pub fn has_commit(top: &Path, commit: &str) -> Result<bool, GitError> {
    Ok(resolve(top, &format!("{commit}^{{commit}}"))?.is_some())
}

#[cfg(test)]
pub(crate) mod tests;
