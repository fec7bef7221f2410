//! `ccmulti hook pre-tool | news | stop | pre-commit`: the hooks Claude Code
//! and git run. Each reads who it is from the terminal's environment
//! (`CCMULTI_AGENT`) and does nothing at all without it, so other projects
//! are unaffected.

mod news;
mod own_worktree;
mod pre_commit;
mod pre_tool;
mod stop;

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use ccmulti::client::{ClientError, Coordinator};
use ccmulti::git;
use ccmulti::hook::decide::{self, Holder, OfflinePolicy};
use ccmulti::hook::input::HookInput;
use ccmulti::lock_paths::PathResolver;
use ccmulti::worktrees;
use ccmulti_model::tools::claim::{MAX_LEASE_SECONDS, MIN_LEASE_SECONDS};
use ccmulti_model::tools::{HandOver, Release, ReleaseArgs, Status, StatusArgs, StatusResult};
use ccmulti_model::{AgentWorkspace, SessionAgent, VirtualUser};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;

use self::news::NewsArgs;
use self::pre_commit::PreCommitArgs;
use self::pre_tool::PreToolArgs;
use self::stop::StopArgs;
use super::args::ClientArgs;
use super::{Common, DbArg};
use crate::cli::out::outln;

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Claude Code PreToolUse hook (Edit|Write|MultiEdit|NotebookEdit): refuses an edit
    /// of a file another agent holds, and claims a free one for this agent.
    PreTool(PreToolArgs),
    /// Claude Code UserPromptSubmit / PostToolUse hook: tells the agent, once, what
    /// changed for it since it last looked. Prints nothing when nothing changed.
    News(NewsArgs),
    /// git pre-commit hook: refuses a commit of staged files another agent holds.
    PreCommit(PreCommitArgs),
    /// Claude Code Stop hook: at the end of the agent's turn, lets go of the
    /// locks the edit hook took (its explicit claims are kept).
    Stop(StopArgs),
}

#[derive(Debug, Args)]
pub struct Identity {
    /// This terminal's agent, {user}__session__{session}__{agent}. Unset: the hook does nothing.
    #[arg(long, env = "CCMULTI_AGENT")]
    agent: Option<String>,
    /// The coordinator's base URL [default: http://{--addr}].
    #[arg(long, env = "CCMULTI_URL")]
    url: Option<String>,
    #[command(flatten)]
    client: ClientArgs,
}

/// Runs one hook, with the options it was given.
pub fn run(db: &DbArg, command: &HookCommand) -> Result<ExitCode> {
    let identity = match command {
        HookCommand::PreTool(args) => &args.guarded.identity,
        HookCommand::News(args) => &args.identity,
        HookCommand::PreCommit(args) => &args.guarded.identity,
        HookCommand::Stop(args) => &args.identity,
    };
    let common = Common::client(db, &identity.client);
    match command {
        HookCommand::PreTool(args) => pre_tool::pre_tool(&common, args),
        HookCommand::News(args) => news::news(&common, args),
        HookCommand::PreCommit(args) => pre_commit::pre_commit(&common, args),
        HookCommand::Stop(args) => stop::stop(&common, args),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Offline {
    /// Let the edit or commit through, with a warning.
    Allow,
    /// Refuse it until the coordinator answers.
    Deny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BringInArg {
    /// Merge the commit into this worktree where git can do it cleanly
    /// (a conflict is aborted and reported), then have the model re-read the file.
    Merge,
    /// Deny the edit with the command that brings the commit in.
    Tell,
}

/// The lease of the lock the edit hook takes, by which the hooks also tell
/// the locks it took from the agent's own claims.
#[derive(Debug, Args)]
pub struct EditLease {
    /// How long the write lock taken at an edit lasts after it: each edit of
    /// the file renews it, so a file the agent has moved on from is free soon
    /// (an explicit claim_file_lock keeps its own duration).
    #[arg(
        long,
        env = "CCMULTI_HOOK_LEASE_SECONDS",
        default_value_t = DEFAULT_EDIT_LEASE_SECONDS,
        value_parser = clap::value_parser!(i64).range(MIN_LEASE_SECONDS..=MAX_LEASE_SECONDS)
    )]
    lease_seconds: i64,
}

/// Long enough for the next edit of the same file in a burst of edits (a
/// model thinks a few seconds between calls), short enough that another
/// agent waiting for the file is not kept for long once this one moved on.
const DEFAULT_EDIT_LEASE_SECONDS: i64 = 30;

/// Lets go of `paths`, one by one, so that one the release refuses (in a
/// worktree, uncommitted changes: "commit first") keeps only itself. Best
/// effort: what fails here lapses with its lease, or gives way, as before.
fn release_each(coordinator: &Coordinator, paths: Vec<String>) {
    for path in paths {
        let args = ReleaseArgs {
            file_paths: Some(vec![path]),
            all: false,
        };
        let _ = coordinator.call::<Release>(&args);
    }
}

/// Who this is, and what to do without an answer: the hooks that can refuse.
#[derive(Debug, Args)]
pub struct Guarded {
    #[command(flatten)]
    identity: Identity,
    /// When the coordinator does not answer.
    #[arg(
        long,
        env = "CCMULTI_HOOK_OFFLINE",
        value_enum,
        default_value = "allow"
    )]
    offline: Offline,
}

