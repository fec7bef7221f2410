//! Hand-over between agents that each work in a git worktree of their own:
//! a lock hands over the change, not only the turn. Plain decisions over the
//! facts git gave ([`crate::git`] gathers them):
//!
//! - a release of a file with uncommitted changes in the releaser's own
//!   worktree is refused, "commit first" ([`on_release`]); a forced release or
//!   an expiry goes through and leaves a version flagged as having left
//!   uncommitted work behind;
//! - a release of a file changed and committed while the lock was held
//!   leaves a [`NewVersion`] (the commit, branch and agent that hold the
//!   latest version); an unchanged file leaves none;
//! - a grant of a path whose latest version another worktree made, in a
//!   commit the claimer's HEAD lacks and with content the claimer's copy does
//!   not have, carries a [`HandOver`] with the command that brings it in;
//! - `ccmulti team land` merges branches in hand-over order ([`landing_order`]).
//!
//! Agents sharing one checkout never meet any of this: they have no
//! worktree of their own ([`is_own`]), so nothing is refused and nothing
//! recorded.

use std::collections::{BTreeMap, BTreeSet};

use ccmulti_model::snapshot::AgentRow;
use ccmulti_model::{AgentWorkspace, PathVersion, PendingHandOver};

use crate::clock::Millis;
use crate::rules::targets::LockTarget;

/// How many hex digits of a commit id a person reads.
pub const SHORT_ID: usize = ccmulti_model::SHORT_COMMIT_ID;

/// Gives each agent its pending hand-overs (read beside the agents, for
/// the dashboard), in the order read.
pub fn attach_pending(agents: &mut [AgentRow], pending: Vec<PendingHandOver>) {
    for p in pending {
        if let Some(agent) = agents
            .iter_mut()
            .find(|a| a.session_id == p.version.session_id && a.agent_id == p.agent_id)
        {
            agent.pending_handovers.push(p);
        }
    }
}

/// Whether `a` and `b` are one checkout: the same directory on the same
/// machine (an unknown machine is taken as the same).
pub fn same_checkout(a: &AgentWorkspace, b: &AgentWorkspace) -> bool {
    a.worktree == b.worktree
        && match (&a.host, &b.host) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        }
}

/// Whether an agent working in `workspace` works in a worktree of its own:
/// no other agent of its session (`others`) works in the same checkout.
pub fn is_own<'a>(
    workspace: &AgentWorkspace,
    others: impl IntoIterator<Item = &'a AgentWorkspace>,
) -> bool {
    others.into_iter().all(|o| !same_checkout(workspace, o))
}

/// A version a release records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVersion {
    pub path: String,
    pub agent: String,
    pub workspace: AgentWorkspace,
    pub commit: Option<String>,
    pub blob: Option<String>,
    pub left_uncommitted: bool,
}

/// A lock that is ending, as the release decision needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndingLock {
    /// The lock path: a file, a directory ending in `/`, or a glob.
    pub path: String,
    /// Read locks change nothing and are never checked.
    pub exclusive: bool,
    pub granted_at_ms: Millis,
}

/// A file's last commit and its content there, as git reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The last commit reachable from HEAD that changed the file.
    pub commit: String,
    pub committed_at_secs: i64,
    /// The file's blob at HEAD; `None` when deleted.
    pub blob: Option<String>,
}

/// What git says about the releaser's worktree, for the files under the
/// locks it gives up (lock paths, relative to the project root).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorktreeFacts {
    /// Files with changes not committed (changed, deleted, staged, untracked).
    pub uncommitted: BTreeSet<String>,
    /// Files changed by a commit, with that commit (the candidates: every
    /// file locked, and every file a directory or glob lock's commits touched).
    pub committed: BTreeMap<String, Committed>,
}

/// Who releases, which decides what uncommitted work does to the release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The holder (the tool), or a person's release without `--force`:
    /// refused while a file has uncommitted changes.
    Release,
    /// A person forcing it (`--force`, the dashboard) or the lease running
    /// out: it goes through, and the work left behind is flagged.
    Forced,
}

