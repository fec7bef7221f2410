//! Real git for the tests, as a test user, and what a command printed.

use std::path::Path;
use std::process::{Command, Output};

use super::HOOK_ENV;

/// What a command printed: its stdout, then its stderr.
pub fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `git ARGS` in `repo` as a test user (no signing), with the hooks' environment
/// cleared and then `env` set, so a developer's own terminal does not leak in.
pub fn git(repo: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new("git");
    command
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(repo);
    for var in HOOK_ENV {
        command.env_remove(var);
    }
    // Set when the tests run inside a git hook: they would point git elsewhere.
    command.env_remove("GIT_DIR").env_remove("GIT_WORK_TREE");
    command.envs(env.iter().copied());
    command.output().expect("run git")
}
