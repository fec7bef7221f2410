//! Names `ccmulti team` derives: the session of a repository, its tmux
//! session, each implementer's branch and worktree directory.

use std::path::{Path, PathBuf};

use ccmulti_model::{MAX_PART_LEN, check_part};

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
}
