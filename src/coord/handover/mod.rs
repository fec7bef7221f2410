//! Hand-over between agents in worktrees of their own, as the service runs
//! it: the git facts gathered in the agents' worktrees ([`facts`]), the
//! decisions in [`crate::rules::handover`], the records in the store. Agents
//! that share a checkout, or whose worktree is not on this machine, meet none
//! of it: their releases and grants are exactly as before.

pub(crate) mod facts;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ccmulti_model::{AgentWorkspace, PathVersion};

use self::facts::Checkout;
use super::Coordinator;
use crate::git;
use crate::rules::handover::{
    self, Ending, EndingLock, ReleaseVerdict, covers, is_candidate, is_own, same_checkout,
};
use crate::rules::locks::ReleaseScope;
use crate::rules::locks::steps::{ForceSelector, Grant, ReleaseOutcome};
use crate::rules::targets::is_pattern;
use crate::store::{Result, StoreError};
use ccmulti_model::snapshot::LockRow;

/// A release's answer when the hand-over rules apply.
#[derive(Debug, Clone, PartialEq)]
pub enum Released {
    Done(ReleaseOutcome),
    /// Nothing released: these files under the locks have uncommitted changes.
    CommitFirst(Vec<String>),
}

/// A person's release's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ByHand {
    Released(Vec<LockRow>),
    /// Nothing released: per holder, the files with uncommitted changes.
    CommitFirst(Vec<(String, Vec<String>)>),
}

/// Whether `selector` picks `lock` (as the store's forced release reads them).
fn picks(selector: &ForceSelector, lock: &LockRow) -> bool {
    let in_session = |s: &Option<String>| s.as_ref().is_none_or(|s| *s == lock.session_id);
    match selector {
        ForceSelector::LockId(id) => lock.lock_id == *id,
        ForceSelector::Path { session_id, path } => in_session(session_id) && lock.path == *path,
        ForceSelector::Agent {
            session_id,
            agent_id,
        } => in_session(session_id) && lock.agent_id == *agent_id,
    }
}

/// The agent's workspace when it works in a worktree of its own on this
/// machine that is a worktree of this project (`roots`), with where its lock
/// paths live there.
fn own_checkout(
    placed: &[(String, AgentWorkspace)],
    agent: &str,
    roots: &[PathBuf],
) -> Option<(AgentWorkspace, Checkout)> {
    let workspace = placed.iter().find(|(a, _)| a == agent)?.1.clone();
    let others = placed.iter().filter(|(a, _)| a != agent).map(|(_, w)| w);
    if !is_own(&workspace, others) || !on_this_machine(&workspace) {
        return None;
    }
    let top = Path::new(&workspace.worktree);
    let root = roots.iter().find(|r| r.starts_with(top))?;
    let within = root.strip_prefix(top).ok()?.to_owned();
    let checkout = Checkout {
        top: top.to_owned(),
        within,
    };
    Some((workspace, checkout))
}

/// Whether git can look into `workspace` from here (an unknown machine is
/// taken as this one).
fn on_this_machine(workspace: &AgentWorkspace) -> bool {
    match (&workspace.host, git::this_host()) {
        (Some(theirs), Some(ours)) => *theirs == ours,
        _ => true,
    }
}

/// The worktrees of the other agents of the session, on this machine and
/// not the claimer's checkout: where a change the claimer lacks may be.
fn other_worktrees(
    placed: &[(String, AgentWorkspace)],
    agent: &str,
    mine: &AgentWorkspace,
) -> Vec<(String, AgentWorkspace)> {
    placed
        .iter()
        .filter(|(a, w)| a != agent && !same_checkout(w, mine) && on_this_machine(w))
        .cloned()
        .collect()
}

/// Each path's latest version.
fn latest(versions: Vec<PathVersion>) -> BTreeMap<String, PathVersion> {
    versions.into_iter().map(|v| (v.path.clone(), v)).collect()
}

/// Whether `recorded` is the row `new` was written as.
fn records(new: &handover::NewVersion, recorded: &PathVersion) -> bool {
    recorded.path == new.path
        && recorded.agent_id == new.agent
        && recorded.commit == new.commit
        && recorded.left_uncommitted == new.left_uncommitted
}

