//! `ccmulti team` on a team whose tmux session is there: each window as the
//! team's record has it is looked at, and what is gone or has ended is
//! started again, with the same command and environment, the coordinator
//! first; what runs is left alone. A team with nothing to repair is said to
//! run (and attached to), unchanged.

use std::process::ExitCode;

use anyhow::{Result, bail};
use ccmulti::rules::team::{self, Mend, Seen, WindowKind};

use super::coordinator::{self, Found};
use super::files::{self, TeamRecord};
use super::records::place_agents;
use super::start::run_coordinator;
use super::window::WindowCommand;
use super::workspace::{Make, Workplace};
use super::{StartArgs, Team, tmux};
use crate::cli::Common;
use crate::cli::out::outln;

pub fn repair(common: &Common, team: &Team, args: &StartArgs) -> Result<ExitCode> {
    let Some(record) = files::load(&team.dir)?.filter(|r| !r.windows.is_empty()) else {
        bail!(
            "tmux session {} is there, but this ccmulti has no record of how its team was started \
             (in {}): end it with `ccmulti team stop --session {}` (or tmux kill-session -t {}), \
             then run ccmulti team again. Nothing was changed",
            team.tmux,
            team.dir.display(),
            team.session,
            team.tmux
        );
    };
    let seen = tmux::observe(&team.tmux)?;
    let answers = matches!(
        coordinator::probe(&common.public_url(), common.client_token()),
        Ok(ref found @ Found::Ccmulti { .. }) if found.serves(&team.repo.root)
    );
    let plan: Vec<(&WindowCommand, Mend)> = record
        .windows
        .iter()
        .map(|w| {
            let now = seen
                .iter()
                .find(|(name, _)| *name == w.name)
                .map_or(Seen::Missing, |(_, s)| *s);
            (w, team::mend(w.kind, now, answers))
        })
        .collect();
    if plan.iter().all(|(_, mend)| *mend == Mend::Keep) {
        outln!(
            "team {} runs in tmux session {}: every window is as it was started; nothing to repair. \
             (To start it differently: ccmulti team stop --session {}, then ccmulti team.)",
            team.session,
            team.tmux,
            team.session
        );
        super::attach_if_asked(args, &team.tmux)?;
        return Ok(ExitCode::SUCCESS);
    }
    mend_windows(common, team, &record, &plan)?;
    super::attach_if_asked(args, &team.tmux)?;
    Ok(ExitCode::SUCCESS)
}

/// Starts again what needs it, the coordinator first (and waits for it);
/// each agent started again is `starting` until its new claude calls.
fn mend_windows(
    common: &Common,
    team: &Team,
    record: &TeamRecord,
    plan: &[(&WindowCommand, Mend)],
) -> Result<()> {
    let mut order: Vec<&(&WindowCommand, Mend)> = plan.iter().collect();
    order.sort_by_key(|(w, _)| w.kind != WindowKind::Coordinator);
    let agents: Vec<Workplace> = plan
        .iter()
        .filter(|(w, mend)| w.kind == WindowKind::Agent && *mend != Mend::Keep)
        .filter_map(|(w, _)| record.agents.iter().find(|a| a.agent == w.name))
        .map(|a| Workplace {
            agent: a.agent.clone(),
            worktree: a.worktree.clone(),
            dir: a.dir.clone(),
            branch: a.branch.clone(),
            make: Make::Nothing,
        })
        .collect();
    let mut placed = false;
    for (window, mend) in order {
        let what = match (window.kind, *mend) {
            (_, Mend::Keep) => team::describe(window.kind, Seen::Running),
            (WindowKind::Coordinator, how) => {
                run_coordinator(common, team, window, how)?;
                "coordinator started again"
            }
            (WindowKind::Agent, how) => {
                if !placed {
                    place_agents(team, &record.db, &agents.iter().collect::<Vec<_>>())?;
                    placed = true;
                }
                reopen(team, window, how)?;
                "claude started again (without its first prompt: it may have done that work)"
            }
            (WindowKind::Dashboard, how) => {
                reopen(team, window, how)?;
                "dashboard started again"
            }
        };
        outln!("  {:<16} {what}", window.name);
    }
    outln!(
        "team {} repaired in tmux session {} (ccmulti team status shows each window and agent)",
        team.session,
        team.tmux
    );
    Ok(())
}

fn reopen(team: &Team, window: &WindowCommand, mend: Mend) -> Result<()> {
    match mend {
        Mend::Keep => Ok(()),
        Mend::Restart => tmux::respawn(&team.tmux, window),
        Mend::Reopen => tmux::new_window(&team.tmux, window, &window.restart),
    }
}
