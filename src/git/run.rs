//! Running `git` as a child process, bounded in time: a git that hangs (a
//! lock file left behind, a credential prompt, a huge repository) must not
//! hang a hook that Claude Code waits for, or a coordinator call.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use wait_timeout::ChildExt;

/// What one question to git may take; local queries answer in milliseconds.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// A merge writes the worktree and may run hooks of the repository's own.
pub const MERGE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitError {
    #[error("running git in {dir} failed ({why}); is git installed?")]
    Spawn { dir: String, why: String },
    #[error("git {args} in {dir} did not finish within {seconds}s and was stopped")]
    TimedOut {
        args: String,
        dir: String,
        seconds: u64,
    },
    #[error("git {args} failed in {dir}: {stderr}")]
    Failed {
        args: String,
        dir: String,
        stderr: String,
    },
    #[error("git {args} in {dir} answered what was not understood: {why}")]
    Unreadable {
        args: String,
        dir: String,
        why: String,
    },
}

/// What git did: its exit code (`None` when killed by a signal) and output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// Runs `git ARGS` in `dir` within `timeout`, whatever its exit code. Git
/// reads no terminal and asks for no credentials: a prompt would wait forever.
/// The environment is inherited: inside a git hook, `GIT_INDEX_FILE` names the
/// index being committed (`git commit -a` makes a temporary one).
pub fn run(dir: &Path, args: &[&str], timeout: Duration) -> Result<Ran, GitError> {
    let spawn_error = |why: String| GitError::Spawn {
        dir: dir.display().to_string(),
        why,
    };
    let mut child = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| spawn_error(e.to_string()))?;
    // Both pipes drain while git runs, so a large answer never blocks it.
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let status = match child.wait_timeout(timeout) {
        Ok(Some(status)) => status,
        Ok(None) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(GitError::TimedOut {
                args: args.join(" "),
                dir: dir.display().to_string(),
                seconds: timeout.as_secs(),
            });
        }
        Err(e) => return Err(spawn_error(e.to_string())),
    };
    let collect = |reader: Option<std::thread::JoinHandle<Vec<u8>>>| {
        reader
            .and_then(|r| r.join().ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    };
    Ok(Ran {
        code: status.code(),
        stdout: collect(stdout),
        stderr: collect(stderr),
    })
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// Runs `git ARGS` in `dir`: its stdout, or what git said on stderr.
pub fn ok(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    let ran = run(dir, args, QUERY_TIMEOUT)?;
    if ran.success() {
        Ok(ran.stdout)
    } else {
        Err(failed(dir, args, &ran))
    }
}

pub(super) fn failed(dir: &Path, args: &[&str], ran: &Ran) -> GitError {
    GitError::Failed {
        args: args.join(" "),
        dir: dir.display().to_string(),
        stderr: ran.stderr.trim().to_owned(),
    }
}

pub(super) fn unreadable(dir: &Path, args: &[&str], why: impl Into<String>) -> GitError {
    GitError::Unreadable {
        args: args.join(" "),
        dir: dir.display().to_string(),
        why: why.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_carries_what_git_said_and_a_hang_is_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let err = ok(dir.path(), &["rev-parse", "HEAD"]).unwrap_err();
        assert!(
            matches!(&err, GitError::Failed { stderr, .. } if stderr.contains("not a git repository")),
            "{err}"
        );
        let ran = run(dir.path(), &["--version"], QUERY_TIMEOUT).unwrap();
        assert!(ran.success() && ran.stdout.starts_with("git version"));
        // A shell alias that sleeps stands in for a git waiting on a lock or a prompt.
        let started = std::time::Instant::now();
        let err = run(
            dir.path(),
            &["-c", "alias.nap=!sleep 30", "nap"],
            Duration::from_millis(300),
        )
        .unwrap_err();
        assert!(matches!(err, GitError::TimedOut { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
