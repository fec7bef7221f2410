//! The options, in groups, so that each command shows only those it takes:
//! the database on every command that opens one; the address and token on
//! those that serve or connect; the server's own (hosts, origins, clients,
//! events kept, limits) only on those that serve or start a coordinator.
//! Every option keeps its environment variable and default.
//!
//! [`ServerArgs`] is also what `ccmulti team` hands the coordinator it
//! starts: [`flags`] derives the command line from the typed value and
//! clap's own description of it, so a new server option reaches that
//! coordinator without being written out again.

use std::net::SocketAddr;
use std::path::PathBuf;

use ccmulti::rules::limits;
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The address clients connect to when none is given.
pub const DEFAULT_ADDR: &str = "127.0.0.1:7477";

#[derive(Debug, Clone, Args)]
pub struct AddrArg {
    /// Address the coordinator listens on (and clients connect to).
    #[arg(long, env = "CCMULTI_ADDR", default_value = DEFAULT_ADDR)]
    pub addr: SocketAddr,
}

#[derive(Debug, Clone, Default, Args)]
pub struct TokenArg {
    /// Token every request but GET /health must carry as `Authorization: Bearer`;
    /// required to listen beyond loopback. The hooks send it too.
    #[arg(long, env = "CCMULTI_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Debug, Clone, Default, Args)]
pub struct RootArg {
    /// Project root that lock paths are relative to [default: the working directory].
    #[arg(long)]
    pub root: Option<PathBuf>,
}

/// Where the coordinator is, how to reach it and which project: what every
/// command that serves or connects takes.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    #[command(flatten)]
    pub addr: AddrArg,
    #[command(flatten)]
    pub token: TokenArg,
    #[command(flatten)]
    pub root: RootArg,
}

/// What a coordinator admits and keeps: the options of the commands that
/// serve (`serve`, `up`, `ccmulti` alone) or start a coordinator (`team`).
#[derive(Debug, Clone, PartialEq, Eq, Args, Serialize, Deserialize)]
pub struct ServerArgs {
    /// Another host name the coordinator answers to (the Host check against DNS
    /// rebinding); repeatable, or comma-separated in the environment.
    #[arg(
        long = "allow-host",
        env = "CCMULTI_ALLOW_HOSTS",
        value_delimiter = ','
    )]
    pub allow_hosts: Vec<String>,
    /// A browser origin (scheme://host[:port]) allowed besides loopback ones; repeatable.
    #[arg(
        long = "allow-origin",
        env = "CCMULTI_ALLOW_ORIGINS",
        value_delimiter = ','
    )]
    pub allow_origins: Vec<String>,
    /// Give another agent client (e.g. codex) the coordination tools, as Claude Code
    /// gets them, when all its identity signals name it; repeatable. Off by default.
    #[arg(
        long = "admit-client",
        env = "CCMULTI_ADMIT_CLIENTS",
        value_delimiter = ','
    )]
    pub admit_clients: Vec<String>,
    /// How many of the newest coordination events the coordinator keeps; older ones are pruned.
    #[arg(long, env = "CCMULTI_KEEP_EVENTS", default_value_t = ccmulti::store::DEFAULT_EVENTS_KEPT,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub keep_events: u64,
    #[command(flatten)]
    #[serde(flatten)]
    pub limits: LimitArgs,
}

impl Default for ServerArgs {
    fn default() -> Self {
        Self {
            allow_hosts: Vec::new(),
            allow_origins: Vec::new(),
            admit_clients: Vec::new(),
            keep_events: ccmulti::store::DEFAULT_EVENTS_KEPT,
            limits: LimitArgs::default(),
        }
    }
}

/// What one misbehaving client can make the coordinator hold, and how long a
/// request may take to arrive; the defaults are far beyond an honest team
/// (`ccmulti::rules::limits`).
#[derive(Debug, Clone, PartialEq, Eq, Args, Serialize, Deserialize)]
pub struct LimitArgs {
    /// Most agents one session may register.
    #[arg(long, env = "CCMULTI_MAX_AGENTS_PER_SESSION",
          default_value_t = limits::DEFAULT_AGENTS_PER_SESSION, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_agents_per_session: u64,
    /// Most sessions one user may own.
    #[arg(long, env = "CCMULTI_MAX_SESSIONS_PER_USER",
          default_value_t = limits::DEFAULT_SESSIONS_PER_USER, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_sessions_per_user: u64,
    /// Most open Mcp-Session-Id (legacy protocol) sessions.
    #[arg(long, env = "CCMULTI_MAX_LEGACY_SESSIONS",
          default_value_t = limits::DEFAULT_LEGACY_SESSIONS, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_legacy_sessions: u64,
    /// Most open server-to-client event streams (GET with Mcp-Session-Id).
    #[arg(long, env = "CCMULTI_MAX_EVENT_STREAMS",
          default_value_t = limits::DEFAULT_EVENT_STREAMS, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_event_streams: u64,
    /// Most claims waiting for their paths at once, all agents together.
    #[arg(long, env = "CCMULTI_MAX_WAITING_CLAIMS",
          default_value_t = limits::DEFAULT_WAITING_CLAIMS, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_waiting_claims: u64,
    /// Seconds a connection may hold no request (to send a request's headers, from its opening or its last answer) before it is closed.
    #[arg(long, env = "CCMULTI_HEADER_READ_TIMEOUT", value_name = "SECONDS",
          default_value_t = limits::DEFAULT_HEADER_READ_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout: u64,
    /// Seconds a request's body may take to arrive after its headers (then 408).
    #[arg(long, env = "CCMULTI_BODY_READ_TIMEOUT", value_name = "SECONDS",
          default_value_t = limits::DEFAULT_BODY_READ_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub body_read_timeout: u64,
}

