//! `ccmulti connect`: what to paste into one terminal to join a session as one
//! agent: the `claude mcp add` line, the environment the hooks read, and the
//! Claude Code hooks block (`--write` merges it into .claude/settings.json).

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use ccmulti::hook::settings::{self, Merged};
use ccmulti::rules::access::TOKEN_ENV;
use ccmulti_model::check_part;
use ccmulti_planner::Connection;
use clap::Args;

use super::Common;
use super::args::ServeArgs;
use super::install::this_binary;
use crate::cli::out::outln;

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Session id shared by all terminals of this piece of work.
    #[arg(long)]
    session: String,
    /// This terminal's agent id; `planner` gets the planning tools.
    #[arg(long)]
    agent: String,
    /// User id that owns the session.
    #[arg(long, env = "USER", default_value = "local")]
    user: String,
    /// Merge the hooks block into .claude/settings.json under --root (keeps what is there).
    #[arg(long)]
    write: bool,
    #[command(flatten)]
    pub serve: ServeArgs,
}

pub fn connect(common: &Common, args: &ConnectArgs) -> Result<ExitCode> {
    for (name, part) in [
        ("user", &args.user),
        ("session", &args.session),
        ("agent", &args.agent),
    ] {
        if let Err(problem) = check_part(name, part) {
            bail!("{problem}; use 1 to 128 characters of A-Z a-z 0-9 . _ - (no double underscore)");
        }
    }
    let conn = Connection {
        public_url: common.public_url(),
        user_id: args.user.clone(),
        session_id: args.session.clone(),
        auth_header: common.client_auth_header(),
    };
    let virtual_user = conn.virtual_user(&args.agent);
    let binary = this_binary()?;
    outln!(
        "# In the terminal of agent {:?}, before starting claude:",
        args.agent
    );
    outln!("{}", conn.claude_mcp_add(&args.agent));
    outln!("export CCMULTI_AGENT={virtual_user}");
    outln!("export CCMULTI_ADDR={}", common.addr);
    if conn.auth_header.is_some() {
        // The secret is never printed: it would stay in the scrollback.
        outln!(
            "# The coordinator wants its token: this terminal needs {TOKEN_ENV} set to it (claude's header and the hooks read it)."
        );
    }
    outln!();
    outln!("# Or as a .mcp.json entry:");
    let entry = conn.mcp_json(&conn.url(&args.agent));
    outln!("{}", serde_json::to_string_pretty(&entry)?);
    outln!();
    outln!("# Several agents in one repository share its Claude Code config, so add the line");
    outln!("# in each terminal just before starting that terminal's claude, or use one .mcp.json");
    outln!("# whose url ends in ${{CCMULTI_AGENT}} and start each terminal with");
    outln!("#   CCMULTI_AGENT={virtual_user} claude");
    outln!();
    outln!(
        "# Hooks for .claude/settings.json (the same for every agent; they read CCMULTI_AGENT and do nothing without it):"
    );
    outln!(
        "{}",
        serde_json::to_string_pretty(&settings::hooks_block(&binary))?
    );
    if args.write {
        write_settings(common, &binary)?;
    } else {
        outln!(
            "# ccmulti connect ... --write merges them into .claude/settings.json under --root."
        );
    }
    outln!("# Git guard for commits: ccmulti install-git-hook");
    Ok(ExitCode::SUCCESS)
}

fn write_settings(common: &Common, binary: &str) -> Result<()> {
    let dir = common.root()?.join(".claude");
    let file = dir.join("settings.json");
    let existing = match std::fs::read_to_string(&file) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
    };
    match settings::merge(&file.display().to_string(), existing.as_deref(), binary)? {
        Merged::Unchanged => outln!(
            "# {} already has the ccmulti hooks; unchanged",
            file.display()
        ),
        Merged::Changed(text) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            // Written beside it and renamed, so a crash never leaves half a settings file.
            let partial = dir.join("settings.json.ccmulti-partial");
            std::fs::write(&partial, text)
                .with_context(|| format!("writing {}", partial.display()))?;
            std::fs::rename(&partial, &file)
                .with_context(|| format!("replacing {}", file.display()))?;
            outln!("# merged the ccmulti hooks into {}", file.display());
        }
    }
    Ok(())
}
