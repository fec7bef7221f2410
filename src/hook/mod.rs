//! Claude Code hooks and the git guard: the part of `ccmulti hook ...` that is
//! not I/O. The hooks reach the coordinator through its public MCP endpoint
//! ([`crate::client`]); what they decide and print are plain functions ([`decide`],
//! [`output`]), unit-tested without a coordinator. Formats follow Claude Code's
//! documented hook input and output (`hookSpecificOutput`, `permissionDecision`,
//! `additionalContext`, `systemMessage`).

pub mod decide;
pub mod git_hook;
pub mod input;
pub mod output;
pub mod settings;

/// Quotes a word for `sh` only when it needs it (paths in hook commands).
pub use crate::rules::shell::quote as shell_quote;

/// "7m 12s", "45s", "1h 02m": how long a lock has left, for people and models.
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, min, sec) => format!("{min}m {sec:02}s"),
        (h, min, _) => format!("{h}h {min:02}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(432), "7m 12s");
        assert_eq!(human_duration(3720), "1h 02m");
        assert_eq!(human_duration(-3), "0s");
    }
}
