//! `ccmulti team prompt` (hidden): gives an agent its first prompt once its
//! claude can use the ccmulti tools. Started in the background in the agent's
//! window, before its claude.
//!
//! Claude Code takes a prompt given on its command line as soon as its input
//! is up, which can be before its MCP client has connected; that first turn
//! then goes out without the ccmulti tools. So the prompt is typed into the
//! window instead, once the coordinator has seen this agent's `tools/list`
//! (its status `ready`, see `rules::lifetimes`) and a moment has passed for
//! Claude Code to take the list in. A claude that never connects (it was
//! told to exit, or waits on a first-run question for longer than `--within`)
//! gets nothing typed; its window says so.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ccmulti::clock::SystemClock;
use ccmulti::rules::lifetimes::{TOOLS_TAKEN_IN, has_listed_tools};
use ccmulti::store::{CoordStore, Durability, SqliteStore};
use ccmulti_model::{SessionAgent, VirtualUser};
use clap::Args;

use super::tmux;
use crate::cli::Common;
use crate::cli::out::errln;

/// Between the prompt's text and its Enter.
const BEFORE_ENTER: Duration = Duration::from_millis(300);
const POLL: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, Args)]
pub struct PromptArgs {
    /// The agent, {user}__session__{session}__{agent}.
    #[arg(long)]
    agent: String,
    /// The prompt's file.
    #[arg(long)]
    file: PathBuf,
    /// The tmux pane its claude runs in.
    #[arg(long)]
    pane: String,
    /// How long to wait for its claude to connect (a person may be answering a first-run question).
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    within: u64,
}

pub fn prompt(common: &Common, args: &PromptArgs) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading the prompt {}", args.file.display()))?;
    let user: VirtualUser = args.agent.parse()?;
    let Some(me) = user.session else {
        bail!("{} names no session agent", args.agent);
    };
    if !wait_until_ready(common, &me, args)? {
        return Ok(ExitCode::FAILURE);
    }
    std::thread::sleep(TOOLS_TAKEN_IN);
    tmux::type_text(&args.pane, text.trim_end())?;
    std::thread::sleep(BEFORE_ENTER);
    tmux::press_enter(&args.pane)?;
    errln!("{}: first prompt given", me.agent_id);
    Ok(ExitCode::SUCCESS)
}

/// Polls the database until the agent is `ready`; `false` (said why) when
/// its window is gone or the time is up.
fn wait_until_ready(common: &Common, me: &SessionAgent, args: &PromptArgs) -> Result<bool> {
    let db = common.db_path()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(args.within);
    let mut store = None;
    loop {
        // The database is the coordinator's: it may not be there at the first look.
        if store.is_none() {
            store = SqliteStore::open_existing(&db, Arc::new(SystemClock), Durability::Normal).ok();
        }
        let ready = store.as_ref().is_some_and(|store| {
            runtime
                .block_on(store_says_ready(store, me))
                .unwrap_or(false)
        });
        if ready {
            return Ok(true);
        }
        if !tmux::has_pane(&args.pane) {
            errln!("{}: its window is gone; no prompt given", me.agent_id);
            return Ok(false);
        }
        if Instant::now() > deadline {
            errln!(
                "{}: its claude did not connect to the coordinator within {} s, so its first prompt was not typed; it is in {}",
                me.agent_id,
                args.within,
                args.file.display()
            );
            return Ok(false);
        }
        std::thread::sleep(POLL);
    }
}

async fn store_says_ready(store: &SqliteStore, me: &SessionAgent) -> Result<bool> {
    let view = CoordStore::session_view(store, &me.session_id).await?;
    Ok(view
        .agents
        .iter()
        .any(|a| a.agent_id == me.agent_id && has_listed_tools(&a.status)))
}
