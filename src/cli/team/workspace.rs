//! Where each agent works: the checkout itself, or for `--worktrees` a git
//! worktree of its own on its own branch. Everything is checked first
//! ([`plan`]); only then is anything created ([`Workplace::make`]).

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use ccmulti::rules::team;
use ccmulti::worktrees::{self, Worktree, git};

/// The repository `ccmulti team` runs in.
#[derive(Debug, Clone)]
pub struct Repository {
    /// The top of the worktree the command runs in.
    pub top: PathBuf,
    /// The project root (the top, or `--root` inside it).
    pub root: PathBuf,
    /// The branch checked out there; `None` when detached.
    pub branch: Option<String>,
}

impl Repository {
    pub fn find(root: &Path) -> Result<Self> {
        let Ok(top) = git(root, &["rev-parse", "--show-toplevel"]) else {
            bail!(
                "{} is not in a git repository; ccmulti team needs one (for the git guard and \
                 --worktrees). Run it in your repository, or `git init` first. Nothing was changed",
                root.display()
            );
        };
        let top = std::fs::canonicalize(top.trim_end())?;
        let branch = git(&top, &["symbolic-ref", "--short", "-q", "HEAD"])
            .ok()
            .map(|b| b.trim_end().to_owned())
            .filter(|b| !b.is_empty());
        Ok(Self {
            top,
            root: root.to_owned(),
            branch,
        })
    }

    /// The project root's place inside any worktree of the repository.
    pub fn root_in(&self, worktree: &Path) -> PathBuf {
        match self.root.strip_prefix(&self.top) {
            Ok(within) if !within.as_os_str().is_empty() => worktree.join(within),
            _ => worktree.to_owned(),
        }
    }
}

/// How an implementer's worktree comes to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Make {
    /// The checkout itself (no `--worktrees`), or a worktree already there on its branch.
    Nothing,
    /// `git worktree add PATH BRANCH`: the branch exists, no worktree has it.
    CheckOut,
    /// `git worktree add -b BRANCH PATH BASE`.
    NewBranch { base: String },
}

#[derive(Debug, Clone)]
pub struct Workplace {
    pub agent: String,
    /// The worktree's top (the checkout's top without `--worktrees`).
    pub worktree: PathBuf,
    /// Where the agent's terminal starts: the project root's place in it.
    pub dir: PathBuf,
    pub branch: Option<String>,
    pub make: Make,
}

impl Workplace {
    pub fn make(&self, repo: &Repository) -> Result<()> {
        let path = self.worktree.to_string_lossy().into_owned();
        let branch = self.branch.as_deref().unwrap_or_default();
        match &self.make {
            Make::Nothing => return Ok(()),
            Make::CheckOut => git(&repo.top, &["worktree", "add", &path, branch])?,
            Make::NewBranch { base } => {
                git(&repo.top, &["worktree", "add", "-b", branch, &path, base])?
            }
        };
        Ok(())
    }
}

/// The planner works in the checkout; so does every implementer without `--worktrees`.
pub fn in_checkout(repo: &Repository, agent: &str) -> Workplace {
    Workplace {
        agent: agent.to_owned(),
        worktree: repo.top.clone(),
        dir: repo.root.clone(),
        branch: repo.branch.clone(),
        make: Make::Nothing,
    }
}

/// Checks, without changing anything, that each implementer can have its
/// worktree `<parent>/<session>-<agent>` on branch `ccmulti/<session>/<agent>`.
pub fn plan(
    repo: &Repository,
    session: &str,
    agents: &[String],
    parent: &Path,
    base: &str,
) -> Result<Vec<Workplace>> {
    let existing = worktrees::list(&repo.top)?;
    let parent = absolute(parent)?;
    if parent.starts_with(&repo.top) {
        bail!(
            "--worktree-dir {} is inside the checkout {}; the planner's scan and the lock paths \
             would see the worktrees as files of the project. Choose a directory outside it. \
             Nothing was changed",
            parent.display(),
            repo.top.display()
        );
    }
    let mut out = Vec::new();
    for agent in agents {
        let path = team::worktree_dir(&parent, session, agent);
        let branch = team::branch(session, agent);
        if git(&repo.top, &["check-ref-format", "--branch", &branch]).is_err() {
            bail!(
                "{branch:?} is not a valid git branch name (from session {session:?} and agent {agent:?}); \
                 choose a --session without a leading '.', '..', or a '.lock' ending. Nothing was changed"
            );
        }
        let make = decide(repo, &existing, &path, &branch, base)?;
        out.push(Workplace {
            agent: agent.clone(),
            dir: repo.root_in(&path),
            worktree: path,
            branch: Some(branch),
            make,
        });
    }
    Ok(out)
}