/// How many times a look into the other worktrees starts again when
/// versions of its paths are recorded while it looks.
const LOOK_TRIES: usize = 3;

/// One look into the other agents' worktrees for a claimer.
struct Look<'a> {
    session: &'a str,
    agent: &'a str,
    checkout: &'a Checkout,
    others: &'a [(String, AgentWorkspace)],
    /// The lock paths the hand-overs are for (lock id; none: a path it reads).
    locks: &'a [(Option<String>, String)],
    /// Files to look for whatever the versions say (a new grant's).
    look_for: &'a [String],
}

impl Look<'_> {
    /// The files to look for: besides [`Self::look_for`], each lock path
    /// whose latest or pending version by another agent is a change in no
    /// commit, or only partly committed. Its maker is asked to commit it, and
    /// the commit is what to bring in; bringing in a commit that holds part
    /// of a change does not bring the rest.
    fn files(
        &self,
        latest: &BTreeMap<String, PathVersion>,
        also: &BTreeMap<i64, PathVersion>,
    ) -> Vec<String> {
        let mut files = self.look_for.to_vec();
        for (_, lock_path) in self.locks {
            let waiting = latest
                .get(lock_path)
                .into_iter()
                .chain(also.values().filter(|v| v.path == *lock_path))
                .any(|v| (v.commit.is_none() || v.left_uncommitted) && v.agent_id != self.agent);
            if waiting && !is_pattern(lock_path) && !files.contains(lock_path) {
                files.push(lock_path.clone());
            }
        }
        files
    }
}

/// Runs git off the async workers; a git failure is logged and taken as
/// "no facts", so the release or grant goes on as it would without them.
async fn off_workers<T: Send + 'static>(
    what: &'static str,
    f: impl FnOnce() -> std::result::Result<T, git::GitError> + Send + 'static,
) -> Result<Option<T>> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(found)) => Ok(Some(found)),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "{what}: git did not answer; going on without hand-over facts");
            Ok(None)
        }
        Err(e) => Err(StoreError::Join(e.to_string())),
    }
}

impl Coordinator {
    /// The locks of `agent` a release ends, with when each was granted.
    async fn ending_locks(
        &self,
        session: &str,
        agent: &str,
        ending: &[&LockRow],
    ) -> Result<Vec<EndingLock>> {
        let granted = self.store.granted_at(session, agent).await?;
        Ok(ending
            .iter()
            .map(|l| EndingLock {
                path: l.path.clone(),
                exclusive: !l.operation.is_shared(),
                granted_at_ms: granted.get(&l.lock_id).copied().unwrap_or(0),
            })
            .collect())
    }

    /// What ending `locks` of `agent` records, or the files to commit first.
    async fn verdict(
        &self,
        session: &str,
        agent: &str,
        own: Option<(AgentWorkspace, Checkout)>,
        locks: &[&LockRow],
        ending: Ending,
    ) -> Result<ReleaseVerdict> {
        let Some((workspace, checkout)) = own else {
            return Ok(ReleaseVerdict::Records(Vec::new()));
        };
        let ending_locks = self.ending_locks(session, agent, locks).await?;
        let scanned = ending_locks.clone();
        let Some(facts) =
            off_workers("release", move || facts::ending(&checkout, &scanned)).await?
        else {
            return Ok(ReleaseVerdict::Records(Vec::new()));
        };
        let latest = latest(self.store.path_versions(session).await?);
        Ok(handover::on_release(
            agent,
            &workspace,
            &ending_locks,
            &facts,
            &latest,
            ending,
        ))
    }