impl From<Offline> for OfflinePolicy {
    fn from(o: Offline) -> Self {
        match o {
            Offline::Allow => Self::Allow,
            Offline::Deny => Self::Deny,
        }
    }
}

/// Where the agent whose project is `dir` works: its worktree's top, the
/// branch, this machine; read from git's files, without a process.
fn workspace_of(dir: &Path) -> Option<AgentWorkspace> {
    let place = git::place_of(dir)?;
    Some(AgentWorkspace {
        host: git::this_host(),
        worktree: place.top.to_string_lossy().into_owned(),
        branch: place.branch,
    })
}

/// Who this terminal is, or `None` when `CCMULTI_AGENT` is unset or empty.
fn whoami(identity: &Identity, common: &Common) -> Result<Option<(SessionAgent, Coordinator)>> {
    let Some(raw) = identity
        .agent
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    else {
        // Not an agent's terminal: take the input anyway, so the caller's write never fails.
        if !std::io::stdin().is_terminal() {
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        }
        return Ok(None);
    };
    let user = raw.parse::<VirtualUser>().map_err(|e| {
        anyhow::anyhow!("CCMULTI_AGENT: {e}; `ccmulti connect` prints the line to set it")
    })?;
    let Some(session) = user.session.clone() else {
        bail!(
            "CCMULTI_AGENT={raw:?} names no session; the hooks need {{user}}__session__{{session}}__{{agent}}, as `ccmulti connect` prints"
        );
    };
    let base = identity
        .url
        .clone()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| common.public_url());
    if !base.starts_with("http://") {
        bail!(
            "CCMULTI_URL={base:?} is not accepted; give the coordinator's http:// URL, such as http://127.0.0.1:7477"
        );
    }
    let coordinator = Coordinator::new(&base, &user).with_token(common.client_token());
    Ok(Some((session, coordinator)))
}

fn read_input() -> Result<HookInput> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("reading the hook input from stdin")?;
    Ok(HookInput::parse(&text)?)
}

fn print(value: Option<Value>) -> Result<()> {
    if let Some(v) = value {
        outln!("{v}");
    }
    Ok(())
}

fn canonical(dir: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(dir).with_context(|| format!("project root {}", dir.display()))
}

/// The roots a path may be relative to: --root, else Claude Code's project
/// directory, else the session's cwd; canonical and as given (a symlinked
/// directory's files arrive under either spelling).
fn project_roots(common: &Common, input: &HookInput) -> Result<Vec<PathBuf>> {
    if common.root.is_some() {
        return Ok(vec![common.root()?]);
    }
    let given = std::env::var_os("CLAUDE_PROJECT_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| input.cwd.as_ref().map(PathBuf::from));
    match given {
        // A directory that cannot be resolved is taken as given: paths are compared lexically.
        Some(dir) => Ok(vec![
            std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone()),
            dir,
        ]),
        None => Ok(vec![common.root()?]),
    }
}

fn status(
    coordinator: &Coordinator,
    news: bool,
    reading: Vec<String>,
) -> Result<StatusResult, ClientError> {
    coordinator.call::<Status>(&StatusArgs {
        include_inactive: false,
        news,
        reading,
    })
}

/// `raw` (a path a tool was given) as a lock path. In another worktree of
/// this repository it is the same repository file; git is asked only for an
/// absolute path outside the project. A path that leads out of them all (a
/// symlink included) has none.
fn lock_path_of(roots: &[PathBuf], raw: &str) -> Option<String> {
    match PathResolver::new(roots.to_vec()).lock_path(raw) {
        Ok(path) => Some(path),
        Err(_) if raw.starts_with('/') => roots.first().and_then(|root| {
            PathResolver::new(worktrees::roots_of(root))
                .lock_path(raw)
                .ok()
        }),
        Err(_) => None,
    }
}

/// The session's live locks and the hand-overs pending on the caller's own.
fn locks(coordinator: &Coordinator) -> Result<(Vec<Holder>, Vec<HandOver>), ClientError> {
    // news=false: a lock check must not use up the agent's news.
    let status = status(coordinator, false, Vec::new())?;
    let handovers = decide::status_handovers(&status);
    Ok((decide::status_locks(status), handovers))
}