impl Default for LimitArgs {
    fn default() -> Self {
        Self {
            max_agents_per_session: limits::DEFAULT_AGENTS_PER_SESSION,
            max_sessions_per_user: limits::DEFAULT_SESSIONS_PER_USER,
            max_legacy_sessions: limits::DEFAULT_LEGACY_SESSIONS,
            max_event_streams: limits::DEFAULT_EVENT_STREAMS,
            max_waiting_claims: limits::DEFAULT_WAITING_CLAIMS,
            header_read_timeout: limits::DEFAULT_HEADER_READ_TIMEOUT_SECS,
            body_read_timeout: limits::DEFAULT_BODY_READ_TIMEOUT_SECS,
        }
    }
}

impl LimitArgs {
    pub fn limits(&self) -> limits::Limits {
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
}

/// Everything a coordinator is started with, but the database (a global option).
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Hides the server's options (a command that starts a coordinator takes
/// them, and says where they are described).
pub fn hide_server_option(arg: clap::Arg) -> clap::Arg {
    let ids = ServerArgs::augment_args(clap::Command::new("ids"));
    if ids.get_arguments().any(|a| a.get_id() == arg.get_id()) {
        arg.hide(true)
    } else {
        arg
    }
}

/// What a command that hides the server's options says of them.
pub const SERVER_OPTIONS_HELP: &str = "The coordinator it starts takes the options of `ccmulti serve` \
(--allow-host, --allow-origin, --admit-client, --keep-events, --max-*, --*-read-timeout, each with its \
CCMULTI_* variable): see `ccmulti serve --help`.";

/// The command line that gives a coordinator `value`: `--flag value` for
/// each option whose value is not its default (every one with `all`), in
/// clap's order. Derived from the typed value and clap's own description of
/// `T`, so every option of `T` is covered, with no list to keep.
pub fn flags<T: Args + Serialize>(value: &T, all: bool) -> Vec<String> {
    let command = T::augment_args(clap::Command::new("flags"));
    let fields = match serde_json::to_value(value) {
        Ok(Value::Object(fields)) => fields,
        _ => return Vec::new(),
    };
    let mut argv = Vec::new();
    for arg in command.get_arguments() {
        let (Some(long), Some(field)) = (arg.get_long(), fields.get(arg.get_id().as_str())) else {
            continue;
        };
        let values: Vec<String> = match field {
            Value::Array(items) => items.iter().map(text).collect(),
            Value::Null => Vec::new(),
            one => vec![text(one)],
        };
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|d| d.to_string_lossy().into_owned())
            .collect();
        if !all && values == defaults {
            continue;
        }
        for v in values {
            argv.extend([format!("--{long}"), v]);
        }
    }
    argv
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Parses `argv` as the options of `T` alone, as the child that is given
/// them would: what [`flags`] writes reads back the same.
#[cfg(test)]
fn parse_flags<T: Args + clap::FromArgMatches>(argv: &[String]) -> Result<T, clap::Error> {
    let matches = T::augment_args(clap::Command::new("flags"))
        .no_binary_name(true)
        .try_get_matches_from(argv)?;
    T::from_arg_matches(&matches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_option_has_an_environment_variable_and_reaches_a_started_coordinator() {
        let command = ServerArgs::augment_args(clap::Command::new("t"));
        for arg in command.get_arguments() {
            assert!(arg.get_env().is_some(), "--{:?} has no env", arg.get_long());
        }
        let given = ServerArgs {
            allow_hosts: vec!["devbox.lan".into(), "other.lan".into()],
            allow_origins: vec!["https://x.example".into()],
            admit_clients: vec!["codex".into()],
            keep_events: 77,
            limits: LimitArgs {
                max_waiting_claims: 7,
                body_read_timeout: 3,
                ..LimitArgs::default()
            },
        };
        for all in [false, true] {
            let argv = flags(&given, all);
            assert_eq!(parse_flags::<ServerArgs>(&argv).unwrap(), given, "{argv:?}");
        }
        let changed = flags(&given, false);
        assert!(
            changed
                .windows(2)
                .any(|w| w == ["--max-waiting-claims", "7"]),
            "{changed:?}"
        );
        assert!(!changed.contains(&"--max-agents-per-session".to_owned()));
        assert_eq!(flags(&ServerArgs::default(), false), Vec::<String>::new());
        assert_eq!(
            parse_flags::<ServerArgs>(&flags(&ServerArgs::default(), true)).unwrap(),
            ServerArgs::default()
        );
    }
}