    /// An agent's release (the tool, `ccmulti release` without `--force`):
    /// refused while a file under its write locks has uncommitted changes in
    /// its own worktree; otherwise released, recording where each file it
    /// changed now is.
    pub async fn release_handing_over(
        &self,
        roots: &[PathBuf],
        session: &str,
        agent: &str,
        scope: &ReleaseScope,
    ) -> Result<Released> {
        // Most releases are in a shared checkout: one read of where the
        // agents work tells (no rows for agents started by hand), and only a
        // worktree of its own reads its locks and asks git.
        let agents = self.store.agent_workspaces(session).await?;
        let Some(own) = own_checkout(&agents, agent, roots) else {
            return Ok(Released::Done(
                self.store.release(session, agent, scope).await?,
            ));
        };
        let view = self.store.session_view(session).await?;
        let ending: Vec<&LockRow> = view
            .locks
            .iter()
            .filter(|l| l.agent_id == agent)
            .filter(|l| match scope {
                ReleaseScope::All => true,
                ReleaseScope::Paths(paths) => paths.contains(&l.path),
            })
            .collect();
        let verdict = self
            .verdict(session, agent, Some(own), &ending, Ending::Release)
            .await?;
        match verdict {
            ReleaseVerdict::CommitFirst(files) => Ok(Released::CommitFirst(files)),
            ReleaseVerdict::Records(versions) => Ok(Released::Done(
                self.store
                    .release_recording(session, agent, scope, &versions)
                    .await?,
            )),
        }
    }

    /// A person's release (`ccmulti release`, `team stop`, the dashboard):
    /// without `force`, refused while a file under the picked write locks
    /// has uncommitted changes in its holder's own worktree (nothing is
    /// released: the files, by holder); with `force`, it goes through and
    /// the versions it records flag the work left uncommitted.
    pub async fn release_by_hand(
        &self,
        roots: &[PathBuf],
        selector: &ForceSelector,
        by: &str,
        force: bool,
    ) -> Result<ByHand> {
        let snapshot = self.store.snapshot(0).await?;
        let picked: Vec<&LockRow> = snapshot
            .locks
            .iter()
            .filter(|l| picks(selector, l))
            .collect();
        let mut holders: Vec<(&str, &str)> = picked
            .iter()
            .map(|l| (l.session_id.as_str(), l.agent_id.as_str()))
            .collect();
        holders.sort_unstable();
        holders.dedup();
        let ending = if force {
            Ending::Forced
        } else {
            Ending::Release
        };
        let (mut versions, mut refused) = (Vec::new(), Vec::new());
        for (session, agent) in holders {
            let agents = self.store.agent_workspaces(session).await?;
            let own = own_checkout(&agents, agent, roots);
            let theirs: Vec<&LockRow> = picked
                .iter()
                .copied()
                .filter(|l| l.session_id == session && l.agent_id == agent)
                .collect();
            match self.verdict(session, agent, own, &theirs, ending).await? {
                ReleaseVerdict::Records(found) => versions.extend(found),
                ReleaseVerdict::CommitFirst(files) => refused.push((agent.to_owned(), files)),
            }
        }
        if !refused.is_empty() {
            return Ok(ByHand::CommitFirst(refused));
        }
        Ok(ByHand::Released(
            self.store
                .force_release_recording(selector, by, &versions)
                .await?,
        ))
    }