/// The release's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseVerdict {
    /// Nothing is released: these files have uncommitted changes.
    CommitFirst(Vec<String>),
    /// Released; these versions are recorded.
    Records(Vec<NewVersion>),
}

/// Whether the file at `path` is covered by the lock `lock`.
pub(crate) fn covers(lock: &str, path: &str) -> bool {
    LockTarget::parse(lock).overlaps(&LockTarget::File(path.to_owned()))
}

/// What ending `locks` of `agent`, who works in `workspace` (a worktree of
/// its own), does: refused "commit first", or the versions it records.
/// `latest` is each path's latest version, if any.
pub fn on_release(
    agent: &str,
    workspace: &AgentWorkspace,
    locks: &[EndingLock],
    facts: &WorktreeFacts,
    latest: &BTreeMap<String, PathVersion>,
    ending: Ending,
) -> ReleaseVerdict {
    let exclusive: Vec<&EndingLock> = locks.iter().filter(|l| l.exclusive).collect();
    let under_lock = |path: &str| exclusive.iter().find(|l| covers(&l.path, path));
    let uncommitted: Vec<String> = facts
        .uncommitted
        .iter()
        .filter(|p| under_lock(p).is_some())
        .cloned()
        .collect();
    if ending == Ending::Release && !uncommitted.is_empty() {
        return ReleaseVerdict::CommitFirst(uncommitted);
    }
    let mut records = Vec::new();
    let mut paths: BTreeSet<&String> = facts.committed.keys().collect();
    paths.extend(&uncommitted);
    for path in paths {
        let Some(lock) = under_lock(path) else {
            continue;
        };
        let left_uncommitted = uncommitted.contains(path);
        // Committed while the lock was held (to the second git keeps), and
        // not the content the latest version already names.
        let changed = facts.committed.get(path).filter(|c| {
            c.committed_at_secs >= lock.granted_at_ms.div_euclid(1000)
                && latest.get(path).is_none_or(|v| v.blob != c.blob)
        });
        if changed.is_none() && !left_uncommitted {
            continue;
        }
        records.push(NewVersion {
            path: path.clone(),
            agent: agent.to_owned(),
            workspace: workspace.clone(),
            commit: changed.map(|c| c.commit.clone()),
            blob: changed.and_then(|c| c.blob.clone()),
            left_uncommitted,
        });
    }
    ReleaseVerdict::Records(records)
}

/// What another agent's worktree holds of a file a claimer was just granted,
/// looked at by the grant itself, so the change is handed over however the
/// other agent's lock ended (released, forced, or run out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherChange {
    pub path: String,
    pub agent: String,
    pub workspace: AgentWorkspace,
    /// The newest commit on its HEAD that changed the file and that the
    /// claimer's HEAD lacks.
    pub committed: Option<Committed>,
    /// Whether the file has changes there that are in no commit.
    pub uncommitted: bool,
}

/// The versions a grant records from what the other worktrees hold
/// (`found`), given each path's latest recorded version: a commit the
/// latest version does not already name (oldest first, so the newest becomes
/// the latest), or else changes left uncommitted, once per agent.
pub fn discovered(
    mut found: Vec<OtherChange>,
    latest: &BTreeMap<String, PathVersion>,
) -> Vec<NewVersion> {
    found.sort_by_key(|f| {
        f.committed
            .as_ref()
            .map_or(i64::MAX, |c| c.committed_at_secs)
    });
    let mut records: Vec<NewVersion> = Vec::new();
    for f in found {
        let known = |v: &PathVersion| match &f.committed {
            Some(c) => v.commit.as_deref() == Some(c.commit.as_str()),
            None => v.agent_id == f.agent && v.commit.is_none() && v.left_uncommitted,
        };
        let recorded = |r: &NewVersion| {
            r.path == f.path
                && match &f.committed {
                    Some(c) => r.commit.as_deref() == Some(c.commit.as_str()),
                    None => r.agent == f.agent && r.commit.is_none(),
                }
        };
        if (f.committed.is_none() && !f.uncommitted)
            || latest.get(&f.path).is_some_and(known)
            || records.iter().any(recorded)
        {
            continue;
        }
        records.push(NewVersion {
            blob: f.committed.as_ref().and_then(|c| c.blob.clone()),
            commit: f.committed.map(|c| c.commit),
            path: f.path,
            agent: f.agent,
            workspace: f.workspace,
            left_uncommitted: f.uncommitted,
        });
    }
    records
}

