//! Command-line interface (clap derive). Each command lives in its own file.

mod connect;
mod git;
mod hook;
mod inspect;
mod install;
mod plan;
mod run;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "ccmulti",
    version,
    about = "Coordinate several Claude Code agents in one repository"
)]
pub struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Address the coordinator listens on (and clients connect to).
    #[arg(
        long,
        global = true,
        env = "CCMULTI_ADDR",
        default_value = "127.0.0.1:7477"
    )]
    addr: SocketAddr,
    /// SQLite database file [default: $XDG_DATA_HOME/ccmulti/coordinator.db].
    #[arg(long, global = true, env = "CCMULTI_DB")]
    db: Option<PathBuf>,
    /// Project root that lock paths are relative to [default: the working directory].
    #[arg(long, global = true)]
    root: Option<PathBuf>,
    /// How many of the newest coordination events the coordinator keeps; older ones are pruned.
    #[arg(long, global = true, env = "CCMULTI_KEEP_EVENTS", default_value_t = ccmulti::store::DEFAULT_EVENTS_KEPT,
          value_parser = clap::value_parser!(u64).range(1..))]
    keep_events: u64,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Coordinator and dashboard in one terminal (the default on a terminal).
    Up,
    /// The dashboard alone, against a database another process serves.
    Dash,
    /// Coordinator only, logs to stderr.
    Serve {
        /// fsync every commit, so that grants survive power loss too (slower).
        #[arg(long)]
        durable: bool,
    },
    /// Sessions, agents, locks with time left, and tasks.
    Status {
        /// Only this session.
        #[arg(long)]
        session: Option<String>,
    },
    /// Release locks by hand; recorded as a forced release.
    Release(inspect::ReleaseArgs),
    /// Print what one terminal needs: the `claude mcp add` line, the environment
    /// and the Claude Code hooks (`--write` merges them into .claude/settings.json).
    Connect(connect::ConnectArgs),
    /// Plan tasks across agents: conflicts, who does what, each terminal's command and prompt.
    Plan(plan::PlanArgs),
    /// The hooks Claude Code and git run (see `ccmulti connect` and `install-git-hook`).
    Hook {
        #[command(subcommand)]
        command: hook::HookCommand,
    },
    /// Install the git guard as the repository's pre-commit hook.
    InstallGitHook(install::InstallGitHookArgs),
    /// Database maintenance.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Print the tables, indexes, schema version and integrity, like the seed's verification SQL.
    Verify,
}

impl Common {
    fn db_path(&self) -> Result<PathBuf> {
        if let Some(db) = &self.db {
            return Ok(db.clone());
        }
        let data = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => PathBuf::from(
                std::env::var_os("HOME")
                    .context("neither XDG_DATA_HOME nor HOME is set; pass --db")?,
            )
            .join(".local/share"),
        };
        Ok(data.join("ccmulti").join("coordinator.db"))
    }

    fn root(&self) -> Result<PathBuf> {
        let root = match &self.root {
            Some(r) => r.clone(),
            None => std::env::current_dir().context("reading the working directory")?,
        };
        std::fs::canonicalize(&root).with_context(|| format!("project root {}", root.display()))
    }

    fn public_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

pub fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    let common = cli.common;
    match cli.command {
        None if std::io::stdout().is_terminal() => run::up(&common),
        None => run::serve(&common, false),
        Some(Command::Up) => run::up(&common),
        Some(Command::Serve { durable }) => run::serve(&common, durable),
        Some(Command::Dash) => run::dash(&common),
        Some(Command::Status { session }) => inspect::status(&common, session.as_deref()),
        Some(Command::Release(args)) => inspect::release(&common, &args),
        Some(Command::Connect(args)) => connect::connect(&common, &args),
        Some(Command::Plan(args)) => plan::plan(&common, &args),
        Some(Command::Hook { command }) => match command {
            hook::HookCommand::PreTool(args) => hook::pre_tool(&common, &args),
            hook::HookCommand::News(args) => hook::news(&common, &args),
            hook::HookCommand::PreCommit(args) => hook::pre_commit(&common, &args),
        },
        Some(Command::InstallGitHook(args)) => install::install_git_hook(&common, &args),
        Some(Command::Db {
            command: DbCommand::Verify,
        }) => inspect::verify(&common),
    }
}
