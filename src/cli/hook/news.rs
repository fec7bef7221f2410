//! `ccmulti hook news`: at a prompt or after a tool, what changed for the
//! agent since it last looked; at a session's first prompt, a short hold
//! until its claude has the ccmulti tools.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use ccmulti::client::Coordinator;
use ccmulti::hook::decide;
use ccmulti::hook::input::HookInput;
use ccmulti::hook::output;
use ccmulti::rules::lifetimes::TOOLS_TAKEN_IN;
use clap::Args;

use super::{
    Identity, lock_path_of, print, project_roots, read_input, status, whoami, workspace_of,
};
use crate::cli::Common;
use crate::cli::out::errln;

#[derive(Debug, Args)]
pub struct NewsArgs {
    #[command(flatten)]
    pub(super) identity: Identity,
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
                // Listed is not yet offered: Claude Code takes a moment with the answer.
                std::thread::sleep(TOOLS_TAKEN_IN);
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
