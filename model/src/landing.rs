//! Whether an agent's branch has landed: for an agent working in a git
//! worktree of its own, how many commits of its branch the branch the
//! team's work lands in (the one checked out in the repository's main
//! worktree, where `ccmulti team land` merges) does not have yet.

/// Where the branch of an agent in a worktree of its own stands against the
/// branch the team's work lands in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchLanding {
    /// The agent's branch, without `refs/heads/`.
    pub branch: String,
    /// The branch it lands in: the one checked out in the main worktree.
    pub base: String,
    pub state: LandingState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LandingState {
    /// Every commit of the branch is in the base branch.
    Landed,
    /// This many commits of the branch are not in the base branch.
    NotLanded { commits: u64 },
    /// The repository has no branch of that name (deleted, or never made).
    NoBranch,
}

impl BranchLanding {
    /// As a person reads it: `3 commits not landed in main`, `landed in
    /// main`, `no branch ccmulti/s/impl-1 in the repository`.
    pub fn describe(&self) -> String {
        match self.state {
            LandingState::Landed => format!("landed in {}", self.base),
            LandingState::NotLanded { commits } => format!(
                "{commits} commit{} not landed in {}",
                if commits == 1 { "" } else { "s" },
                self.base
            ),
            LandingState::NoBranch => format!("no branch {} in the repository", self.branch),
        }
    }

    /// Whether it holds work the base branch lacks, or cannot be found:
    /// what a person should look at.
    pub fn needs_attention(&self) -> bool {
        self.state != LandingState::Landed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn landing(state: LandingState) -> BranchLanding {
        BranchLanding {
            branch: "ccmulti/s/impl-1".into(),
            base: "main".into(),
            state,
        }
    }

    #[test]
    fn each_state_reads_as_a_sentence() {
        assert_eq!(landing(LandingState::Landed).describe(), "landed in main");
        assert_eq!(
            landing(LandingState::NotLanded { commits: 1 }).describe(),
            "1 commit not landed in main"
        );
        assert_eq!(
            landing(LandingState::NotLanded { commits: 3 }).describe(),
            "3 commits not landed in main"
        );
        assert_eq!(
            landing(LandingState::NoBranch).describe(),
            "no branch ccmulti/s/impl-1 in the repository"
        );
        assert!(!landing(LandingState::Landed).needs_attention());
        assert!(landing(LandingState::NoBranch).needs_attention());
    }
}
