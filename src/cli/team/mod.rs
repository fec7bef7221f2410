//! `ccmulti team`: one command starts the team. It plans the team (its
//! agents, where each works, what each is told first), checks everything
//! (git repository, tmux, claude, the coordinator at the address, each
//! worktree, Claude Code's trust in the repository), and only then starts the
//! coordinator if none serves this repository, creates the worktrees,
//! installs the git guard, writes each agent's MCP config and settings under
//! ccmulti's data directory (nothing in the repository), and opens a tmux
//! session: the planner, the implementers and the dashboard, each agent's
//! `claude` already connected as itself. Run again on a team that is there,
//! it repairs what has ended or gone. `team stop` ends it; `team status`
//! shows it.

mod commands;
mod coordinator;
mod files;
mod land;
mod line;
mod plan;
mod prompt;
mod records;
mod repair;
mod start;
mod stop;
mod tmux;
mod trust;
mod window;
mod workspace;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use ccmulti::rules::team;
use ccmulti::worktrees;
use ccmulti_model::check_part;
use ccmulti_model::tools::plan::{MAX_AGENTS, MIN_AGENTS};
use ccmulti_planner::Connection;
use clap::{Args, Subcommand};

use self::workspace::Repository;
use super::args::{SERVER_OPTIONS_HELP, ServeArgs, hide_server_option};
use super::{Common, DbArg};

/// Implementers without `--agents` and without tasks to plan.
const DEFAULT_IMPLEMENTERS: u8 = 3;
/// The command that starts Claude Code, if not `claude` on the PATH.
const CLAUDE_ENV: &str = "CCMULTI_CLAUDE";

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TeamArgs {
    #[command(subcommand)]
    action: Option<TeamAction>,
    #[command(flatten)]
    start: StartArgs,
}

#[derive(Debug, Subcommand)]
enum TeamAction {
    /// Start the team (what `ccmulti team` alone does).
    Start(Box<StartArgs>),
    /// End the team's tmux session and release its locks; worktrees stay.
    Stop(stop::StopArgs),
    /// The team's tmux windows, worktrees, agents, locks and tasks.
    Status(stop::StatusArgs),
    /// Merge the implementers' branches into the main checkout's branch, in
    /// hand-over order; stops at the first conflict (that merge aborted, the
    /// branches merged before it stay merged). Refuses a checkout with uncommitted changes.
    Land(land::LandArgs),
    /// Gives an agent its first prompt once its claude has the ccmulti tools
    /// (run in the background in the agent's window).
    #[command(hide = true)]
    Prompt(prompt::PromptArgs),
}

