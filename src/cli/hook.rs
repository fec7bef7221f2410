//! `ccmulti hook pre-tool | news | pre-commit`: the hooks Claude Code and git
//! run. Each reads who it is from the terminal's environment (`CCMULTI_AGENT`)
//! and does nothing at all without it, so other projects are unaffected.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use ccmulti::client::{ClientError, Coordinator};
use ccmulti::hook::decide::{self, Edit, Holder, OfflinePolicy};
use ccmulti::hook::input::HookInput;
use ccmulti::hook::output;
use ccmulti::rules::paths;
use ccmulti_model::tools::claim::{MAX_LEASE_SECONDS, MIN_LEASE_SECONDS};
use ccmulti_model::tools::{Claim, ClaimArgs, Status, StatusArgs, StatusResult, Tool};
use ccmulti_model::{Operation, SessionAgent, VirtualUser};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;

use super::args::ClientArgs;
use super::{Common, DbArg};
use crate::cli::out::{errln, outln};
use ccmulti::worktrees::{self, git};

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Claude Code PreToolUse hook (Edit|Write|MultiEdit|NotebookEdit): refuses an edit
    /// of a file another agent holds, and claims a free one for this agent.
    PreTool(PreToolArgs),
    /// Claude Code UserPromptSubmit / PostToolUse hook: tells the agent, once, what
    /// changed for it since it last looked. Prints nothing when nothing changed.
    News(Identity),
    /// git pre-commit hook: refuses a commit of staged files another agent holds.
    PreCommit(PreCommitArgs),
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
        HookCommand::News(identity) => identity,
        HookCommand::PreCommit(args) => &args.guarded.identity,
    };
    let common = Common::client(db, &identity.client);
    match command {
        HookCommand::PreTool(args) => pre_tool(&common, args),
        HookCommand::News(identity) => news(&common, identity),
        HookCommand::PreCommit(args) => pre_commit(&common, args),
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

#[derive(Debug, Args)]
pub struct PreToolArgs {
    #[command(flatten)]
    guarded: Guarded,
    /// Claim a write lock on a free file for this agent before it is edited.
    #[arg(
        long,
        env = "CCMULTI_HOOK_AUTO_CLAIM",
        value_enum,
        default_value = "on"
    )]
    auto_claim: Switch,
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

#[derive(Debug, Args)]
pub struct PreCommitArgs {
    #[command(flatten)]
    guarded: Guarded,
    /// `off` lets every commit through (and says so on stderr).
    #[arg(long, env = "CCMULTI_GIT_GUARD", value_enum, default_value = "on")]
    guard: Switch,
}

impl From<Offline> for OfflinePolicy {
    fn from(o: Offline) -> Self {
        match o {
            Offline::Allow => Self::Allow,
            Offline::Deny => Self::Deny,
        }
    }
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

fn status(coordinator: &Coordinator, news: bool) -> Result<StatusResult, ClientError> {
    coordinator.call::<Status>(&StatusArgs {
        include_inactive: false,
        news,
    })
}

fn locks(coordinator: &Coordinator) -> Result<Vec<Holder>, ClientError> {
    // news=false: a lock check must not use up the agent's news.
    status(coordinator, false).map(decide::status_locks)
}

/// A write lock on `path` for this agent, with the claim's defaults.
/// Claims a write lock on `path` for this edit, for `lease_seconds`.
fn claim(
    coordinator: &Coordinator,
    path: &str,
    lease_seconds: i64,
) -> Result<decide::ClaimAnswer, ClientError> {
    let args = ClaimArgs {
        lease_seconds: Some(lease_seconds),
        ..ClaimArgs::new(vec![path.to_owned()], Operation::Write)
    };
    let result = coordinator.call::<Claim>(&args)?;
    decide::claim_answer(result).map_err(|why| ClientError::BadReply {
        tool: Claim::NAME.to_owned(),
        why,
    })
}

pub fn pre_tool(common: &Common, args: &PreToolArgs) -> Result<ExitCode> {
    let Some((me, coordinator)) = whoami(&args.guarded.identity, common)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let input = read_input()?;
    let Some(raw) = input.edited_path()? else {
        return Ok(ExitCode::SUCCESS);
    };
    let roots = project_roots(common, &input)?;
    let path = match roots
        .iter()
        .find_map(|root| paths::normalize(root, raw).ok())
    {
        Some(path) => Some(path),
        // In another worktree of this repository, it is the same repository file;
        // git is asked only for such a path.
        None if raw.starts_with('/') => roots
            .first()
            .and_then(|root| paths::normalize_among(&worktrees::roots_of(root), raw).ok()),
        None => None,
    };
    // A file outside the project is nobody's to lock.
    let Some(path) = path else {
        return Ok(ExitCode::SUCCESS);
    };
    let edit = Edit {
        path: &path,
        agent: &me.agent_id,
        session: &me.session_id,
    };
    let answer = match args.auto_claim {
        Switch::On => claim(&coordinator, &path, args.lease_seconds)
            .map(|answer| decide::after_claim(edit, &answer)),
        Switch::Off => locks(&coordinator).map(|l| decide::from_locks(edit, &l)),
    };
    let verdict = answer.unwrap_or_else(|e| match e {
        ClientError::Refused { .. } => decide::refused(edit, &e.to_string()),
        _ => decide::unanswered(edit, args.guarded.offline.into(), &e.to_string()),
    });
    print(output::pre_tool(&verdict))?;
    Ok(ExitCode::SUCCESS)
}

pub fn news(common: &Common, identity: &Identity) -> Result<ExitCode> {
    let Some((me, coordinator)) = whoami(identity, common)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let input = read_input()?;
    let event = input.news_event()?;
    let news = status(&coordinator, true).map(decide::status_news);
    match news {
        Ok(news) => print(output::news(event, &me.agent_id, &me.session_id, &news))?,
        // News is a courtesy: no coordinator, no news, and the prompt goes on.
        Err(e) => errln!("ccmulti hook news: {e}"),
    }
    Ok(ExitCode::SUCCESS)
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
    let top = PathBuf::from(git(&here, &["rev-parse", "--show-toplevel"])?.trim_end());
    // An explicit --root may be another worktree's (or a directory in it):
    // a staged file is then the same repository file there.
    let roots = match &common.root {
        Some(_) => worktrees::roots_of(&common.root()?),
        None => vec![canonical(&top)?],
    };
    let staged: Vec<String> = git(&top, &["diff", "--cached", "--name-only", "-z"])?
        .split('\0')
        .filter(|name| !name.is_empty())
        .filter_map(|name| {
            let absolute = top.join(name);
            paths::normalize_among(&roots, &absolute.to_string_lossy()).ok()
        })
        .collect();
    if staged.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    match locks(&coordinator) {
        Ok(locks) => {
            let blocked = decide::staged_conflicts(&staged, &me.agent_id, &locks);
            if blocked.is_empty() {
                return Ok(ExitCode::SUCCESS);
            }
            errln!("{}", decide::commit_refusal(&me.session_id, &blocked));
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
