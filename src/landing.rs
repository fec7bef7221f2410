//! Whether each agent's branch has landed, asked of git: for every agent
//! with a branch of its own to land ([`own_branches`]), how many of its
//! commits the branch checked out in its repository's main worktree (where
//! `ccmulti team land` merges) lacks. The one look `ccmulti team status`
//! and the dashboard both show; the dashboard takes it every few seconds on
//! the blocking pool (`dashboard::landings`). Blocking: it runs git.
//!
//! A removed worktree's branch stays in the repository and may still hold
//! work not landed: it is looked up in the project's repository.

use std::path::{Path, PathBuf};

use ccmulti_model::snapshot::AgentRow;

use crate::git::{self, GitError, commits_not_in, local_branches};
pub use crate::rules::landing::{AgentLanding, OwnBranch};
use crate::rules::landing::{decide, own_branches};
use crate::worktrees;

/// Where each of `agents` (the agents of one or more sessions, as read
/// together) with a branch of its own on this machine stands; `project` is
/// a directory of the project's repository.
pub fn of_agents(project: &Path, agents: &[AgentRow]) -> Vec<AgentLanding> {
    of(project, &own_branches(agents, git::this_host().as_deref()))
}

/// Where each of `branches` stands; a branch git cannot answer for (a
/// worktree that is not a repository, a main checkout on a detached HEAD)
/// is left out.
pub fn of(project: &Path, branches: &[OwnBranch]) -> Vec<AgentLanding> {
    let mut repositories = Repositories::new(project);
    branches
        .iter()
        .filter_map(|own| {
            let found = repositories
                .of(Path::new(&own.worktree))
                .and_then(|repo| repo.landing(own));
            found.unwrap_or_else(|e| {
                tracing::debug!(agent = %own.agent_id, error = %e, "whether its branch landed is not known");
                None
            })
        })
        .collect()
}

/// A repository as landing reads it, once per look.
struct Repository {
    /// Its worktrees, symlink-free.
    worktrees: Vec<PathBuf>,
    /// The main worktree: where the team's branches land.
    main: PathBuf,
    /// The branch checked out there; `None` when detached (nothing lands then).
    base: Option<String>,
    branches: Vec<String>,
}

impl Repository {
    fn read(dir: &Path) -> Result<Self, GitError> {
        let trees = worktrees::list(dir)?;
        let main = trees.iter().find(|t| !t.bare);
        let top = main.map_or_else(|| dir.to_owned(), |t| t.path.clone());
        Ok(Self {
            worktrees: trees.iter().map(|t| canonical(&t.path)).collect(),
            base: main.and_then(|t| t.branch.clone()),
            branches: local_branches(&top, "")?,
            main: top,
        })
    }

    fn landing(&self, own: &OwnBranch) -> Result<Option<AgentLanding>, GitError> {
        let Some(base) = &self.base else {
            return Ok(None);
        };
        let ahead = if self.branches.contains(&own.branch) {
            Some(commits_not_in(&self.main, &own.branch, base)?)
        } else {
            None
        };
        Ok(decide(own, base, ahead))
    }
}

/// The repositories one look met: the project's, read at most once (a
/// failure too), and any other an agent's worktree belongs to.
struct Repositories<'a> {
    project: &'a Path,
    at_project: Option<Result<Repository, GitError>>,
    others: Vec<Repository>,
}

impl<'a> Repositories<'a> {
    fn new(project: &'a Path) -> Self {
        Self {
            project,
            at_project: None,
            others: Vec::new(),
        }
    }

    fn project(&mut self) -> Result<&Repository, GitError> {
        let project = self.project;
        self.at_project
            .get_or_insert_with(|| Repository::read(project))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The repository of the worktree at `worktree`; the project's when
    /// that worktree is gone.
    fn of(&mut self, worktree: &Path) -> Result<&Repository, GitError> {
        if !worktree.is_dir() {
            return self.project();
        }
        let tree = canonical(worktree);
        if self.project().is_ok_and(|r| r.worktrees.contains(&tree)) {
            return self.project();
        }
        if let Some(i) = self.others.iter().position(|r| r.worktrees.contains(&tree)) {
            return Ok(&self.others[i]);
        }
        let read = Repository::read(&tree)?;
        self.others.push(read);
        Ok(&self.others[self.others.len() - 1])
    }
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

#[cfg(test)]
mod tests;