    /// The hand-overs `agent` has to bring in for `locks` (lock id, lock
    /// path; no id: a path it reads): the versions made by another agent in
    /// another checkout that its worktree lacks (each path's latest, those
    /// this look found, those still pending on the locks; a change in no
    /// commit its agent has recorded again since is dropped). First the
    /// other worktrees are asked ([`Self::look_into_others`]; `look_for`: a
    /// new grant's files). The ones found are kept as pending hand-overs of
    /// the locks, and those brought in are forgotten.
    async fn handovers(
        &self,
        roots: &[PathBuf],
        session: &str,
        agent: &str,
        locks: &[(Option<String>, String)],
        look_for: Vec<String>,
    ) -> Result<Vec<handover::HandOver>> {
        let agents = self.store.agent_workspaces(session).await?;
        let Some((workspace, checkout)) = own_checkout(&agents, agent, roots) else {
            return Ok(Vec::new());
        };
        // Besides each path's latest version: those found in this look (two
        // worktrees may each hold a change the claimer lacks) and those still
        // pending on these locks, so none is told once and then forgotten.
        let mut also: BTreeMap<i64, PathVersion> = BTreeMap::new();
        let lock_ids: Vec<&String> = locks.iter().filter_map(|(id, _)| id.as_ref()).collect();
        if !lock_ids.is_empty() {
            for p in self.store.pending_handovers(session).await? {
                if p.agent_id == agent && lock_ids.contains(&&p.lock_id) {
                    also.insert(p.version.id, p.version);
                }
            }
        }
        let others = other_worktrees(&agents, agent, &workspace);
        let look = Look {
            session,
            agent,
            checkout: &checkout,
            others: &others,
            locks,
            look_for: &look_for,
        };
        let latest = self.look_into_others(&look, &mut also).await?;
        for v in latest.into_values() {
            also.insert(v.id, v);
        }
        let mut candidates: Vec<(Option<String>, PathVersion)> = Vec::new();
        let mut superseded: Vec<(String, i64)> = Vec::new();
        for (lock_id, lock_path) in locks {
            for version in also.values() {
                if !covers(lock_path, &version.path) || !is_candidate(version, agent, &workspace) {
                    continue;
                }
                if handover::superseded(version, also.values()) {
                    superseded.extend(lock_id.clone().map(|id| (id, version.id)));
                } else {
                    candidates.push((lock_id.clone(), version.clone()));
                }
            }
        }
        self.store.drop_pending_handovers(&superseded).await?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let asked: Vec<PathVersion> = candidates.iter().map(|(_, v)| v.clone()).collect();
        let Some(scan) = off_workers("grant", move || {
            let refs: Vec<&PathVersion> = asked.iter().collect();
            facts::claimer(&checkout, &refs, &|_| false)
        })
        .await?
        else {
            return Ok(Vec::new());
        };
        let (mut pending, mut done, mut found) = (Vec::new(), Vec::new(), Vec::new());
        for (lock_id, version) in &candidates {
            let Some(f) = scan.facts.get(&version.id) else {
                continue;
            };
            let held = lock_id.clone().map(|id| (id, version.id));
            match handover::pending(version, f) {
                Some(h) => {
                    pending.extend(held);
                    found.push(h);
                }
                None => done.extend(held),
            }
        }
        self.store.add_pending_handovers(&pending).await?;
        self.store.drop_pending_handovers(&done).await?;
        Ok(found)
    }

    /// Asks the other worktrees what they hold of the files to look for
    /// (those of a new grant, and those whose latest version is still in no
    /// commit), and records what they hold that no version names yet, so a
    /// change is handed over however the lock that covered it ended. The
    /// versions it records join `also`; each path's latest version is the
    /// answer. The look decides against the versions it read: when another
    /// look or a release records a version of one of its paths meanwhile, it
    /// records nothing and looks again, since what it found may be an older
    /// state of the file than the one just recorded, and as the latest it
    /// would hide that one.
    async fn look_into_others(
        &self,
        look: &Look<'_>,
        also: &mut BTreeMap<i64, PathVersion>,
    ) -> Result<BTreeMap<String, PathVersion>> {
        let mut tries = 0;
        loop {
            let versions = self.store.path_versions(look.session).await?;
            let seen = versions.iter().map(|v| v.id).max();
            let latest = latest(versions);
            let look_for = look.files(&latest, also);
            if look_for.is_empty() || look.others.is_empty() {
                return Ok(latest);
            }
            let (at, others) = (look.checkout.clone(), look.others.to_vec());
            let known: BTreeMap<String, String> = latest
                .iter()
                .filter_map(|(path, v)| Some((path.clone(), v.commit.clone()?)))
                .collect();
            let found = off_workers("grant", move || {
                facts::others_changes(&at, &others, &look_for, &known)
            })
            .await?
            .unwrap_or_default();
            let fresh = handover::discovered(found, &latest);
            if fresh.is_empty() {
                return Ok(latest);
            }
            if self
                .store
                .record_versions(look.session, &fresh, seen)
                .await?
            {
                let versions = self.store.path_versions(look.session).await?;
                also.extend(
                    versions
                        .iter()
                        .filter(|v| fresh.iter().any(|f| records(f, v)))
                        .map(|v| (v.id, v.clone())),
                );
                self.call_away_for(look.session, &fresh);
                return Ok(self::latest(versions));
            }
            tries += 1;
            if tries == LOOK_TRIES {
                // Others keep recording first: what they recorded is the
                // answer, and the agent's next look tries again.
                tracing::debug!(
                    agent = look.agent,
                    "versions kept moving under the look; nothing recorded"
                );
                return Ok(self::latest(self.store.path_versions(look.session).await?));
            }
        }
    }

