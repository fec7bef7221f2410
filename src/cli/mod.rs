//! Command-line interface (clap derive). Each command lives in its own file.

mod connect;
mod hook;
mod inspect;
mod install;
pub(crate) mod out;
mod plan;
mod run;
mod service;
mod team;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use ccmulti::rules::access::{AUTH_HEADER_VALUE, AccessPolicy, check_bind};
use ccmulti::rules::clients::admitted_clients;
use ccmulti::rules::limits;
use ccmulti::state::Security;
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
    /// SQLite database file [default: $XDG_DATA_HOME/ccmulti/coordinator.db], or a
    /// PostgreSQL URL (postgres://user:password@host/db?sslmode=require) shared by
    /// several coordinators; without either, a postgres:// DATABASE_URL is used.
    #[arg(long, global = true, env = "CCMULTI_DB", hide_env_values = true)]
    db: Option<PathBuf>,
    /// Project root that lock paths are relative to [default: the working directory].
    #[arg(long, global = true)]
    root: Option<PathBuf>,
    /// Token every request but GET /health must carry as `Authorization: Bearer`;
    /// required to listen beyond loopback. The hooks send it too.
    #[arg(long, global = true, env = "CCMULTI_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Another host name the coordinator answers to (the Host check against DNS
    /// rebinding); repeatable, or comma-separated in the environment.
    #[arg(
        long = "allow-host",
        global = true,
        env = "CCMULTI_ALLOW_HOSTS",
        value_delimiter = ','
    )]
    allow_hosts: Vec<String>,
    /// A browser origin (scheme://host[:port]) allowed besides loopback ones; repeatable.
    #[arg(
        long = "allow-origin",
        global = true,
        env = "CCMULTI_ALLOW_ORIGINS",
        value_delimiter = ','
    )]
    allow_origins: Vec<String>,
    /// Give another agent client (e.g. codex) the coordination tools, as Claude Code
    /// gets them, when all its identity signals name it; repeatable. Off by default.
    #[arg(
        long = "admit-client",
        global = true,
        env = "CCMULTI_ADMIT_CLIENTS",
        value_delimiter = ','
    )]
    admit_clients: Vec<String>,
    /// How many of the newest coordination events the coordinator keeps; older ones are pruned.
    #[arg(long, global = true, env = "CCMULTI_KEEP_EVENTS", default_value_t = ccmulti::store::DEFAULT_EVENTS_KEPT,
          value_parser = clap::value_parser!(u64).range(1..))]
    keep_events: u64,
    #[command(flatten)]
    limits: LimitArgs,
}

/// What one misbehaving client can make the coordinator hold, and how long a
/// request may take to arrive; the defaults are far beyond an honest team
/// (`ccmulti::rules::limits`).
#[derive(Debug, Clone, Args)]
struct LimitArgs {
    /// Most agents one session may register.
    #[arg(long, global = true, env = "CCMULTI_MAX_AGENTS_PER_SESSION",
          default_value_t = limits::DEFAULT_AGENTS_PER_SESSION, value_parser = clap::value_parser!(u64).range(1..))]
    max_agents_per_session: u64,
    /// Most sessions one user may own.
    #[arg(long, global = true, env = "CCMULTI_MAX_SESSIONS_PER_USER",
          default_value_t = limits::DEFAULT_SESSIONS_PER_USER, value_parser = clap::value_parser!(u64).range(1..))]
    max_sessions_per_user: u64,
    /// Most open Mcp-Session-Id (legacy protocol) sessions.
    #[arg(long, global = true, env = "CCMULTI_MAX_LEGACY_SESSIONS",
          default_value_t = limits::DEFAULT_LEGACY_SESSIONS, value_parser = clap::value_parser!(u64).range(1..))]
    max_legacy_sessions: u64,
    /// Most open server-to-client event streams (GET with Mcp-Session-Id).
    #[arg(long, global = true, env = "CCMULTI_MAX_EVENT_STREAMS",
          default_value_t = limits::DEFAULT_EVENT_STREAMS, value_parser = clap::value_parser!(u64).range(1..))]
    max_event_streams: u64,
    /// Most claims waiting for their paths at once, all agents together.
    #[arg(long, global = true, env = "CCMULTI_MAX_WAITING_CLAIMS",
          default_value_t = limits::DEFAULT_WAITING_CLAIMS, value_parser = clap::value_parser!(u64).range(1..))]
    max_waiting_claims: u64,
    /// Seconds a connection has to send a request's headers before it is closed.
    #[arg(long, global = true, env = "CCMULTI_HEADER_READ_TIMEOUT", value_name = "SECONDS",
          default_value_t = limits::DEFAULT_HEADER_READ_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    header_read_timeout: u64,
    /// Seconds a request's body may take to arrive after its headers (then 408).
    #[arg(long, global = true, env = "CCMULTI_BODY_READ_TIMEOUT", value_name = "SECONDS",
          default_value_t = limits::DEFAULT_BODY_READ_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    body_read_timeout: u64,
}

