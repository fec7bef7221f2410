//! What `ccmulti team` decides: the names it derives (the session of a
//! repository, its tmux session, each implementer's branch and worktree
//! directory), the windows a team has, what each window is seen to be doing
//! and what repairing a damaged team does with it.

use std::path::{Path, PathBuf};

use ccmulti_model::{MAX_PART_LEN, PLANNER, check_part};

/// A session id from a repository's directory name: characters a session id
/// may not hold become `-`, so `My App` is `My-App`; nothing usable is `team`.
pub fn default_session(repository_dir: &str) -> String {
    let mut out = String::new();
    for c in repository_dir.chars() {
        // A single `_` is kept; the second of two would make the separator `__`.
        let keep = c.is_ascii_alphanumeric()
            || matches!(c, '.' | '-')
            || (c == '_' && !out.ends_with('_'));
        let c = if keep { c } else { '-' };
        out.push(c);
    }
    let out: String = out
        .trim_matches(|c| c == '-' || c == '_')
        .chars()
        .take(MAX_PART_LEN)
        .collect();
    if check_part("session", &out).is_ok() {
        out
    } else {
        "team".into()
    }
}

/// tmux treats `.` and `:` in a target as window and pane separators.
pub fn tmux_session(session: &str) -> String {
    format!("ccmulti-{}", session.replace(['.', ':'], "_"))
}

/// The branch an implementer's worktree has checked out.
pub fn branch(session: &str, agent: &str) -> String {
    format!("ccmulti/{session}/{agent}")
}

/// The prefix of every branch of a session (`ccmulti team stop` finds them by it).
pub fn branch_prefix(session: &str) -> String {
    format!("ccmulti/{session}/")
}

/// An implementer's worktree: `<dir>/<session>-<agent>`, beside the checkout by
/// default, so that it is neither inside the checkout (the planner's scan
/// would read it) nor hidden away.
pub fn worktree_dir(parent: &Path, session: &str, agent: &str) -> PathBuf {
    parent.join(format!("{session}-{agent}"))
}

/// The window of the coordinator a team runs itself.
pub const COORDINATOR_WINDOW: &str = "coordinator";
/// The dashboard's window.
pub const DASH_WINDOW: &str = "dash";

/// What runs in a window of a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    Coordinator,
    Agent,
    Dashboard,
}

/// A team's windows, in the order they open: the coordinator's when the team
/// runs its own, the planner, the implementers, the dashboard.
pub fn windows(own_coordinator: bool, implementers: &[String]) -> Vec<(String, WindowKind)> {
    let coordinator =
        own_coordinator.then(|| (COORDINATOR_WINDOW.to_owned(), WindowKind::Coordinator));
    coordinator
        .into_iter()
        .chain(std::iter::once((PLANNER.to_owned(), WindowKind::Agent)))
        .chain(implementers.iter().map(|a| (a.clone(), WindowKind::Agent)))
        .chain(std::iter::once((
            DASH_WINDOW.to_owned(),
            WindowKind::Dashboard,
        )))
        .collect()
}

/// What a window of a running team is seen doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// The window is gone.
    Missing,
    /// Its program has ended; the shell left in it (or a dead pane) is all there is.
    Ended,
    /// What the team started in it still runs.
    Running,
}

/// What repairing a team does with one of its windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mend {
    /// It runs: left alone.
    Keep,
    /// Its program ended: started again in the same window, with the same
    /// command and environment.
    Restart,
    /// The window is gone: opened again.
    Reopen,
}

/// What repairing does with a window seen as `seen`. A coordinator window
/// that is gone or ended needs nothing while another coordinator answers for
/// this repository at the team's address (`answers`): the port is taken,
/// and the agents reach that one.
pub fn mend(kind: WindowKind, seen: Seen, answers: bool) -> Mend {
    match (kind, seen) {
        (_, Seen::Running) => Mend::Keep,
        (WindowKind::Coordinator, _) if answers => Mend::Keep,
        (_, Seen::Ended) => Mend::Restart,
        (_, Seen::Missing) => Mend::Reopen,
    }
}

