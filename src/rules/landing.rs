//! Whether an agent's branch has landed, decided on what git said: which
//! agents have a branch of their own to land ([`own_branches`]), and what
//! the commits git counted make of each ([`decide`]). `crate::landing`
//! asks git; `ccmulti team status` and the dashboard show the answers.
//!
//! Agents sharing one checkout have nothing of their own to land, and an
//! agent on another machine has its branch in another clone: neither is
//! asked about.

use ccmulti_model::snapshot::AgentRow;
use ccmulti_model::{BranchLanding, LandingState};

use crate::rules::handover::is_own;

/// An agent's branch, checked out in a worktree of its own on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnBranch {
    pub session_id: String,
    pub agent_id: String,
    /// Its worktree, as recorded (it may since have been removed).
    pub worktree: String,
    pub branch: String,
}

/// An agent's branch and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentLanding {
    pub session_id: String,
    pub agent_id: String,
    pub landing: BranchLanding,
}

/// The agents of `agents` with a branch of their own to land: a worktree no
/// other agent of their session shares, on a branch (not a detached HEAD),
/// on this machine (`this_host`; a workspace that does not name its machine
/// is taken as this one's).
pub fn own_branches(agents: &[AgentRow], this_host: Option<&str>) -> Vec<OwnBranch> {
    agents
        .iter()
        .filter_map(|a| {
            let workspace = a.workspace.as_ref()?;
            let branch = workspace.branch.as_ref()?;
            if let (Some(theirs), Some(ours)) = (workspace.host.as_deref(), this_host)
                && theirs != ours
            {
                return None;
            }
            let others = agents
                .iter()
                .filter(|o| o.session_id == a.session_id && o.agent_id != a.agent_id)
                .filter_map(|o| o.workspace.as_ref());
            is_own(workspace, others).then(|| OwnBranch {
                session_id: a.session_id.clone(),
                agent_id: a.agent_id.clone(),
                worktree: workspace.worktree.clone(),
                branch: branch.clone(),
            })
        })
        .collect()
}

/// What git's count makes of `own`'s branch against `base`: `ahead` is how
/// many of its commits `base` lacks, `None` when the repository has no such
/// branch. The base branch's own checkout (a planner alone in the main
/// checkout) has nothing to land into itself: `None`.
pub fn decide(own: &OwnBranch, base: &str, ahead: Option<u64>) -> Option<AgentLanding> {
    if own.branch == base {
        return None;
    }
    let state = match ahead {
        None => LandingState::NoBranch,
        Some(0) => LandingState::Landed,
        Some(commits) => LandingState::NotLanded { commits },
    };
    Some(AgentLanding {
        session_id: own.session_id.clone(),
        agent_id: own.agent_id.clone(),
        landing: BranchLanding {
            branch: own.branch.clone(),
            base: base.to_owned(),
            state,
        },
    })
}

/// Gives each agent of `agents` where its branch stands, from `found`; an
/// answer about a branch the agent is no longer on (it switched since git
/// was asked) is left out rather than shown against the new one.
pub fn attach(agents: &mut [AgentRow], found: &[AgentLanding]) {
    for agent in agents.iter_mut() {
        let on = agent.workspace.as_ref().and_then(|w| w.branch.as_deref());
        agent.landing = found
            .iter()
            .find(|f| {
                f.session_id == agent.session_id
                    && f.agent_id == agent.agent_id
                    && Some(f.landing.branch.as_str()) == on
            })
            .map(|f| f.landing.clone());
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ccmulti_model::{AgentWorkspace, Role};

    /// An agent of `session` placed in `worktree`, its machine unnamed.
    pub(crate) fn agent(session: &str, id: &str, worktree: &str, branch: Option<&str>) -> AgentRow {
        AgentRow {
            session_id: session.into(),
            agent_id: id.into(),
            role: Role::Implementer,
            status: "connected".into(),
            last_activity_ms: 0,
            current_task: None,
            lock_count: 0,
            workspace: Some(AgentWorkspace {
                worktree: worktree.into(),
                branch: branch.map(Into::into),
                host: None,
            }),
            pending_handovers: Vec::new(),
            landing: None,
        }
    }

    fn names(own: &[OwnBranch]) -> Vec<&str> {
        own.iter().map(|o| o.agent_id.as_str()).collect()
    }

    #[test]
    fn only_agents_on_a_branch_of_a_worktree_of_their_own_are_asked() {
        let mut shared = agent("s", "shared-2", "/repo", Some("main"));
        shared.role = Role::Planner;
        let agents = vec![
            agent("s", "planner", "/repo", Some("main")),
            shared,
            agent("s", "impl-1", "/wt/impl-1", Some("ccmulti/s/impl-1")),
            agent("s", "detached", "/wt/detached", None),
            AgentRow {
                workspace: None,
                ..agent("s", "nowhere", "", None)
            },
            // Another session's agent in the same directory does not share it.
            agent("t", "alone", "/repo", Some("main")),
        ];
        assert_eq!(
            names(&own_branches(&agents, Some("box"))),
            ["impl-1", "alone"]
        );
    }

    #[test]
    fn an_agent_on_another_machine_is_not_asked() {
        let mut there = agent("s", "impl-2", "/wt/impl-2", Some("b2"));
        if let Some(w) = there.workspace.as_mut() {
            w.host = Some("other".into());
        }
        let mut here = agent("s", "impl-1", "/wt/impl-1", Some("b1"));
        if let Some(w) = here.workspace.as_mut() {
            w.host = Some("box".into());
        }
        let agents = vec![here, there];
        assert_eq!(names(&own_branches(&agents, Some("box"))), ["impl-1"]);
        // Where this machine's name cannot be read, every recorded one is taken as here.
        assert_eq!(names(&own_branches(&agents, None)), ["impl-1", "impl-2"]);
    }

    fn own(branch: &str) -> OwnBranch {
        OwnBranch {
            session_id: "s".into(),
            agent_id: "impl-1".into(),
            worktree: "/wt/impl-1".into(),
            branch: branch.into(),
        }
    }

    #[test]
    fn the_count_decides_the_state_and_the_base_lands_nowhere() {
        let state = |ahead| decide(&own("b"), "main", ahead).map(|f| f.landing.state);
        assert_eq!(state(Some(0)), Some(LandingState::Landed));
        assert_eq!(state(Some(4)), Some(LandingState::NotLanded { commits: 4 }));
        assert_eq!(state(None), Some(LandingState::NoBranch));
        assert_eq!(decide(&own("main"), "main", Some(0)), None);
    }

    #[test]
    fn an_answer_for_a_branch_the_agent_left_is_not_shown() {
        let found = vec![decide(&own("b"), "main", Some(2)).expect("a landing")];
        let mut agents = vec![agent("s", "impl-1", "/wt/impl-1", Some("b"))];
        attach(&mut agents, &found);
        assert_eq!(
            agents[0].landing.as_ref().map(|l| l.state),
            Some(LandingState::NotLanded { commits: 2 })
        );
        let mut moved = vec![agent("s", "impl-1", "/wt/impl-1", Some("other"))];
        attach(&mut moved, &found);
        assert_eq!(moved[0].landing, None);
    }
}
