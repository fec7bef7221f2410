//! Planning a team, before anything is checked against what runs or made:
//! who is in it, where each agent works, and what each is told first. The
//! tasks, when given, are planned here, by the planner's one call.

use std::path::Path;

use anyhow::{Context, Result};
use ccmulti_model::PLANNER;
use ccmulti_planner::{Connection, Plan, PlanRequest, TaskInput};

use super::workspace::{self, Workplace};
use super::{DEFAULT_IMPLEMENTERS, StartArgs, Team, check_parts};
use crate::cli::Common;
use crate::cli::plan::{parse_tasks, read_tasks};

/// A team as it is to be.
pub struct TeamPlan {
    pub team: Team,
    pub conn: Connection,
    pub planned: Option<Plan>,
    /// Every agent and where it works, the planner first.
    pub places: Vec<Workplace>,
}

impl TeamPlan {
    pub fn implementers(&self) -> Vec<String> {
        self.places
            .iter()
            .skip(1)
            .map(|p| p.agent.clone())
            .collect()
    }

    /// What `agent` is told first: with a plan, the planner its overview and
    /// each implementer its own tasks; without one, nothing.
    pub fn first_prompt(&self, agent: &str) -> Option<String> {
        let planned = self.planned.as_ref()?;
        if agent == PLANNER {
            return Some(overview(&self.team.session, planned));
        }
        planned
            .distribution
            .agents
            .iter()
            .find(|a| a.agent_id == agent)
            .map(|a| a.prompt.clone())
    }
}

/// Plans the team `args` describe: its tasks (read and planned), its
/// implementers, and each agent's place (checked against the repository).
pub fn plan(common: &Common, args: &StartArgs, team: Team) -> Result<TeamPlan> {
    let conn = team.connection(common);
    let tasks = match (&args.tasks, &args.message) {
        (Some(file), _) => Some(read_tasks(Some(file))?),
        (None, Some(message)) => Some(parse_tasks(message)?),
        (None, None) => None,
    };
    let planned = tasks.map(|t| plan_tasks(&team, &conn, t, args.agents));
    let implementers: Vec<String> = match &planned {
        Some(p) => p
            .distribution
            .agents
            .iter()
            .map(|a| a.agent_id.clone())
            .collect(),
        None => (1..=usize::from(args.agents.unwrap_or(DEFAULT_IMPLEMENTERS)))
            .map(ccmulti_planner::agent_id)
            .collect(),
    };
    let names: Vec<(&str, &str)> = implementers.iter().map(|a| ("agent", a.as_str())).collect();
    check_parts(&names)?;
    let workplaces: Vec<Workplace> = if args.worktrees {
        let parent = match &args.worktree_dir {
            Some(d) => d.clone(),
            None => team.repo.top.parent().map(Path::to_owned).context(
                "the checkout has no parent directory for worktrees; pass --worktree-dir",
            )?,
        };
        workspace::plan(
            &team.repo,
            &team.session,
            &implementers,
            &parent,
            &args.base,
        )?
    } else {
        implementers
            .iter()
            .map(|a| workspace::in_checkout(&team.repo, a))
            .collect()
    };
    let places = std::iter::once(workspace::in_checkout(&team.repo, PLANNER))
        .chain(workplaces)
        .collect();
    Ok(TeamPlan {
        team,
        conn,
        planned,
        places,
    })
}

/// The planner's one call: the tasks analysed against the repository and
/// dealt to `agents` implementers (the analysis's recommendation without
/// it); drafted before anything is made, recorded with the rest
/// (`Coordinator::record_plan`).
fn plan_tasks(team: &Team, conn: &Connection, tasks: Vec<TaskInput>, agents: Option<u8>) -> Plan {
    let request = PlanRequest {
        agents: agents.map(usize::from),
        ..PlanRequest::new(team.repo.root.clone(), tasks)
    };
    ccmulti_planner::plan(&request, conn)
}

/// What the planner is told when it starts with a plan.
fn overview(session: &str, planned: &Plan) -> String {
    let mut text = format!(
        "You are the planner of ccmulti session {session}. The tasks are planned and dealt; \
         each implementer started with its own:\n"
    );
    for a in &planned.distribution.agents {
        text.push_str(&format!("\n{}:\n", a.agent_id));
        for t in &a.tasks {
            let description = planned
                .analysis
                .task(&t.task_id)
                .map_or("", |x| x.description.as_str());
            text.push_str(&format!("  - {} {description}\n", t.task_id));
        }
    }
    for note in &planned.distribution.notes {
        text.push_str(&format!("\nNote: {note}\n"));
    }
    text.push_str(
        "\nFollow their progress with check_agent_status, help where one is blocked, \
         and re-plan with analyze_task_conflicts and create_task_distribution if the work changes. \
         Do not edit files an implementer holds.",
    );
    text
}
