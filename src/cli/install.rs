//! `ccmulti install-git-hook`: writes the repository's pre-commit hook that runs
//! the git guard. Never replaces someone else's hook without `--force`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use ccmulti::hook::git_hook::{self, Existing};
use clap::Args;

use super::Common;
use super::args::RootArg;
use crate::cli::out::outln;
use ccmulti::worktrees::git;

#[derive(Debug, Args)]
pub struct InstallGitHookArgs {
    /// Replace an existing pre-commit hook that is not ccmulti's (it is kept beside it as pre-commit.before-ccmulti).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    pub root: RootArg,
}

/// The absolute path of the running binary, for hooks to call.
pub fn this_binary() -> Result<String> {
    let exe = std::env::current_exe().context("finding the path of this ccmulti binary")?;
    let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
    Ok(exe.to_string_lossy().into_owned())
}

pub fn install_git_hook(common: &Common, args: &InstallGitHookArgs) -> Result<ExitCode> {
    outln!("{}", install(&common.root()?, args.force)?);
    Ok(ExitCode::SUCCESS)
}

/// Installs the guard in the hooks of the repository `root` is in (shared by
/// all its worktrees); what was done, or an error that changed nothing.
pub fn install(root: &Path, force: bool) -> Result<String> {
    // --git-path follows worktrees and core.hooksPath.
    let hooks = PathBuf::from(git(root, &["rev-parse", "--git-path", "hooks"])?.trim_end());
    let hooks = if hooks.is_absolute() {
        hooks
    } else {
        root.join(hooks)
    };
    std::fs::create_dir_all(&hooks)
        .with_context(|| format!("creating the hooks directory {}", hooks.display()))?;
    let target = hooks.join("pre-commit");
    let existing = match std::fs::read(&target) {
        Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", target.display())),
    };
    let binary = this_binary()?;
    match git_hook::classify(existing.as_deref(), &binary) {
        Existing::Current => {
            return Ok(format!(
                "{} already runs the ccmulti git guard; unchanged",
                target.display()
            ));
        }
        Existing::Foreign if !force => bail!(
            "{} exists and is not ccmulti's; nothing was changed. Pass --force to replace it \
             (it is kept as pre-commit.before-ccmulti), or add `{} hook pre-commit` to it yourself",
            target.display(),
            ccmulti::hook::shell_quote(&binary)
        ),
        Existing::Foreign => {
            let backup = hooks.join(git_hook::PREVIOUS_HOOK);
            if backup.exists() {
                bail!(
                    "{} is not ccmulti's, and {} already holds an earlier hook; nothing was changed. \
                     Merge them by hand, then run install-git-hook again",
                    target.display(),
                    backup.display()
                );
            }
            std::fs::rename(&target, &backup)
                .with_context(|| format!("keeping the old hook as {}", backup.display()))?;
            outln!("kept the previous hook as {}", backup.display());
        }
        Existing::Absent | Existing::Outdated => {}
    }
    std::fs::write(&target, git_hook::pre_commit_script(&binary))
        .with_context(|| format!("writing {}", target.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making {} executable", target.display()))?;
    }
    Ok(format!(
        "installed {}: commits of files another agent of the session holds are refused while CCMULTI_AGENT is set; CCMULTI_GIT_GUARD=off bypasses it",
        target.display()
    ))
}