impl LimitArgs {
    fn limits(&self) -> limits::Limits {
        limits::Limits {
            agents_per_session: self.max_agents_per_session,
            sessions_per_user: self.max_sessions_per_user,
            legacy_sessions: self.max_legacy_sessions,
            event_streams: self.max_event_streams,
            waiting_claims: self.max_waiting_claims,
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout),
            body_read_timeout: std::time::Duration::from_secs(self.body_read_timeout),
        }
    }

    /// The flags that set these limits where they differ from the defaults,
    /// for a coordinator another command starts (`ccmulti team`).
    fn flags(&self) -> Vec<String> {
        [
            (
                "--max-agents-per-session",
                self.max_agents_per_session,
                limits::DEFAULT_AGENTS_PER_SESSION,
            ),
            (
                "--max-sessions-per-user",
                self.max_sessions_per_user,
                limits::DEFAULT_SESSIONS_PER_USER,
            ),
            (
                "--max-legacy-sessions",
                self.max_legacy_sessions,
                limits::DEFAULT_LEGACY_SESSIONS,
            ),
            (
                "--max-event-streams",
                self.max_event_streams,
                limits::DEFAULT_EVENT_STREAMS,
            ),
            (
                "--max-waiting-claims",
                self.max_waiting_claims,
                limits::DEFAULT_WAITING_CLAIMS,
            ),
            (
                "--header-read-timeout",
                self.header_read_timeout,
                limits::DEFAULT_HEADER_READ_TIMEOUT_SECS,
            ),
            (
                "--body-read-timeout",
                self.body_read_timeout,
                limits::DEFAULT_BODY_READ_TIMEOUT_SECS,
            ),
        ]
        .into_iter()
        .filter(|(_, value, default)| value != default)
        .flat_map(|(flag, value, _)| [flag.to_owned(), value.to_string()])
        .collect()
    }
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
    /// Start the team in tmux: coordinator, planner, implementers (optionally each in its own
    /// git worktree) and dashboard, every claude already connected; `team stop` ends it.
    Team(Box<team::TeamArgs>),
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
    /// Copy the database to FILE (a new file) while the coordinator runs; consistent, owner-only.
    Backup {
        /// Where the copy goes; it must not exist yet.
        file: std::path::PathBuf,
    },
}

/// Where the coordination state lives, as the database setting names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Database {
    /// A SQLite file (the default).
    File(PathBuf),
    /// A PostgreSQL URL, with its password: never print it, print
    /// [`ccmulti::store::postgres::redact`] of it.
    Postgres(String),
}

