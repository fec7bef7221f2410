//! `ccmulti hook pre-tool | news | pre-commit`: the hooks Claude Code and git
//! run. Each reads who it is from the terminal's environment (`CCMULTI_AGENT`)
//! and does nothing at all without it, so other projects are unaffected.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ccmulti::client::{ClientError, Coordinator};
use ccmulti::git::{self, Ancestry, Merge};
use ccmulti::hook::decide::{
    self, BringIn, BringInPolicy, ClaimAnswer, Edit, Holder, OfflinePolicy, Verdict,
};
use ccmulti::hook::input::HookInput;
use ccmulti::hook::output;
use ccmulti::lock_paths::PathResolver;
use ccmulti_model::tools::claim::{MAX_LEASE_SECONDS, MIN_LEASE_SECONDS};
use ccmulti_model::tools::{
    Claim, ClaimArgs, HandOver, Release, ReleaseArgs, Status, StatusArgs, StatusResult, Tool,
};
use ccmulti_model::{Activity, AgentWorkspace, Operation, SessionAgent, VirtualUser};
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
    News(NewsArgs),
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
        HookCommand::News(args) => &args.identity,
        HookCommand::PreCommit(args) => &args.guarded.identity,
    };
    let common = Common::client(db, &identity.client);
    match command {
        HookCommand::PreTool(args) => pre_tool(&common, args),
        HookCommand::News(args) => news(&common, args),
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BringInArg {
    /// Merge the commit into this worktree where git can do it cleanly
    /// (a conflict is aborted and reported), then have the model re-read the file.
    Merge,
    /// Deny the edit with the command that brings the commit in.
    Tell,
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
    /// An edited file whose latest version another agent committed in its own
    /// worktree, which this one lacks: bring the commit in, or only say how.
    #[arg(
        long,
        env = "CCMULTI_HOOK_BRING_IN",
        value_enum,
        default_value = "merge"
    )]
    bring_in: BringInArg,
    /// When an edit takes a new lock, or is refused one another agent holds,
    /// let go of the locks the hook took at earlier edits of other files (the
    /// agent has moved on) instead of keeping them until their lease lapses.
    /// In a worktree, a file with uncommitted changes is kept (its release
    /// must be committed first).
    #[arg(
        long,
        env = "CCMULTI_HOOK_RELEASE_ON_MOVE",
        value_enum,
        default_value = "on"
    )]
    release_on_move: Switch,
}

/// Long enough for the next edit of the same file in a burst of edits (a
/// model thinks a few seconds between calls), short enough that another
/// agent waiting for the file is not kept for long once this one moved on.
const DEFAULT_EDIT_LEASE_SECONDS: i64 = 30;

#[derive(Debug, Args)]
pub struct NewsArgs {
    #[command(flatten)]
    identity: Identity,
    /// At a session's first prompt, how long to hold it until this agent's
    /// claude has listed the ccmulti tools, so that its first model request
    /// offers them (0: not at all). Under the hook's 10 s timeout.
    #[arg(
        long,
        env = "CCMULTI_HOOK_TOOLS_WAIT_SECONDS",
        default_value_t = 8,
        value_parser = clap::value_parser!(u64).range(0..=9)
    )]
    tools_wait_seconds: u64,
}

#[derive(Debug, Args)]
pub struct PreCommitArgs {
    #[command(flatten)]
    guarded: Guarded,
    /// `off` lets every commit through (and says so on stderr).
    #[arg(long, env = "CCMULTI_GIT_GUARD", value_enum, default_value = "on")]
    guard: Switch,
}

