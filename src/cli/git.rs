//! Running `git` for the git guard and its installer.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Runs `git ARGS` in `dir`; its stdout, or an error carrying its stderr.
pub fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .with_context(|| format!("running git {} (is git installed?)", args.join(" ")))?;
    if !output.status.success() {
        bail!(
            "git {} failed in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