    /// Each agent whose changes were just found needed while in no commit
    /// is asked in its news; one waiting for a lock meanwhile is called away
    /// from its wait, since it cannot commit while it waits.
    fn call_away_for(&self, session: &str, fresh: &[handover::NewVersion]) {
        let mut wanted: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for v in fresh.iter().filter(|v| v.left_uncommitted) {
            wanted.entry(&v.agent).or_default().push(v.path.clone());
        }
        for (agent, paths) in wanted {
            self.waiters.call_away(session, agent, &paths);
        }
    }

    /// After a grant: the hand-overs it carries, kept until brought in.
    pub async fn handovers_of_grant(
        &self,
        roots: &[PathBuf],
        session: &str,
        agent: &str,
        granted: &[Grant],
    ) -> Result<Vec<handover::HandOver>> {
        let exclusive: Vec<&Grant> = granted
            .iter()
            .filter(|g| !g.operation.is_shared())
            .collect();
        let locks: Vec<(Option<String>, String)> = exclusive
            .iter()
            .map(|g| (Some(g.lock_id.clone()), g.path.clone()))
            .collect();
        // A renewal: nobody else had the file meanwhile.
        let look_for = exclusive
            .iter()
            .filter(|g| !g.renewed && !is_pattern(&g.path))
            .map(|g| g.path.clone())
            .collect();
        self.handovers(roots, session, agent, &locks, look_for)
            .await
    }

    /// The agent's hand-overs still pending (checked again in its worktree:
    /// those brought in meanwhile are forgotten).
    pub async fn pending_handovers(
        &self,
        roots: &[PathBuf],
        session: &str,
        agent: &str,
    ) -> Result<Vec<handover::HandOver>> {
        let pending = self.store.pending_handovers(session).await?;
        let mut locks: Vec<(Option<String>, String)> = Vec::new();
        for p in pending.into_iter().filter(|p| p.agent_id == agent) {
            let lock = (Some(p.lock_id), p.version.path);
            if !locks.contains(&lock) {
                locks.push(lock);
            }
        }
        if locks.is_empty() {
            return Ok(Vec::new());
        }
        self.handovers(roots, session, agent, &locks, Vec::new())
            .await
    }

    /// The agents of the session that edit in another checkout than
    /// `agent` (both in worktrees known to the coordinator): their locks
    /// order edits across worktrees but do not make `agent`'s own commits
    /// wait.
    pub async fn working_elsewhere(
        &self,
        session: &str,
        agent: &str,
    ) -> Result<std::collections::BTreeSet<String>> {
        let placed = self.store.agent_workspaces(session).await?;
        let Some((_, mine)) = placed.iter().find(|(a, _)| a == agent) else {
            return Ok(std::collections::BTreeSet::new());
        };
        Ok(placed
            .iter()
            .filter(|(a, w)| a != agent && !same_checkout(w, mine))
            .map(|(a, _)| a.clone())
            .collect())
    }

    /// Of `paths` (lock paths) that `agent` reads: the versions its worktree
    /// lacks, so it is told before it edits a stale copy. Claude Code checks
    /// an edit's text against the file before any hook runs, so an edit made
    /// for text that never arrived in a stale worktree never reaches the hook
    /// that would bring the change in; the read is the moment to say it.
    pub async fn newer_for_reading(
        &self,
        roots: &[PathBuf],
        session: &str,
        agent: &str,
        paths: &[String],
    ) -> Result<Vec<handover::HandOver>> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let locks: Vec<(Option<String>, String)> =
            paths.iter().map(|p| (None, p.clone())).collect();
        let look_for = paths.iter().filter(|p| !is_pattern(p)).cloned().collect();
        self.handovers(roots, session, agent, &locks, look_for)
            .await
    }
}

#[cfg(test)]
// A scenario (a chain of three agents) reads best whole; the limit is for
// shipped code.
#[allow(clippy::too_many_lines)]
mod tests;