impl Common {
    /// `--db` / `CCMULTI_DB` when set (a `postgres://` or `postgresql://` URL
    /// chooses PostgreSQL, anything else is a SQLite file), else a
    /// PostgreSQL `DATABASE_URL`, else the default SQLite file.
    fn database(&self) -> Result<Database> {
        if let Some(db) = &self.db {
            return Ok(match db.to_str() {
                Some(url) if ccmulti::store::postgres::is_url(url) => {
                    Database::Postgres(url.to_owned())
                }
                _ => Database::File(db.clone()),
            });
        }
        if let Some(url) = std::env::var("DATABASE_URL")
            .ok()
            .filter(|url| ccmulti::store::postgres::is_url(url))
        {
            return Ok(Database::Postgres(url));
        }
        Ok(Database::File(self.default_db_path()?))
    }

    /// The SQLite file, for the commands that only work on one (`db backup`, `team`).
    fn db_path(&self) -> Result<PathBuf> {
        match self.database()? {
            Database::File(path) => Ok(path),
            Database::Postgres(url) => anyhow::bail!(
                "this command works on a SQLite database file, and the database setting names PostgreSQL ({})",
                ccmulti::store::postgres::redact(&url)
            ),
        }
    }

    /// Where the default SQLite file is, and beside it `up`'s log whatever the backend.
    fn default_db_path(&self) -> Result<PathBuf> {
        // $XDG_DATA_HOME (when absolute) or ~/.local/share on Linux; the
        // platform's own data directory elsewhere.
        let data = dirs::data_dir().context(
            "no data directory: neither XDG_DATA_HOME nor a home directory is known; pass --db",
        )?;
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
        self.advertised_url(self.addr)
    }

    /// Where clients are told to connect. Bound to every interface, the address
    /// itself (0.0.0.0) reaches nothing: the first `--allow-host` names this
    /// machine for others, else loopback serves the terminals on it.
    fn advertised_url(&self, addr: SocketAddr) -> String {
        if !addr.ip().is_unspecified() {
            return format!("http://{addr}");
        }
        match self.allow_hosts.first() {
            Some(host) => format!("http://{host}:{}", addr.port()),
            None if addr.is_ipv6() => format!("http://[::1]:{}", addr.port()),
            None => format!("http://127.0.0.1:{}", addr.port()),
        }
    }

    /// The token, if this terminal has one (an empty `CCMULTI_TOKEN` is none);
    /// not checked here, so a hook never fails on the server's rules for it.
    fn client_token(&self) -> Option<&str> {
        self.token.as_deref().filter(|t| !t.is_empty())
    }

    /// The `Authorization` value generated client configurations carry when this
    /// terminal has a token: a reference to `CCMULTI_TOKEN`, not the secret.
    fn client_auth_header(&self) -> Option<String> {
        self.client_token().map(|_| AUTH_HEADER_VALUE.to_owned())
    }

    /// What the coordinator lets in, checked before anything is opened: a bind
    /// beyond loopback without a token is refused here.
    fn security(&self) -> Result<Security> {
        let access = AccessPolicy::new(
            self.client_token(),
            self.addr.ip(),
            &self.allow_hosts,
            &self.allow_origins,
        )?;
        check_bind(self.addr, access.token.as_ref())?;
        Ok(Security {
            access,
            admitted_clients: admitted_clients(&self.admit_clients)?,
            limits: self.limits.limits(),
        })
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
        Some(Command::Team(args)) => team::team(&common, &args),
        Some(Command::Hook { command }) => match command {
            hook::HookCommand::PreTool(args) => hook::pre_tool(&common, &args),
            hook::HookCommand::News(args) => hook::news(&common, &args),
            hook::HookCommand::PreCommit(args) => hook::pre_commit(&common, &args),
        },
        Some(Command::InstallGitHook(args)) => install::install_git_hook(&common, &args),
        Some(Command::Db {
            command: DbCommand::Verify,
        }) => inspect::verify(&common),
        Some(Command::Db {
            command: DbCommand::Backup { file },
        }) => inspect::backup(&common, &file),
    }
}
