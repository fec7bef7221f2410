//! Landing looked up in a real repository with real worktrees.

use std::path::Path;

use ccmulti_model::{BranchLanding, LandingState};

use super::*;
use crate::git::tests::Repo;

fn agent(id: &str, worktree: &Path, branch: &str) -> AgentRow {
    let mut agent =
        crate::rules::landing::tests::agent("s", id, &worktree.to_string_lossy(), Some(branch));
    if let Some(w) = agent.workspace.as_mut() {
        w.host = git::this_host();
    }
    agent
}

fn states(found: &[AgentLanding]) -> Vec<(&str, LandingState)> {
    found
        .iter()
        .map(|f| (f.agent_id.as_str(), f.landing.state))
        .collect()
}

#[test]
fn each_own_branch_is_counted_against_the_main_checkouts_branch() {
    let repo = Repo::new(&[("app.py", "a = 1\n")]);
    let ahead = repo.worktree("impl-1");
    let merged = repo.worktree("impl-2");
    let removed = repo.worktree("impl-3");
    let deleted = repo.worktree("impl-4");
    let shared = repo.worktree("pair");
    for (n, tree) in [&ahead, &ahead, &merged, &removed, &deleted, &shared]
        .iter()
        .enumerate()
    {
        repo.write(tree, &[(&format!("f{n}.py"), "x = 1\n")]);
        repo.commit(tree, &format!("work {n}"));
    }
    repo.git(&repo.top, &["merge", "-q", "--no-edit", "impl-2"]);
    // Removed by `git worktree remove` (its branch stays) and by hand.
    repo.git(
        &repo.top,
        &["worktree", "remove", &removed.to_string_lossy()],
    );
    std::fs::remove_dir_all(&deleted).expect("remove a worktree by hand");
    repo.git(&repo.top, &["worktree", "prune"]);
    repo.git(&repo.top, &["branch", "-D", "impl-4"]);

    let agents = vec![
        // Alone in the main checkout, on the branch everything lands in.
        agent("planner", &repo.top, "main"),
        agent("impl-1", &ahead, "impl-1"),
        agent("impl-2", &merged, "impl-2"),
        agent("impl-3", &removed, "impl-3"),
        agent("impl-4", &deleted, "impl-4"),
        // Two agents in one checkout have no branch of their own.
        agent("pair-a", &shared, "pair"),
        agent("pair-b", &shared, "pair"),
    ];
    let found = of_agents(&repo.top, &agents);
    assert_eq!(
        states(&found),
        [
            ("impl-1", LandingState::NotLanded { commits: 2 }),
            ("impl-2", LandingState::Landed),
            ("impl-3", LandingState::NotLanded { commits: 1 }),
            ("impl-4", LandingState::NoBranch),
        ]
    );
    assert_eq!(
        found[0].landing,
        BranchLanding {
            branch: "impl-1".into(),
            base: "main".into(),
            state: LandingState::NotLanded { commits: 2 },
        }
    );
    assert_eq!(found[0].landing.describe(), "2 commits not landed in main");

    // Landing it (as `team land` does) is seen on the next look, from any
    // directory of the repository.
    repo.git(&repo.top, &["merge", "-q", "--no-edit", "impl-1"]);
    let again = of_agents(&merged, &agents[1..2]);
    assert_eq!(states(&again), [("impl-1", LandingState::Landed)]);
}

#[test]
fn nothing_is_said_where_git_cannot_answer() {
    let repo = Repo::new(&[("app.py", "a = 1\n")]);
    let tree = repo.worktree("impl-1");
    repo.write(&tree, &[("b.py", "b = 1\n")]);
    repo.commit(&tree, "b");
    let agents = vec![agent("impl-1", &tree, "impl-1")];

    // A main checkout on a detached HEAD has no branch to land in.
    repo.git(&repo.top, &["switch", "-q", "--detach"]);
    assert_eq!(of_agents(&repo.top, &agents), []);
    repo.git(&repo.top, &["switch", "-q", "main"]);

    // A removed worktree, asked from a directory outside any repository.
    repo.git(&repo.top, &["worktree", "remove", &tree.to_string_lossy()]);
    let elsewhere = tempfile::tempdir().expect("tempdir");
    assert_eq!(of_agents(elsewhere.path(), &agents), []);
    assert_eq!(
        states(&of_agents(&repo.top, &agents)),
        [("impl-1", LandingState::NotLanded { commits: 1 })]
    );
}
