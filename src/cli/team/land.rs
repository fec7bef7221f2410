//! `ccmulti team land`: merges the implementers' branches into the branch of
//! the main checkout, in hand-over order (a branch whose versions another
//! brought in lands before it), one `git merge --no-edit` each. The first
//! conflict stops it: that merge is aborted, so the checkout holds exactly
//! the branches landed before it, and nothing else is touched. Running it
//! again after resolving that branch by hand lands the rest (a branch
//! already in the base is skipped).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use ccmulti::git::{self, Ancestry, Merge};
use ccmulti::rules::handover::{Landing, landing_order};
use ccmulti::rules::team;
use ccmulti::store::StoreError;
use ccmulti::worktrees;
use ccmulti_model::PathVersion;
use clap::Args;

use super::{Team, Which};
use crate::cli::Common;
use crate::cli::args::RootArg;
use crate::cli::out::{errln, outln};
use crate::cli::service::{Opening, with_service};

#[derive(Debug, Clone, Args)]
pub struct LandArgs {
    #[command(flatten)]
    which: Which,
    /// Show the branches and the order they would land in; merge nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    pub root: RootArg,
}

/// The checkout the branches land in: the repository's main worktree.
struct Base {
    top: PathBuf,
    branch: String,
}

impl Base {
    /// The main worktree, on a branch, clean, with no merge in progress;
    /// otherwise an error that changed nothing.
    fn find(team: &Team) -> Result<Self> {
        let top = worktrees::list(&team.repo.top)?
            .into_iter()
            .find(|t| !t.bare)
            .map_or_else(|| team.repo.top.clone(), |t| t.path);
        let Some(branch) = git::branch(&top)? else {
            bail!(
                "the main checkout {} is on a detached HEAD; check out the branch the team's work \
                 lands on (git -C {} switch main, say), then run ccmulti team land again. Nothing was changed",
                top.display(),
                top.display()
            );
        };
        if !git::merge_heads(&top)?.is_empty() {
            bail!(
                "a merge is in progress in {}; finish it (git commit) or abort it (git merge --abort), \
                 then run ccmulti team land again. Nothing was changed",
                top.display()
            );
        }
        let changed = git::tracked_changes(&top)?;
        if !changed.is_empty() {
            bail!(
                "the main checkout {} has uncommitted changes ({}); commit or stash them first, so that \
                 landing merges only the team's branches. Nothing was changed",
                top.display(),
                changed.join(", ")
            );
        }
        Ok(Self { top, branch })
    }
}

/// A branch of the session and what landing needs to know of it.
struct Candidate {
    branch: String,
    /// Its worktree, if it has one.
    worktree: Option<PathBuf>,
    landed: bool,
}

/// The session's branches (`ccmulti/<session>/...`), beside the base's own.
fn candidates(base: &Base, prefix: &str) -> Result<Vec<Candidate>> {
    let trees = worktrees::list(&base.top)?;
    let mut out = Vec::new();
    for name in git::local_branches(&base.top, prefix)?
        .into_iter()
        .filter(|b| *b != base.branch)
    {
        let landed = git::ancestry(&base.top, &name, "HEAD")? == Ancestry::Ancestor;
        out.push(Candidate {
            worktree: trees
                .iter()
                .find(|t| t.branch.as_deref() == Some(name.as_str()))
                .map(|t| t.path.clone()),
            landed,
            branch: name,
        });
    }
    Ok(out)
}

/// The order to land `candidates` in, from the versions their agents
/// recorded: branch `i` before branch `j` when `j` holds a commit of a
/// version recorded on `i`.
fn order(
    base: &Base,
    prefix: &str,
    candidates: &[Candidate],
    versions: &[PathVersion],
) -> Vec<usize> {
    let index = |branch: Option<&str>| {
        candidates
            .iter()
            .position(|c| Some(c.branch.as_str()) == branch)
    };
    let mut first = vec![None; candidates.len()];
    let mut brought_in = vec![vec![false; candidates.len()]; candidates.len()];
    let mut asked: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for v in versions {
        let Some(i) = index(v.workspace.branch.as_deref()) else {
            continue;
        };
        first[i] = Some(first[i].map_or(v.recorded_at_ms, |f: i64| f.min(v.recorded_at_ms)));
        let Some(commit) = v.commit.as_deref() else {
            continue;
        };
        // One question per commit: which of the session's branches hold it.
        let holders = asked
            .entry(commit)
            .or_insert_with(|| branches_holding(&base.top, prefix, commit));
        for holder in holders.iter() {
            if let Some(j) = index(Some(holder)) {
                brought_in[i][j] = true;
            }
        }
    }
    let landings: Vec<Landing> = candidates
        .iter()
        .zip(first)
        .map(|(c, first_record_ms)| Landing {
            branch: c.branch.clone(),
            first_record_ms,
        })
        .collect();
    landing_order(&landings, |i, j| brought_in[i][j])
}

