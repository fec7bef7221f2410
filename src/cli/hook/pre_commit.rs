//! `ccmulti hook pre-commit`, the git guard: refuses a commit of staged
//! files another agent holds, or that lack a version handed over.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use ccmulti::git;
use ccmulti::hook::decide;
use ccmulti::lock_paths::PathResolver;
use ccmulti::worktrees;
use ccmulti_model::tools::HandOver;
use clap::Args;

use super::own_worktree::{has_version, in_worktree, worktree_of};
use super::{Guarded, Offline, Switch, canonical, locks, whoami, workspace_of};
use crate::cli::Common;
use crate::cli::out::errln;

#[derive(Debug, Args)]
pub struct PreCommitArgs {
    #[command(flatten)]
    pub(super) guarded: Guarded,
    /// `off` lets every commit through (and says so on stderr).
    #[arg(long, env = "CCMULTI_GIT_GUARD", value_enum, default_value = "on")]
    guard: Switch,
}

/// The hand-overs of staged files whose version the commit would not hold:
/// not in HEAD, not in a merge being committed, not the staged content.
fn versions_left_out<'a>(
    top: &Path,
    root: &Path,
    staged: &[String],
    handovers: &'a [HandOver],
) -> Vec<&'a HandOver> {
    let within = worktree_of(root).map(|(_, w)| w).unwrap_or_default();
    handovers
        .iter()
        .filter(|h| h.commit.is_some() && staged.contains(&h.path))
        .filter(|h| {
            let file = in_worktree(&within, &h.path);
            let content = git::staged_blob(top, &file).ok().flatten();
            !has_version(top, &file, h, content)
        })
        .collect()
}

pub fn pre_commit(common: &Common, args: &PreCommitArgs) -> Result<ExitCode> {
    if args.guard == Switch::Off {
        errln!(
            "ccmulti git guard: bypassed (CCMULTI_GIT_GUARD=off); staged files were not checked against other agents' locks"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let Some((me, coordinator)) = whoami(&args.guarded.identity, common)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let here = std::env::current_dir().context("reading the working directory")?;
    let top = PathBuf::from(worktrees::git(&here, &["rev-parse", "--show-toplevel"])?.trim_end());
    // An explicit --root may be another worktree's (or a directory in it):
    // a staged file is then the same repository file there.
    let roots = match &common.root {
        Some(_) => worktrees::roots_of(&common.root()?),
        None => vec![canonical(&top)?],
    };
    let coordinator = coordinator.with_workspace(workspace_of(&top).as_ref());
    let resolver = PathResolver::new(roots.clone());
    let staged: Vec<String> = worktrees::git(&top, &["diff", "--cached", "--name-only", "-z"])?
        .split('\0')
        .filter(|name| !name.is_empty())
        .filter_map(|name| {
            let absolute = top.join(name);
            resolver.lock_path(&absolute.to_string_lossy()).ok()
        })
        .collect();
    if staged.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    match locks(&coordinator) {
        Ok((locks, handovers)) => {
            let blocked = decide::staged_conflicts(&staged, &me.agent_id, &locks);
            let missing = match roots.first() {
                Some(root) => versions_left_out(&top, root, &staged, &handovers),
                None => Vec::new(),
            };
            if blocked.is_empty() && missing.is_empty() {
                return Ok(ExitCode::SUCCESS);
            }
            if !blocked.is_empty() {
                errln!("{}", decide::commit_refusal(&me.session_id, &blocked));
            }
            if !missing.is_empty() {
                errln!("{}", decide::handover_refusal(&me.session_id, &missing));
            }
            Ok(ExitCode::FAILURE)
        }
        Err(e) if args.guarded.offline == Offline::Allow => {
            errln!(
                "ccmulti git guard: {e}; the commit goes ahead unchecked (CCMULTI_HOOK_OFFLINE=deny refuses instead)"
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            errln!(
                "ccmulti git guard: {e}; commit refused (CCMULTI_HOOK_OFFLINE=deny). Start ccmulti, or set CCMULTI_GIT_GUARD=off to bypass"
            );
            Ok(ExitCode::FAILURE)
        }
    }
}