impl From<BringInArg> for BringInPolicy {
    fn from(b: BringInArg) -> Self {
        match b {
            BringInArg::Merge => Self::Merge,
            BringInArg::Tell => Self::Tell,
        }
    }
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

/// Whether `agent` of this session called the coordinator in the last two
/// minutes (`check_agent_status` lists only such agents, and recent ones).
fn is_active(coordinator: &Coordinator, agent: &str) -> Result<bool, ClientError> {
    let status = status(coordinator, false, Vec::new())?;
    Ok(status
        .agents
        .iter()
        .any(|a| a.agent_id == agent && a.activity == Activity::Active))
}

/// Whether the change in no commit a hand-over names is still there, asked
/// of its worktree when it is on this machine: a change its maker undid is
/// nothing to wait for. A worktree git cannot read here (another machine)
/// is taken to still hold it.
fn still_uncommitted(handover: &HandOver, root: Option<&PathBuf>) -> bool {
    let Some(top) = handover.worktree.as_deref().map(Path::new) else {
        return true;
    };
    if !top.is_dir() {
        return true;
    }
    // Where the project sits in a worktree is the same in each of them.
    let within = root
        .and_then(|r| worktree_of(r))
        .map(|(_, w)| w)
        .unwrap_or_default();
    let file = in_worktree(&within, &handover.path);
    git::uncommitted(top, &[git::pathspec(&file, false)]).map_or(true, |found| !found.is_empty())
}

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

/// Where the project root sits in its worktree: the worktree's top and the
/// root relative to it (empty when the root is the top).
fn worktree_of(root: &Path) -> Option<(PathBuf, PathBuf)> {
    let top = git::place_of(root)?.top;
    let within = std::fs::canonicalize(root)
        .unwrap_or_else(|_| root.to_owned())
        .strip_prefix(&top)
        .ok()?
        .to_owned();
    Some((top, within))
}

/// A lock path as git spells it in the worktree, and back.
fn in_worktree(within: &Path, lock_path: &str) -> String {
    within.join(lock_path).to_string_lossy().into_owned()
}

fn as_lock_path(within: &Path, repo_path: &str) -> String {
    Path::new(repo_path).strip_prefix(within).map_or_else(
        |_| repo_path.to_owned(),
        |p| p.to_string_lossy().into_owned(),
    )
}

/// Whether the worktree has the hand-over's version: its commit is in HEAD
/// (or in the merge being committed), or the file already holds that content.
fn has_version(top: &Path, file: &str, handover: &HandOver, content: Option<String>) -> bool {
    let Some(commit) = handover.commit.as_deref() else {
        return true;
    };
    let mut heads = vec!["HEAD".to_owned()];
    heads.extend(git::merge_heads(top).unwrap_or_default());
    heads
        .iter()
        .any(|head| git::ancestry(top, commit, head) == Ok(Ancestry::Ancestor))
        || content.is_some_and(|c| Some(c) == handover.blob)
        || (handover.blob.is_none() && !top.join(file).exists())
}

/// The verdict on editing `edit.path` when the claim reported a hand-over;
/// `None` when the worktree has that version already.
fn bring_in(
    root: &Path,
    edit: Edit<'_>,
    handover: &HandOver,
    policy: BringInPolicy,
    active: bool,
) -> Option<Verdict> {
    let Some(commit) = handover.commit.as_deref() else {
        return Some(decide::uncommitted_elsewhere(edit, handover, active));
    };
    let Some((top, within)) = worktree_of(root) else {
        return Some(decide::handover_verdict(edit, handover, &BringIn::Told));
    };
    let file = in_worktree(&within, edit.path);
    let content = git::worktree_blob(&top, &file).ok().flatten();
    if has_version(&top, &file, handover, content) {
        return None;
    }
    let here = git::has_commit(&top, commit).unwrap_or(false);
    let done = if policy == BringInPolicy::Tell || !here {
        BringIn::Told
    } else {
        match git::merge(&top, commit) {
            Ok(Merge::Done { changed }) => BringIn::Merged {
                changed: changed.iter().map(|f| as_lock_path(&within, f)).collect(),
            },
            Ok(Merge::Conflicted { files }) => BringIn::Conflicted {
                files: files.iter().map(|f| as_lock_path(&within, f)).collect(),
            },
            Ok(Merge::Refused { why }) => BringIn::Refused { why },
            Err(e) => BringIn::Refused { why: e.to_string() },
        }
    };
    Some(decide::handover_verdict(edit, handover, &done))
}

/// Lets go of the locks the hook took at this agent's earlier edits of other
/// files, one by one, so that one the release refuses (in a worktree,
/// uncommitted changes: "commit first") keeps only itself. Best effort: what
/// fails here lapses with its lease, as before.
fn release_moved_from(coordinator: &Coordinator, agent: &str, edited: &str, lease_seconds: i64) {
    let Ok((holders, _)) = locks(coordinator) else {
        return;
    };
    for path in decide::moved_from(&holders, agent, edited, lease_seconds) {
        let args = ReleaseArgs {
            file_paths: Some(vec![path]),
            all: false,
        };
        // A refusal ("commit first") or an error leaves the lock to its lease.
        let _ = coordinator.call::<Release>(&args);
    }
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
    let coordinator =
        coordinator.with_workspace(roots.first().and_then(|r| workspace_of(r)).as_ref());
    // A file outside the project is nobody's to lock.
    let Some(path) = lock_path_of(&roots, raw) else {
        return Ok(ExitCode::SUCCESS);
    };
    let edit = Edit {
        path: &path,
        agent: &me.agent_id,
        session: &me.session_id,
    };
    // A new lock (not a renewal), or a refusal it will wait out: the agent
    // has moved on from the files it edited before.
    let mut moved_on = false;
    let answer = match args.auto_claim {
        Switch::On => claim(&coordinator, &path, args.lease_seconds).map(|answer| {
            moved_on = matches!(
                answer,
                ClaimAnswer::Granted { renewed: false, .. } | ClaimAnswer::Conflicted(_)
            );
            let verdict = decide::after_claim(edit, &answer);
            match (&answer, &verdict) {
                (ClaimAnswer::Granted { handovers, .. }, Verdict::Allow { .. }) => {
                    // The first hand-over the worktree lacks decides; one it has is passed over.
                    let lacking = handovers.iter().find_map(|handover| {
                        // Only a change in no commit asks whether its maker is still at work.
                        let active = handover.commit.is_none()
                            && still_uncommitted(handover, roots.first())
                            && is_active(&coordinator, &handover.from).unwrap_or(false);
                        roots.first().and_then(|root| {
                            bring_in(root, edit, handover, args.bring_in.into(), active)
                        })
                    });
                    lacking.unwrap_or(verdict)
                }
                _ => verdict,
            }
        }),
        Switch::Off => locks(&coordinator).map(|(l, _)| decide::from_locks(edit, &l)),
    };
    if moved_on && args.release_on_move == Switch::On {
        release_moved_from(&coordinator, &me.agent_id, &path, args.lease_seconds);
    }
    let verdict = answer.unwrap_or_else(|e| match e {
        ClientError::Refused { .. } => decide::refused(edit, &e.to_string()),
        _ => decide::unanswered(edit, args.guarded.offline.into(), &e.to_string()),
    });
    print(output::pre_tool(&verdict))?;
    Ok(ExitCode::SUCCESS)
}

/// How long Claude Code may take to offer tools it has just listed.
const TOOLS_REGISTER: Duration = Duration::from_millis(1500);

/// Whether the model has not answered yet in this Claude Code session: no
/// assistant turn in its transcript, or no transcript yet (Claude Code
/// writes it after the first prompt's hooks). Without a transcript path it
/// is taken to have answered, and nothing is held up.
fn before_the_first_answer(input: &HookInput) -> bool {
    let Some(path) = input.transcript_path.as_deref() else {
        return false;
    };
    std::fs::read_to_string(path).map_or(true, |text| {
        !text.lines().any(|l| l.contains("\"type\":\"assistant\""))
    })
}

/// Holds the first prompt until this agent's claude has listed the ccmulti
/// tools (Claude Code connects to MCP servers beside its first request, and
/// builds that request's tool list once this hook has answered), or until
/// `within`: an agent started from a line with its prompt on claude's
/// command line (`team --print`) would otherwise start its task without them.
fn wait_for_the_tools(coordinator: &Coordinator, agent: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        match status(coordinator, false, Vec::new()) {
            Ok(s) if decide::tools_listed(&s, agent) => {
                // Listed is not yet offered: Claude Code takes a moment with
                // the answer (team's first prompt waits as long).
                std::thread::sleep(TOOLS_REGISTER);
                return;
            }
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

pub fn news(common: &Common, args: &NewsArgs) -> Result<ExitCode> {
    let Some((me, coordinator)) = whoami(&args.identity, common)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let input = read_input()?;
    let event = input.news_event()?;
    let roots = project_roots(common, &input).ok();
    let coordinator = coordinator.with_workspace(
        roots
            .as_ref()
            .and_then(|roots| roots.first().and_then(|r| workspace_of(r)))
            .as_ref(),
    );
    // After a Read: in a worktree of its own, whether a newer version of the
    // file is in a commit this worktree lacks (the edit's own check comes too
    // late: Claude Code refuses an edit whose text is missing before the
    // pre-tool hook runs).
    let reading = match (&roots, input.read_path()) {
        (Some(roots), Some(raw)) => lock_path_of(roots, raw).into_iter().collect(),
        _ => Vec::new(),
    };
    let answer = status(&coordinator, true, reading);
    if event == "UserPromptSubmit"
        && answer
            .as_ref()
            .is_ok_and(|s| !decide::tools_listed(s, &me.agent_id))
        && args.tools_wait_seconds > 0
        && before_the_first_answer(&input)
    {
        wait_for_the_tools(
            &coordinator,
            &me.agent_id,
            Duration::from_secs(args.tools_wait_seconds),
        );
    }
    let news = answer.map(decide::status_news);
    match news {
        Ok(news) => print(output::news(event, &me.agent_id, &me.session_id, &news))?,
        // News is a courtesy: no coordinator, no news, and the prompt goes on.
        Err(e) => errln!("ccmulti hook news: {e}"),
    }
    Ok(ExitCode::SUCCESS)
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
    let top = PathBuf::from(git(&here, &["rev-parse", "--show-toplevel"])?.trim_end());
    // An explicit --root may be another worktree's (or a directory in it):
    // a staged file is then the same repository file there.
    let roots = match &common.root {
        Some(_) => worktrees::roots_of(&common.root()?),
        None => vec![canonical(&top)?],
    };
    let coordinator = coordinator.with_workspace(workspace_of(&top).as_ref());
    let resolver = PathResolver::new(roots.clone());
    let staged: Vec<String> = git(&top, &["diff", "--cached", "--name-only", "-z"])?
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The pre-tool hook holds an edit for a change in no commit only while
    /// that change is there: one its maker undid is nothing to wait for.
    #[test]
    fn a_change_in_no_commit_is_waited_for_only_while_it_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        let (repo, theirs) = (base.join("repo"), base.join("theirs"));
        std::fs::create_dir_all(&repo).unwrap();
        let run = |at: &Path, args: &[&str]| {
            let out = std::process::Command::new("git")
                .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
                .args(args)
                .current_dir(at)
                .env_remove("GIT_DIR")
                .env_remove("GIT_WORK_TREE")
                .output()
                .unwrap();
            assert!(out.status.success(), "git {args:?}: {out:?}");
        };
        run(&repo, &["init", "-q"]);
        std::fs::write(repo.join("app.py"), "a\n").unwrap();
        run(&repo, &["add", "app.py"]);
        run(&repo, &["commit", "-q", "-m", "init"]);
        run(
            &repo,
            &[
                "worktree",
                "add",
                "-q",
                "-b",
                "theirs",
                &theirs.to_string_lossy(),
            ],
        );
        let handover = HandOver {
            path: "app.py".into(),
            from: "impl_b".into(),
            commit: None,
            branch: Some("theirs".into()),
            blob: None,
            command: None,
            fetch: false,
            worktree: Some(theirs.to_string_lossy().into_owned()),
            message: String::new(),
        };
        let root = Some(&repo);
        assert!(!still_uncommitted(&handover, root), "nothing changed yet");
        std::fs::write(theirs.join("app.py"), "b\n").unwrap();
        assert!(still_uncommitted(&handover, root));
        run(&theirs, &["checkout", "--", "app.py"]);
        assert!(!still_uncommitted(&handover, root), "undone");
        let elsewhere = HandOver {
            worktree: Some(
                base.join("on-another-machine")
                    .to_string_lossy()
                    .into_owned(),
            ),
            ..handover
        };
        assert!(
            still_uncommitted(&elsewhere, root),
            "cannot look: taken as there"
        );
    }
}