/// The command that commits `files` (the model writes the message).
pub fn commit_command(files: &[String]) -> String {
    let quoted: Vec<String> = files
        .iter()
        .map(|f| crate::rules::shell::quote(f))
        .collect();
    format!(
        "git add -A -- {} && git commit -m \"...\"",
        quoted.join(" ")
    )
}

/// "commit first": what a refused release says, naming the files and the
/// command that commits them.
pub fn commit_first_message(files: &[String]) -> String {
    format!(
        "commit first: {} {} uncommitted changes in your worktree, and a lock in worktree mode hands \
         over the committed change to the next holder. Nothing was released. Commit {} \
         (`{}`), then release again.",
        files.join(", "),
        if files.len() == 1 { "has" } else { "have" },
        if files.len() == 1 { "it" } else { "them" },
        commit_command(files),
    )
}

/// A waiting claim called away from its wait: another agent needs the
/// caller's changes to `wanted`, which are in no commit, and it cannot commit
/// them while it waits for `what`.
pub fn called_away_message(what: &str, wanted: &[String], waited: &str) -> String {
    format!(
        "nothing was claimed{waited}: another agent needs your changes to {}, which are in no commit in your \
         worktree, so ccmulti stopped your wait for {what} to let you commit them: `{}`. Then claim again \
         (wait_seconds waits for it).",
        wanted.join(", "),
        commit_command(wanted),
    )
}

/// Whether a change recorded in no commit is out of date: its agent
/// recorded the path again since (it committed, or left more), so the later
/// record is the one to tell.
pub fn superseded<'a>(
    version: &PathVersion,
    all: impl IntoIterator<Item = &'a PathVersion>,
) -> bool {
    version.commit.is_none()
        && all.into_iter().any(|later| {
            later.id > version.id
                && later.path == version.path
                && later.agent_id == version.agent_id
        })
}

/// Whether `version` may need handing over to `claimer`, who works in
/// `workspace`: another agent made it, in another checkout.
pub fn is_candidate(version: &PathVersion, claimer: &str, workspace: &AgentWorkspace) -> bool {
    version.agent_id != claimer && !same_checkout(&version.workspace, workspace)
}

/// Whether a commit is in the claimer's HEAD, as git answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InHead {
    Yes,
    No,
    /// The commit is not in the claimer's repository at all (another clone).
    NotInRepository,
}

/// What the claimer's worktree has of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimerFacts {
    /// Whether the version's commit is in the claimer's HEAD (`None`: the
    /// version has no commit).
    pub in_head: Option<InHead>,
    /// The file's blob as it is in the claimer's worktree; `None`: no file.
    pub content: Option<String>,
}

/// A version the claimer must bring in before editing the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandOver {
    pub path: String,
    pub from: String,
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub worktree: String,
    /// The file's blob in that commit; `None` when the commit deleted it.
    pub blob: Option<String>,
    /// The commit is in another clone: fetch it first.
    pub fetch: bool,
    /// The holder's lock ended with changes not committed.
    pub left_uncommitted: bool,
}

/// The hand-over `version` makes for a claimer whose worktree has `facts`;
/// `None` when there is nothing to bring in (the commit is in its HEAD, or
/// its file already has that content).
pub fn pending(version: &PathVersion, facts: &ClaimerFacts) -> Option<HandOver> {
    let lacks_commit = version.commit.is_some() && facts.in_head != Some(InHead::Yes);
    let differs = facts.content != version.blob;
    let needed =
        (lacks_commit && differs) || (version.commit.is_none() && version.left_uncommitted);
    needed.then(|| HandOver {
        path: version.path.clone(),
        from: version.agent_id.clone(),
        commit: version.commit.clone(),
        branch: version.workspace.branch.clone(),
        worktree: version.workspace.worktree.clone(),
        blob: version.blob.clone(),
        fetch: facts.in_head == Some(InHead::NotInRepository),
        left_uncommitted: version.left_uncommitted,
    })
}

