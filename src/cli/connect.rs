//! `ccmulti connect`: what to paste into one terminal to join a session as one agent.

use std::process::ExitCode;

use anyhow::{Result, bail};
use ccmulti::rules::virtual_user::check_part;
use clap::Args;
use serde_json::json;

use super::Common;

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Session id shared by all terminals of this piece of work.
    #[arg(long)]
    session: String,
    /// This terminal's agent id; `planner` gets the planning tools.
    #[arg(long)]
    agent: String,
    /// User id that owns the session [default: $USER].
    #[arg(long, env = "USER", default_value = "local")]
    user: String,
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
    let virtual_user = format!("{}__session__{}__{}", args.user, args.session, args.agent);
    let url = format!("{}/mcp/v2/claude/{virtual_user}", common.public_url());
    println!(
        "# In the terminal of agent {:?}, before starting claude:",
        args.agent
    );
    println!("claude mcp add --transport http ccmulti {url}");
    println!();
    println!("# Or as a .mcp.json entry:");
    let entry = json!({ "mcpServers": { "ccmulti": { "type": "http", "url": url } } });
    println!("{}", serde_json::to_string_pretty(&entry)?);
    println!();
    println!("# Several agents in one repository share its Claude Code config, so add the line");
    println!(
        "# in each terminal just before starting that terminal's claude, or use one .mcp.json"
    );
    println!("# whose url ends in ${{CCMULTI_AGENT}} and start each terminal with");
    println!("#   CCMULTI_AGENT={virtual_user} claude");
    Ok(ExitCode::SUCCESS)
}
