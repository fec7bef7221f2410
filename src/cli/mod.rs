//! Command-line interface (clap derive). Each command lives in its own file.

mod args;
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
use ccmulti::state::Security;
use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use self::args::{AddrArg, ClientArgs, RootArg, ServeArgs, ServerArgs};

#[derive(Debug, Parser)]
#[command(
    name = "ccmulti",
    version,
    about = "Coordinate several Claude Code agents in one repository"
)]
pub struct Cli {
    #[command(flatten)]
    db: DbArg,
    /// For `ccmulti` alone: the coordinator (and dashboard) it runs.
    #[command(flatten)]
    serve: ServeArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

/// The database, on every command that opens one; also accepted before the
/// command name (`ccmulti --db FILE status`).
#[derive(Debug, Clone, Default, Args)]
pub struct DbArg {
    /// SQLite database file [default: $XDG_DATA_HOME/ccmulti/coordinator.db], or a
    /// PostgreSQL URL shared by several coordinators; without either, a postgres:// DATABASE_URL.
    #[arg(
        long,
        global = true,
        env = "CCMULTI_DB",
        hide_env_values = true,
        value_name = "FILE|URL"
    )]
    db: Option<PathBuf>,
}

/// What a command runs with, resolved from the options it takes (the rest at
/// their defaults, unused by it).
#[derive(Debug, Clone)]
pub struct Common {
    addr: SocketAddr,
    db: Option<PathBuf>,
    root: Option<PathBuf>,
    token: Option<String>,
    server: ServerArgs,
}

impl Common {
    /// A command that opens the database and nothing else.
    fn database_only(db: &DbArg) -> Self {
        Self {
            addr: default_addr(),
            db: db.db.clone(),
            root: None,
            token: None,
            server: ServerArgs::default(),
        }
    }

    /// A command that serves, connects or starts a coordinator.
    fn serving(db: &DbArg, serve: &ServeArgs) -> Self {
        Self {
            server: serve.server.clone(),
            ..Self::client(db, &serve.client)
        }
    }

    /// A command that connects to a coordinator (or names one for others).
    fn client(db: &DbArg, client: &ClientArgs) -> Self {
        Self {
            addr: client.addr.addr,
            db: db.db.clone(),
            root: client.root.root.clone(),
            token: client.token.token.clone(),
            server: ServerArgs::default(),
        }
    }

    fn with_root(mut self, root: &RootArg) -> Self {
        self.root = root.root.clone();
        self
    }

    fn with_addr(mut self, addr: &AddrArg) -> Self {
        self.addr = addr.addr;
        self
    }
}

fn default_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 7477))
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Coordinator and dashboard in one terminal (the default on a terminal).
    Up(ServeArgs),
    /// The dashboard alone, against a database another process serves.
    Dash(AddrArg),
    /// Coordinator only, logs to stderr.
    Serve {
        #[command(flatten)]
        serve: ServeArgs,
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
    /// Forget a session that is over: its agents, locks, tasks and events leave the
    /// database and the dashboard (logged).
    Forget(inspect::ForgetArgs),
    /// Print what one terminal needs: the `claude mcp add` line, the environment
    /// and the Claude Code hooks (`--write` merges them into .claude/settings.json).
    Connect(connect::ConnectArgs),
    /// Plan tasks across agents: conflicts, who does what, each terminal's command and prompt.
    Plan(plan::PlanArgs),
    /// Start the team in tmux: coordinator, planner, implementers (optionally each in its own
    /// git worktree) and dashboard, every claude already connected; run again, it repairs
    /// what has ended; `team stop` ends it.
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
        match self.server.allow_hosts.first() {
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
            &self.server.allow_hosts,
            &self.server.allow_origins,
        )?;
        check_bind(self.addr, access.token.as_ref())?;
        Ok(Security {
            access,
            admitted_clients: admitted_clients(&self.server.admit_clients)?,
            limits: self.server.limits.limits(),
        })
    }
}

/// The command line, read; an option of `ccmulti` alone (up or serve) put
/// before another command's name is refused, saying where it goes, rather
/// than taken by `ccmulti` alone and silently unused.
fn parse() -> Cli {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let Some((name, _)) = matches.subcommand() {
        let serve = ServeArgs::augment_args(clap::Command::new("serve"));
        if let Some(misplaced) = serve
            .get_arguments()
            .find(|a| matches.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine))
        {
            let flag = misplaced.get_long().unwrap_or_default();
            let mut command = Cli::command();
            let takes = command
                .find_subcommand(name)
                .is_some_and(|c| c.get_arguments().any(|a| a.get_long() == Some(flag)));
            let message = if takes {
                format!("--{flag} goes after the command's name: ccmulti {name} --{flag} ...")
            } else {
                format!(
                    "`ccmulti {name}` takes no --{flag} (only `ccmulti` alone, up, serve and the commands that connect do)"
                )
            };
            command.error(ErrorKind::ArgumentConflict, message).exit();
        }
    }
    cli
}

pub fn run() -> Result<ExitCode> {
    let cli = parse();
    let db = &cli.db;
    let database_only = || Common::database_only(db);
    match cli.command {
        None if std::io::stdout().is_terminal() => run::up(&Common::serving(db, &cli.serve)),
        None => run::serve(&Common::serving(db, &cli.serve), false),
        Some(Command::Up(serve)) => run::up(&Common::serving(db, &serve)),
        Some(Command::Serve { serve, durable }) => {
            run::serve(&Common::serving(db, &serve), durable)
        }
        Some(Command::Dash(addr)) => run::dash(&database_only().with_addr(&addr)),
        Some(Command::Status { session }) => inspect::status(&database_only(), session.as_deref()),
        Some(Command::Release(args)) => {
            inspect::release(&database_only().with_root(&args.root), &args)
        }
        Some(Command::Forget(args)) => inspect::forget(&database_only(), &args),
        Some(Command::Connect(args)) => connect::connect(&Common::serving(db, &args.serve), &args),
        Some(Command::Plan(args)) => plan::plan(&Common::serving(db, &args.serve), &args),
        Some(Command::Team(args)) => team::team(db, &args),
        Some(Command::Hook { command }) => hook::run(db, &command),
        Some(Command::InstallGitHook(args)) => {
            install::install_git_hook(&database_only().with_root(&args.root), &args)
        }
        Some(Command::Db {
            command: DbCommand::Verify,
        }) => inspect::verify(&database_only()),
        Some(Command::Db {
            command: DbCommand::Backup { file },
        }) => inspect::backup(&database_only(), &file),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_address_is_the_one_clap_shows() {
        assert_eq!(default_addr().to_string(), args::DEFAULT_ADDR);
    }
}
