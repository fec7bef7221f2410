//! What a team leaves in the database (each agent's place, the plan) and in
//! its own record (`team.json`: what `team stop`, `team status` and a repair read).

use std::path::Path;

use anyhow::{Context, Result};
use ccmulti_model::{AgentWorkspace, VirtualUser};

use super::Team;
use super::files::{self, AgentRecord, TeamRecord};
use super::plan::TeamPlan;
use super::window::WindowCommand;
use super::workspace::Workplace;
use crate::cli::Common;
use crate::cli::out::outln;
use crate::cli::plan::recording;
use crate::cli::service::{self, Opening};

pub fn virtual_user(team: &Team, agent: &str) -> VirtualUser {
    VirtualUser::agent(&team.user, &team.session, agent)
}

/// Places each agent of `places` for the dashboard, status `starting` until
/// its claude calls (it is being started).
pub fn place_agents(team: &Team, db: &Path, places: &[&Workplace]) -> Result<()> {
    let store = service::open_at(db, Opening::CreateIfMissing)
        .with_context(|| format!("opening the database {}", db.display()))?;
    service::serve_once(store, async |coord| {
        for place in places {
            let workspace = AgentWorkspace {
                worktree: place.worktree.to_string_lossy().into_owned(),
                branch: place.branch.clone(),
                host: ccmulti::git::this_host(),
            };
            coord
                .set_workspace(&virtual_user(team, &place.agent), &workspace)
                .await?;
        }
        Ok(())
    })
}

/// Records where each agent works, before any of them has called, and the
/// plan (its tasks as planned). Without `register` (`--print`: the terminals
/// are a person's to start, or not) nothing is recorded: an agent shows once
/// it connects, and a plan for a session that runs is not replaced.
pub fn record(plan: &TeamPlan, db: &Path, register: bool) -> Result<()> {
    if !register {
        return Ok(());
    }
    place_agents(&plan.team, db, &plan.places.iter().collect::<Vec<_>>())?;
    let Some(planned) = &plan.planned else {
        return Ok(());
    };
    let store = service::open_at(db, Opening::CreateIfMissing)
        .with_context(|| format!("opening the database {}", db.display()))?;
    let mut planned = planned.clone();
    let kept = service::serve_once(store, async |coord| {
        coord
            .record_plan(&plan.conn, &mut planned)
            .await
            .with_context(|| recording(&plan.conn))
    })?;
    if !kept.is_empty() {
        outln!(
            "kept with the agents that had started them: {}",
            kept.join(", ")
        );
    }
    Ok(())
}

/// The team's record, with every window's command.
pub fn save(common: &Common, plan: &TeamPlan, db: &Path, windows: &[WindowCommand]) -> Result<()> {
    let team = &plan.team;
    files::save(
        &team.dir,
        &TeamRecord {
            session: team.session.clone(),
            user: team.user.clone(),
            tmux_session: team.tmux.clone(),
            root: team.repo.root.clone(),
            addr: common.addr.to_string(),
            db: db.to_owned(),
            agents: plan
                .places
                .iter()
                .map(|p| AgentRecord {
                    agent: p.agent.clone(),
                    dir: p.dir.clone(),
                    worktree: p.worktree.clone(),
                    branch: p.branch.clone(),
                })
                .collect(),
            windows: windows.to_vec(),
        },
    )
}