/// Which team: the session, its owner, and where its files are.
#[derive(Debug, Clone, Args)]
pub struct Which {
    /// Session id the agents share [default: the repository's directory name].
    #[arg(long)]
    session: Option<String>,
    /// User id that owns the session.
    #[arg(long, env = "USER", default_value = "local")]
    user: String,
    /// Where the agents' generated configs go [default: the database's directory].
    #[arg(long, env = "CCMULTI_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
#[command(mut_args(hide_server_option), after_help = SERVER_OPTIONS_HELP)]
pub struct StartArgs {
    #[command(flatten)]
    which: Which,
    /// Implementers besides the planner, 2 to 5 [default: 3, or the plan's recommendation with --tasks].
    #[arg(long, value_parser = clap::value_parser!(u8).range(MIN_AGENTS as i64..=MAX_AGENTS as i64))]
    agents: Option<u8>,
    /// Give each implementer its own git worktree on branch ccmulti/<session>/<agent>
    /// (created if missing, reused if there).
    #[arg(long)]
    worktrees: bool,
    /// Where the worktrees go, as <dir>/<session>-<agent> [default: beside the checkout].
    #[arg(long, requires = "worktrees")]
    worktree_dir: Option<PathBuf>,
    /// What new worktree branches start from.
    #[arg(long, default_value = "HEAD", requires = "worktrees")]
    base: String,
    /// Plan these tasks (one per line; `-` reads stdin) and start each implementer
    /// with its own, the planner with the overview.
    #[arg(long, conflicts_with = "message")]
    tasks: Option<PathBuf>,
    /// The tasks as a message, e.g. "1. Add rate limiting 2. Export invoices".
    #[arg(long)]
    message: Option<String>,
    /// Print each terminal's start command instead of opening tmux.
    #[arg(long)]
    print: bool,
    /// Attach to the tmux session [default: when run on a terminal].
    #[arg(long, conflicts_with = "no_attach")]
    attach: bool,
    /// Leave the tmux session detached.
    #[arg(long)]
    no_attach: bool,
    /// Answer yes to team's own question: that Claude Code may trust the repository
    /// (recorded in Claude Code's config, as its own "Yes, I trust this folder" is).
    #[arg(long, short = 'y')]
    yes: bool,
    /// One more argument for every agent's claude (repeatable), e.g.
    /// --claude-arg=--permission-mode=acceptEdits. Arguments after `--` are passed too.
    #[arg(long = "claude-arg", allow_hyphen_values = true)]
    claude_args: Vec<String>,
    /// Arguments for every agent's claude.
    #[arg(last = true)]
    trailing: Vec<String>,
    #[command(flatten)]
    serve: ServeArgs,
}

pub fn team(db: &DbArg, args: &TeamArgs) -> Result<ExitCode> {
    match &args.action {
        None => start::start(&Common::serving(db, &args.start.serve), &args.start),
        Some(TeamAction::Start(start_args)) => {
            start::start(&Common::serving(db, &start_args.serve), start_args)
        }
        Some(TeamAction::Stop(stop_args)) => stop::stop(
            &Common::database_only(db).with_root(&stop_args.root),
            stop_args,
        ),
        Some(TeamAction::Status(status_args)) => stop::status(
            &Common::database_only(db).with_root(&status_args.root),
            &status_args.which,
        ),
        Some(TeamAction::Land(land_args)) => land::land(
            &Common::database_only(db).with_root(&land_args.root),
            land_args,
        ),
        Some(TeamAction::Prompt(prompt_args)) => {
            prompt::prompt(&Common::database_only(db), prompt_args)
        }
    }
}

/// Who and where, resolved from the flags and the repository.
struct Team {
    repo: Repository,
    session: String,
    user: String,
    dir: PathBuf,
    tmux: String,
}

fn check_parts(parts: &[(&str, &str)]) -> Result<()> {
    for (name, part) in parts {
        if let Err(problem) = check_part(name, part) {
            bail!(
                "{problem}; use 1 to 128 characters of A-Z a-z 0-9 . _ - (no double underscore). Nothing was changed"
            );
        }
    }
    Ok(())
}

impl Team {
    fn resolve(common: &Common, which: &Which) -> Result<Self> {
        let here = common.root()?;
        let found = Repository::find(&here)?;
        // Run anywhere in the repository, the team is the repository's, unless --root says otherwise.
        let repo = if common.root.is_some() {
            found
        } else {
            Repository {
                root: found.top.clone(),
                ..found
            }
        };
        let session = match &which.session {
            Some(s) => s.clone(),
            None => team::default_session(&main_checkout_name(&repo.top)),
        };
        check_parts(&[("user", &which.user), ("session", &session)])?;
        let data = match &which.data_dir {
            Some(d) => d.clone(),
            None => match common.database()? {
                // The team's files sit beside the database file, or where
                // the default one would be.
                crate::cli::Database::File(path) => path,
                crate::cli::Database::Postgres(_) => common.default_db_path()?,
            }
            .parent()
            .map(Path::to_owned)
            .unwrap_or_default(),
        };
        let data = if data.is_absolute() {
            data
        } else {
            std::env::current_dir()?.join(data)
        };
        Ok(Self {
            dir: files::team_dir(&data, &session),
            tmux: team::tmux_session(&session),
            session,
            user: which.user.clone(),
            repo,
        })
    }

    /// The repository's main checkout (this one, or the one this worktree belongs to).
    fn main_checkout(&self) -> PathBuf {
        main_checkout(&self.repo.top)
    }

    fn connection(&self, common: &Common) -> Connection {
        Connection {
            public_url: common.public_url(),
            user_id: self.user.clone(),
            session_id: self.session.clone(),
            auth_header: common.client_auth_header(),
        }
    }
}

/// The repository's main checkout, as git lists it first.
fn main_checkout(top: &Path) -> PathBuf {
    worktrees::list(top)
        .ok()
        .and_then(|trees| trees.into_iter().find(|t| !t.bare).map(|t| t.path))
        .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
        .unwrap_or_else(|| top.to_owned())
}

/// The directory name of the repository's main checkout, so that `team stop`
/// or `team status` run in an implementer's worktree find the same session.
fn main_checkout_name(top: &Path) -> String {
    main_checkout(top)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Hands this terminal to the team's tmux session with `--attach`, or by
/// default when run on a terminal.
fn attach_if_asked(args: &StartArgs, tmux_session: &str) -> Result<()> {
    use std::io::IsTerminal;
    let attach = args.attach
        || (!args.no_attach && std::io::stdin().is_terminal() && std::io::stdout().is_terminal());
    if attach {
        tmux::attach(tmux_session)?;
    }
    Ok(())
}

/// `CCMULTI_CLAUDE`, else `claude`.
fn claude_command() -> String {
    std::env::var(CLAUDE_ENV)
        .ok()
        .filter(|c| !c.trim().is_empty())
        .unwrap_or_else(|| "claude".into())
}

/// A program name found on the PATH, or a path to an executable file.
fn runnable(program: &str) -> bool {
    let is_file = |p: &Path| p.is_file();
    if program.contains('/') {
        return is_file(Path::new(program));
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| is_file(&dir.join(program))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_is_runnable_by_path_or_name() {
        assert!(runnable("sh"));
        assert!(runnable("/bin/sh"));
        assert!(!runnable("/nonexistent/claude"));
        assert!(!runnable("surely-no-such-program-ccmulti"));
    }
}