fn same_place(a: &Path, b: &Path) -> bool {
    a == b || std::fs::canonicalize(a).is_ok_and(|a| std::fs::canonicalize(b).is_ok_and(|b| a == b))
}

fn decide(
    repo: &Repository,
    existing: &[Worktree],
    path: &Path,
    branch: &str,
    base: &str,
) -> Result<Make> {
    if let Some(tree) = existing.iter().find(|t| same_place(&t.path, path)) {
        return match tree.branch.as_deref() {
            Some(b) if b == branch => Ok(Make::Nothing),
            other => bail!(
                "{} is already a worktree of this repository, on {}, not on {branch}; \
                 switch it back (git -C {} switch {branch}), remove it, or pass another --session. \
                 Nothing was changed",
                path.display(),
                other.map_or_else(|| "a detached HEAD".to_owned(), |b| format!("branch {b}")),
                path.display()
            ),
        };
    }
    if path.symlink_metadata().is_ok() {
        bail!(
            "{} exists and is not a worktree of this repository; move it away, or pass \
             --worktree-dir (or another --session) to put the worktrees elsewhere. Nothing was changed",
            path.display()
        );
    }
    if let Some(holder) = existing
        .iter()
        .find(|t| t.branch.as_deref() == Some(branch))
    {
        bail!(
            "branch {branch} is checked out in {}, so it cannot be {}'s worktree; \
             switch that worktree to another branch, or pass another --session. Nothing was changed",
            holder.path.display(),
            path.display()
        );
    }
    let has_branch = git(
        &repo.top,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}"),
        ],
    )
    .is_ok();
    if has_branch {
        return Ok(Make::CheckOut);
    }
    if git(
        &repo.top,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{base}^{{commit}}"),
        ],
    )
    .is_err()
    {
        bail!(
            "--base {base:?} names no commit in this repository (a new repository needs a first \
             commit before worktrees can branch from it). Nothing was changed"
        );
    }
    Ok(Make::NewBranch {
        base: base.to_owned(),
    })
}

fn absolute(dir: &Path) -> Result<PathBuf> {
    let dir = if dir.is_absolute() {
        dir.to_owned()
    } else {
        std::env::current_dir()?.join(dir)
    };
    // `..` first, by the text (`repo/../wt` is not inside `repo`); then the
    // nearest existing parent is resolved (symlinks included) and the part
    // that does not exist yet put back on it.
    let mut plain = PathBuf::new();
    for part in dir.components() {
        match part {
            std::path::Component::ParentDir => {
                plain.pop();
            }
            std::path::Component::CurDir => {}
            other => plain.push(other),
        }
    }
    let mut existing = plain.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        let (Some(parent), Some(name)) = (existing.parent(), existing.file_name()) else {
            break;
        };
        rest.push(name.to_owned());
        existing = parent;
    }
    let mut resolved = std::fs::canonicalize(existing).unwrap_or_else(|_| existing.to_owned());
    resolved.extend(rest.iter().rev());
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_that_does_not_exist_yet_is_resolved_by_its_text_and_its_existing_parent() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        let repo = base.join("repo");
        std::fs::create_dir_all(&repo).unwrap();
        // `repo/../wt` is beside the checkout, not inside it.
        let beside = absolute(&repo.join("../wt/ccmulti")).unwrap();
        assert_eq!(beside, base.join("wt/ccmulti"));
        assert!(!beside.starts_with(&repo));
        // A link into the checkout resolves to the checkout.
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&repo, base.join("link")).unwrap();
            let through = absolute(&base.join("link/wt")).unwrap();
            assert_eq!(through, repo.join("wt"));
        }
    }
}