/// What `team status` says of a window.
pub fn describe(kind: WindowKind, seen: Seen) -> &'static str {
    match (kind, seen) {
        (WindowKind::Agent, Seen::Running) => "claude running",
        (WindowKind::Agent, Seen::Ended) => {
            "claude has exited, a shell is left (ccmulti team restarts it; a claude typed there has no ccmulti tools)"
        }
        (WindowKind::Coordinator, Seen::Running) => "coordinator running",
        (WindowKind::Coordinator, Seen::Ended) => {
            "the coordinator has stopped (ccmulti team restarts it)"
        }
        (WindowKind::Dashboard, Seen::Running) => "dashboard running",
        (WindowKind::Dashboard, Seen::Ended) => "the dashboard has ended (ccmulti team reopens it)",
        (_, Seen::Missing) => "missing (ccmulti team reopens it)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_from_any_directory_name() {
        assert_eq!(default_session("myapp"), "myapp");
        assert_eq!(default_session("My App"), "My-App");
        assert_eq!(default_session("a__b"), "a_-b");
        assert_eq!(default_session("_x_"), "x");
        assert_eq!(default_session("日本"), "team");
        assert_eq!(default_session(""), "team");
        assert_eq!(default_session(&"a".repeat(300)).len(), MAX_PART_LEN);
        for s in ["myapp", "My-App", "a_-b", "team"] {
            assert!(check_part("session", s).is_ok(), "{s}");
        }
    }

    #[test]
    fn names_tmux_can_target() {
        assert_eq!(tmux_session("v1.2"), "ccmulti-v1_2");
        assert_eq!(branch("s", "implementer-1"), "ccmulti/s/implementer-1");
        assert!(branch("s", "implementer-1").starts_with(&branch_prefix("s")));
        assert_eq!(
            worktree_dir(Path::new("/home/u"), "app", "implementer-2"),
            Path::new("/home/u/app-implementer-2")
        );
    }

    #[test]
    fn a_team_opens_its_windows_in_order() {
        let implementers = ["implementer-1".to_owned(), "implementer-2".to_owned()];
        let names = |own| -> Vec<String> {
            windows(own, &implementers)
                .into_iter()
                .map(|(n, _)| n)
                .collect()
        };
        assert_eq!(
            names(true),
            [
                "coordinator",
                "planner",
                "implementer-1",
                "implementer-2",
                "dash"
            ]
        );
        assert_eq!(names(false)[0], "planner");
        assert_eq!(
            windows(true, &implementers)
                .iter()
                .map(|(_, k)| *k)
                .collect::<Vec<_>>(),
            [
                WindowKind::Coordinator,
                WindowKind::Agent,
                WindowKind::Agent,
                WindowKind::Agent,
                WindowKind::Dashboard
            ]
        );
    }

    #[test]
    fn repair_keeps_what_runs_and_restarts_or_reopens_the_rest() {
        use Mend::*;
        for kind in [
            WindowKind::Agent,
            WindowKind::Dashboard,
            WindowKind::Coordinator,
        ] {
            assert_eq!(mend(kind, Seen::Running, false), Keep);
            assert_eq!(mend(kind, Seen::Ended, false), Restart);
            assert_eq!(mend(kind, Seen::Missing, false), Reopen);
        }
        // Another coordinator serves the repository at the address: nothing to start.
        assert_eq!(mend(WindowKind::Coordinator, Seen::Missing, true), Keep);
        assert_eq!(mend(WindowKind::Coordinator, Seen::Ended, true), Keep);
        // An agent is restarted whatever answers.
        assert_eq!(mend(WindowKind::Agent, Seen::Ended, true), Restart);
        assert!(describe(WindowKind::Agent, Seen::Ended).contains("ccmulti team restarts it"));
        assert_ne!(
            describe(WindowKind::Agent, Seen::Running),
            describe(WindowKind::Agent, Seen::Ended)
        );
    }
}
