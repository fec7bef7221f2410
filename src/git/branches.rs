//! A repository's local branches, and how far one is ahead of another:
//! what landing the team's branches needs to know.

use std::path::Path;

use super::run::unreadable;
use super::{GitError, ok};

/// The local branches whose names start with `prefix` (every one with
/// `""`; a prefix ending in `/` names a folder of branches), without
/// `refs/heads/`, in git's order.
pub fn local_branches(top: &Path, prefix: &str) -> Result<Vec<String>, GitError> {
    let pattern = format!("refs/heads/{prefix}");
    let out = ok(top, &["for-each-ref", "--format=%(refname)", &pattern])?;
    Ok(out
        .lines()
        .filter_map(|r| r.strip_prefix("refs/heads/"))
        .map(str::to_owned)
        .collect())
}

/// How many commits of the local branch `branch` the local branch `base`
/// lacks (`git rev-list --count base..branch`).
pub fn commits_not_in(top: &Path, branch: &str, base: &str) -> Result<u64, GitError> {
    let range = format!("refs/heads/{base}..refs/heads/{branch}");
    let args = ["rev-list", "--count", &range];
    let out = ok(top, &args)?;
    out.trim()
        .parse()
        .map_err(|_| unreadable(top, &args, format!("a count {:?}", out.trim())))
}
