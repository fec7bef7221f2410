//! The git facts the hand-over rules decide on, gathered in an agent's
//! worktree on this machine: for locks that end, which of their files have
//! uncommitted changes and which commit last changed each; for a claimer,
//! whether it has a version's commit or content. Blocking (it runs git): the
//! service calls it off the async workers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::git::{self, Ancestry, GitError};
use ccmulti_model::PathVersion;

use crate::rules::handover::{
    ClaimerFacts, Committed, EndingLock, InHead, OtherChange, WorktreeFacts,
};
use crate::rules::targets::{GLOB_META, LockTarget, is_pattern};
use ccmulti_model::AgentWorkspace;

/// Where lock paths live in one worktree: its top, and the project root
/// relative to it (empty when the root is the top).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    pub top: PathBuf,
    pub within: PathBuf,
}

impl Checkout {
    /// A lock path as git spells it in this worktree.
    pub fn repo_path(&self, lock_path: &str) -> String {
        self.within.join(lock_path).to_string_lossy().into_owned()
    }

    /// A path git spelled, as a lock path; `None` outside the project root.
    pub fn lock_path(&self, repo_path: &str) -> Option<String> {
        Path::new(repo_path)
            .strip_prefix(&self.within)
            .ok()
            .map(|p| p.to_string_lossy().into_owned())
    }

    /// A pathspec that covers the lock path: a file or directory as it is, a
    /// glob by the directory its literal start names (the rules' own glob
    /// match then picks the files: git's globs are not ours).
    fn pathspec(&self, lock_path: &str) -> String {
        if !is_pattern(lock_path) || !lock_path.contains(GLOB_META) {
            return git::pathspec(&self.repo_path(lock_path), false);
        }
        let literal = &lock_path[..lock_path.find(GLOB_META).unwrap_or(0)];
        let dir = literal.rfind('/').map_or("", |i| &literal[..=i]);
        let spec = self.repo_path(dir);
        git::pathspec(if spec.is_empty() { "." } else { &spec }, false)
    }
}

fn covered(locks: &[&EndingLock], path: &str) -> bool {
    let file = LockTarget::File(path.to_owned());
    locks
        .iter()
        .any(|l| LockTarget::parse(&l.path).overlaps(&file))
}

/// What the worktree holds of the files under the exclusive locks among `locks`.
pub fn ending(checkout: &Checkout, locks: &[EndingLock]) -> Result<WorktreeFacts, GitError> {
    let exclusive: Vec<&EndingLock> = locks.iter().filter(|l| l.exclusive).collect();
    let mut facts = WorktreeFacts::default();
    if exclusive.is_empty() {
        return Ok(facts);
    }
    let top = &checkout.top;
    let specs: Vec<String> = exclusive
        .iter()
        .map(|l| checkout.pathspec(&l.path))
        .collect();
    facts.uncommitted = git::uncommitted(top, &specs)?
        .iter()
        .filter_map(|p| checkout.lock_path(p))
        .filter(|p| covered(&exclusive, p))
        .collect();
    if git::head(top)?.is_none() {
        return Ok(facts);
    }
    // Every locked file, and the files a directory or glob lock's commits touched.
    let mut files: Vec<String> = exclusive
        .iter()
        .filter(|l| !is_pattern(&l.path))
        .map(|l| l.path.clone())
        .collect();
    let patterns: Vec<&&EndingLock> = exclusive.iter().filter(|l| is_pattern(&l.path)).collect();
    if let Some(since_ms) = patterns.iter().map(|l| l.granted_at_ms).min() {
        let specs: Vec<String> = patterns
            .iter()
            .map(|l| checkout.pathspec(&l.path))
            .collect();
        files.extend(
            git::touched_since(top, "HEAD", since_ms.div_euclid(1000), &specs)?
                .iter()
                .filter_map(|p| checkout.lock_path(p))
                .filter(|p| covered(&exclusive, p)),
        );
    }
    files.sort();
    files.dedup();
    let repo_paths: Vec<String> = files.iter().map(|f| checkout.repo_path(f)).collect();
    let blobs = git::blobs_at(top, "HEAD", &repo_paths)?;
    for (file, repo_path) in files.iter().zip(&repo_paths) {
        if let Some(touch) = git::last_commit_touching(top, "HEAD", repo_path)? {
            facts.committed.insert(
                file.clone(),
                Committed {
                    commit: touch.commit,
                    committed_at_secs: touch.committed_at_secs,
                    blob: blobs.get(repo_path).cloned().flatten(),
                },
            );
        }
    }
    Ok(facts)
}

