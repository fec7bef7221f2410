//! Where a directory sits in git, read from the files git keeps (`.git`,
//! `HEAD`) without starting a process: the hooks ask on every tool call, and
//! Claude Code waits for them. And which machine this is: the same path on
//! two machines is two clones.

use std::path::{Path, PathBuf};

/// A worktree's top and the branch checked out there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub top: PathBuf,
    /// Without `refs/heads/`; `None` when detached.
    pub branch: Option<String>,
}

/// The worktree `dir` is in, if any: the nearest directory holding a `.git`
/// (a directory for a repository's main worktree, a `gitdir:` file for a
/// linked one), and its HEAD.
pub fn place_of(dir: &Path) -> Option<Place> {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
    let top = dir.ancestors().find(|d| d.join(".git").exists())?;
    let dot_git = top.join(".git");
    let git_dir = if dot_git.is_dir() {
        dot_git
    } else {
        let text = std::fs::read_to_string(&dot_git).ok()?;
        let linked = PathBuf::from(text.trim().strip_prefix("gitdir:")?.trim());
        if linked.is_absolute() {
            linked
        } else {
            top.join(linked)
        }
    };
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let branch = head
        .trim()
        .strip_prefix("ref: refs/heads/")
        .map(str::to_owned);
    Some(Place {
        top: top.to_owned(),
        branch,
    })
}

/// This machine's name, as the kernel has it; `None` where it cannot be read.
/// A worktree path recorded with another machine's name is another clone.
pub fn this_host() -> Option<String> {
    let from_kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    let from_env = || std::env::var("HOSTNAME").ok();
    from_kernel
        .or_else(from_env)
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}