fn short(commit: &str) -> &str {
    commit.get(..SHORT_ID).unwrap_or(commit)
}

impl HandOver {
    /// The command that brings the version in; `None` when it is in no commit.
    pub fn command(&self) -> Option<String> {
        let commit = self.commit.as_deref()?;
        let merge = ccmulti_model::merge_command(commit);
        Some(match (&self.branch, self.fetch) {
            (Some(branch), true) => format!(
                "git fetch <remote> {} && {merge}",
                crate::rules::shell::quote(branch)
            ),
            _ => merge,
        })
    }

    /// As the tools report it.
    pub fn report(&self) -> ccmulti_model::tools::HandOver {
        ccmulti_model::tools::HandOver {
            path: self.path.clone(),
            from: self.from.clone(),
            commit: self.commit.clone(),
            branch: self.branch.clone(),
            blob: self.blob.clone(),
            command: self.command(),
            fetch: self.fetch,
            worktree: Some(self.worktree.clone()),
            message: self.message(),
        }
    }

    /// One paragraph a model acts on.
    pub fn message(&self) -> String {
        let on_branch = self
            .branch
            .as_deref()
            .map(|b| format!(" (branch {b})"))
            .unwrap_or_default();
        let mut text = match (self.commit.as_deref(), self.command()) {
            (Some(commit), Some(command)) if self.fetch => format!(
                "{} changed {} in commit {}{on_branch}, made in another clone: fetch it from where {} pushes, \
                 then merge it before editing the file: `{command}`.",
                self.from,
                self.path,
                short(commit),
                self.from,
            ),
            (Some(commit), Some(command)) => format!(
                "{} changed {} in commit {}{on_branch}, which your worktree lacks: bring it in before editing \
                 the file: `{command}`.",
                self.from,
                self.path,
                short(commit)
            ),
            _ => format!(
                "{} has changes to {} in its worktree {}{on_branch} that are in no commit yet, so they \
                 cannot be brought in now. ccmulti's news asks {} to commit them; read {} again after \
                 that and you are told the commit to bring in (if {} is gone, ask a person to commit them there).",
                self.from, self.path, self.worktree, self.from, self.path, self.from
            ),
        };
        if self.left_uncommitted && self.commit.is_some() {
            text.push_str(&format!(
                " It has more changes to it left uncommitted in {}.",
                self.worktree
            ));
        }
        text
    }
}

/// A branch `team land` may merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landing {
    pub branch: String,
    /// When its agent first recorded a version, if it did.
    pub first_record_ms: Option<Millis>,
}

/// The order to merge `branches` in: a branch whose versions others brought
/// in before the branches that brought them in (`brought_in(i, j)`: branch
/// `j` holds a version branch `i` recorded), then by first record (branches
/// without one last), then by name. A cycle (each brought in the other's) is
/// broken by the same order.
pub fn landing_order(
    branches: &[Landing],
    brought_in: impl Fn(usize, usize) -> bool,
) -> Vec<usize> {
    let n = branches.len();
    let key = |i: usize| {
        (
            branches[i].first_record_ms.is_none(),
            branches[i].first_record_ms,
            branches[i].branch.clone(),
        )
    };
    let before: Vec<Vec<bool>> = (0..n)
        .map(|i| (0..n).map(|j| i != j && brought_in(i, j)).collect())
        .collect();
    let mut left: BTreeSet<usize> = (0..n).collect();
    let mut order = Vec::with_capacity(n);
    while !left.is_empty() {
        let ready = left
            .iter()
            .copied()
            .filter(|&j| !left.iter().any(|&i| before[i][j]))
            .min_by_key(|&i| key(i));
        let next = match ready {
            Some(i) => i,
            // Everything left waits on something left: a cycle.
            None => match left.iter().copied().min_by_key(|&i| key(i)) {
                Some(i) => i,
                None => break,
            },
        };
        left.remove(&next);
        order.push(next);
    }
    order
}

#[cfg(test)]
mod tests;