/// What each of the other agents' worktrees (on this machine, of this
/// repository) holds of `files` (lock paths naming files) that the claimer's
/// HEAD lacks: the newest commit on its HEAD that changed the file and that
/// neither the claimer's HEAD nor the file's latest recorded version
/// (`known`, its commit) holds, and whether it has changes to it in no
/// commit. A commit another worktree's find already holds is left out. A
/// worktree git cannot read (gone, or not a worktree) is passed over.
pub fn others_changes(
    checkout: &Checkout,
    others: &[(String, AgentWorkspace)],
    files: &[String],
    known: &BTreeMap<String, String>,
) -> Result<Vec<OtherChange>, GitError> {
    let mut found = Vec::new();
    if files.is_empty() {
        return Ok(found);
    }
    let Some(ours) = git::head(&checkout.top)? else {
        return Ok(found);
    };
    let specs: Vec<String> = files
        .iter()
        .map(|f| git::pathspec(&checkout.repo_path(f), false))
        .collect();
    for (agent, workspace) in others {
        let top = Path::new(&workspace.worktree);
        let (Ok(Some(theirs)), Ok(uncommitted)) = (git::head(top), git::uncommitted(top, &specs))
        else {
            continue;
        };
        for file in files {
            let repo_path = checkout.repo_path(file);
            let mut lacking = vec![ours.as_str()];
            lacking.extend(known.get(file).map(String::as_str));
            let touch =
                git::last_commit_touching_beyond(&checkout.top, &theirs, &lacking, &repo_path)?;
            let committed = match touch {
                Some(touch) => {
                    let blob = git::blobs_at(
                        &checkout.top,
                        &touch.commit,
                        std::slice::from_ref(&repo_path),
                    )?
                    .remove(&repo_path)
                    .flatten();
                    let changed =
                        !an_older_state(&checkout.top, &theirs, &lacking, &repo_path, &blob)?;
                    changed.then_some(Committed {
                        blob,
                        commit: touch.commit,
                        committed_at_secs: touch.committed_at_secs,
                    })
                }
                None => None,
            };
            found.push(OtherChange {
                path: file.clone(),
                agent: agent.clone(),
                workspace: workspace.clone(),
                committed,
                uncommitted: uncommitted.contains(&repo_path),
            });
        }
    }
    drop_contained(&checkout.top, &mut found)?;
    Ok(found)
}

/// Whether the file as `theirs` has it (`blob`) is only a state that history
/// shared with one of `lacking` already had: their branch merged in an older
/// version of the file (say the first of two commits another agent made of
/// it) and changed nothing of it, or kept its own older version in a merge.
/// Such a commit touches the file beyond `lacking`, yet holds nothing to hand
/// over, and recording it as the file's latest version would hide the
/// version that is.
fn an_older_state(
    top: &Path,
    theirs: &str,
    lacking: &[&str],
    repo_path: &str,
    blob: &Option<git::ObjectId>,
) -> Result<bool, GitError> {
    for rev in lacking {
        // Every best common ancestor: agents that merge each other's work
        // make criss-cross histories, and the older state may be either.
        for base in git::merge_bases(top, theirs, rev)? {
            let at_base = git::blobs_at(top, &base, &[repo_path.to_owned()])?
                .remove(repo_path)
                .flatten();
            if at_base == *blob {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Leaves out each commit found for a file that another commit found for it
/// holds (an agent that merged another's change and built on it).
fn drop_contained(top: &Path, found: &mut [OtherChange]) -> Result<(), GitError> {
    for i in 0..found.len() {
        let Some(mine) = found[i].committed.as_ref().map(|c| c.commit.clone()) else {
            continue;
        };
        for j in 0..found.len() {
            let theirs = match &found[j].committed {
                Some(c) if j != i && found[j].path == found[i].path && c.commit != mine => {
                    c.commit.clone()
                }
                _ => continue,
            };
            if git::ancestry(top, &mine, &theirs)? == Ancestry::Ancestor {
                found[i].committed = None;
                break;
            }
        }
    }
    Ok(())
}

/// What a claimer's worktree has of some versions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClaimerScan {
    /// By version id.
    pub facts: BTreeMap<i64, ClaimerFacts>,
    /// Commits found in its HEAD: once in, they stay in, so they need not be asked again.
    pub found_in_head: Vec<String>,
}

/// What the claimer's worktree has of each of `versions`. `in_head_already`
/// names commits known to be in its HEAD from an earlier look.
pub fn claimer(
    checkout: &Checkout,
    versions: &[&PathVersion],
    in_head_already: &dyn Fn(&str) -> bool,
) -> Result<ClaimerScan, GitError> {
    let mut scan = ClaimerScan::default();
    for version in versions {
        let in_head = match version.commit.as_deref() {
            None => None,
            Some(commit) if in_head_already(commit) => Some(InHead::Yes),
            Some(commit) => Some(match git::ancestry(&checkout.top, commit, "HEAD")? {
                Ancestry::Ancestor => {
                    scan.found_in_head.push(commit.to_owned());
                    InHead::Yes
                }
                Ancestry::NotAncestor => InHead::No,
                Ancestry::Missing => InHead::NotInRepository,
            }),
        };
        // The content matters only when the commit is not in HEAD.
        let content = if in_head == Some(InHead::Yes) {
            None
        } else {
            git::worktree_blob(&checkout.top, &checkout.repo_path(&version.path))?
        };
        scan.facts
            .insert(version.id, ClaimerFacts { in_head, content });
    }
    Ok(scan)
}

#[cfg(test)]
mod tests;