/// The session's branches whose history holds `commit` (none when the
/// commit is not in this repository).
fn branches_holding(top: &Path, prefix: &str, commit: &str) -> Vec<String> {
    if !git::has_commit(top, commit).unwrap_or(false) {
        return Vec::new();
    }
    git::ok(
        top,
        &[
            "for-each-ref",
            "--format=%(refname:short)",
            "--contains",
            commit,
            &format!("refs/heads/{prefix}"),
        ],
    )
    .map(|out| out.lines().map(str::to_owned).collect())
    .unwrap_or_default()
}

/// The versions the session's agents recorded, which order the landing; none
/// when there is no database (the order is then by name).
fn recorded_versions(common: &Common, session: &str) -> Vec<PathVersion> {
    let read = with_service(common, Opening::MustExist, async |coord| {
        Ok(coord.store().path_versions(session).await?)
    });
    read.unwrap_or_else(|e| {
        let missing = matches!(
            e.downcast_ref::<StoreError>(),
            Some(StoreError::Missing { .. })
        );
        if !missing {
            errln!("no recorded hand-overs to order by ({e:#}); landing in name order");
        }
        Vec::new()
    })
}

pub fn land(common: &Common, args: &LandArgs) -> Result<ExitCode> {
    let team = Team::resolve(common, &args.which)?;
    let versions = &recorded_versions(common, &team.session);
    let base = Base::find(&team)?;
    let prefix = team::branch_prefix(&team.session);
    let candidates = candidates(&base, &prefix)?;
    let waiting: Vec<usize> = order(&base, &prefix, &candidates, versions)
        .into_iter()
        .filter(|&i| !candidates[i].landed)
        .collect();
    for c in candidates.iter().filter(|c| c.landed) {
        outln!("{} is already in {}", c.branch, base.branch);
    }
    if waiting.is_empty() {
        outln!(
            "nothing to land into {} (in {}): no branch of session {} holds work it lacks",
            base.branch,
            base.top.display(),
            team.session
        );
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{} {} branch(es) of session {} into {} (in {}), in hand-over order:",
        if args.dry_run {
            "would land"
        } else {
            "landing"
        },
        waiting.len(),
        team.session,
        base.branch,
        base.top.display()
    );
    for (n, &i) in waiting.iter().enumerate() {
        outln!("  {}. {}", n + 1, candidates[i].branch);
    }
    warn_uncommitted(&candidates, &waiting);
    if args.dry_run {
        outln!("dry run: nothing was merged");
        return Ok(ExitCode::SUCCESS);
    }
    merge_in_order(&base, &candidates, &waiting)
}

/// Work still uncommitted in a branch's worktree does not land with it.
fn warn_uncommitted(candidates: &[Candidate], waiting: &[usize]) {
    for &i in waiting {
        let Some(tree) = &candidates[i].worktree else {
            continue;
        };
        if let Ok(changed) = git::tracked_changes(tree)
            && !changed.is_empty()
        {
            outln!(
                "  note: {} has uncommitted changes in {} ({}); they do not land",
                candidates[i].branch,
                tree.display(),
                changed.join(", ")
            );
        }
    }
}

fn merge_in_order(base: &Base, candidates: &[Candidate], waiting: &[usize]) -> Result<ExitCode> {
    let mut landed: Vec<&str> = Vec::new();
    for &i in waiting {
        let branch = candidates[i].branch.as_str();
        match git::merge(&base.top, branch)? {
            Merge::Done { changed } => {
                outln!(
                    "landed {branch}: {} file(s) changed{}",
                    changed.len(),
                    if changed.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", changed.join(", "))
                    }
                );
                landed.push(branch);
            }
            stopped => {
                errln!("{}", stop_message(base, branch, &landed, &stopped));
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    outln!("landed {} branch(es) into {}", landed.len(), base.branch);
    Ok(ExitCode::SUCCESS)
}

fn stop_message(base: &Base, branch: &str, landed: &[&str], stopped: &Merge) -> String {
    let kept = if landed.is_empty() {
        format!("{} is as it was", base.branch)
    } else {
        format!(
            "{} keeps the branches landed before it ({})",
            base.branch,
            landed.join(", ")
        )
    };
    let why = match stopped {
        Merge::Conflicted { files } => format!(
            "merging it into {} conflicts in {}; the merge was aborted",
            base.branch,
            files.join(", ")
        ),
        Merge::Refused { why } => format!("git did not merge it, changing nothing: {why}"),
        Merge::Done { .. } => String::new(),
    };
    format!(
        "stopped at {branch}: {why}, and {kept}. Merge it by hand (cd {} && git merge {branch}, \
         resolve the files, git commit), then run ccmulti team land again to land the rest.",
        shell_dir(&base.top)
    )
}

fn shell_dir(dir: &Path) -> String {
    ccmulti::rules::shell::quote(&dir.to_string_lossy())
}
