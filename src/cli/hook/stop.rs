//! `ccmulti hook stop`: when the agent's turn ends, the locks the edit hook
//! took for it go at once. Nobody waits for a file while its holder waits for
//! its user, or has finished its task; its next edit claims the file again.

use std::process::ExitCode;

use anyhow::Result;
use ccmulti::hook::decide;
use clap::Args;

use super::{EditLease, Identity, locks, read_input, release_each, whoami};
use crate::cli::Common;

#[derive(Debug, Args)]
pub struct StopArgs {
    #[command(flatten)]
    pub(super) identity: Identity,
    #[command(flatten)]
    lease: EditLease,
}

/// Prints nothing and never holds the turn open: a lock it cannot release
/// (in a worktree, a file with uncommitted changes; the coordinator away)
/// stays until it gives way or lapses, as it would have without this hook.
pub fn stop(common: &Common, args: &StopArgs) -> Result<ExitCode> {
    let Some((me, coordinator)) = whoami(&args.identity, common)? else {
        return Ok(ExitCode::SUCCESS);
    };
    // Nothing in the input decides, but what is not a hook's input changes nothing.
    read_input()?;
    if let Ok((holders, _)) = locks(&coordinator) {
        release_each(
            &coordinator,
            decide::at_turn_end(&holders, &me.agent_id, args.lease.lease_seconds),
        );
    }
    Ok(ExitCode::SUCCESS)
}
