//! The `.git/hooks/pre-commit` script `ccmulti install-git-hook` writes, and
//! how to tell it from someone else's hook.

use super::shell_quote;

/// The line that marks a pre-commit hook as ccmulti's.
pub const MARKER: &str = "# ccmulti git guard";

/// The hook `install-git-hook --force` moved aside; the guard still runs it after itself.
pub const PREVIOUS_HOOK: &str = "pre-commit.before-ccmulti";

pub fn pre_commit_script(binary: &str) -> String {
    format!(
        "#!/bin/sh\n{MARKER}: refuses a commit of files another agent of the session holds.\n\
         # Written by `ccmulti install-git-hook`; CCMULTI_GIT_GUARD=off bypasses it.\n\
         {} hook pre-commit || exit $?\n\
         previous=\"$(dirname \"$0\")/{PREVIOUS_HOOK}\"\n\
         if [ -x \"$previous\" ]; then exec \"$previous\" \"$@\"; fi\n",
        shell_quote(binary)
    )
}

/// What an existing hook is, so a foreign one is never overwritten by accident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    Absent,
    /// Ours, exactly as it would be written now.
    Current,
    /// Ours, for another binary path.
    Outdated,
    Foreign,
}

pub fn classify(existing: Option<&str>, binary: &str) -> Existing {
    match existing {
        None => Existing::Absent,
        Some(text) if text == pre_commit_script(binary) => Existing::Current,
        Some(text) if text.lines().any(|l| l.starts_with(MARKER)) => Existing::Outdated,
        Some(_) => Existing::Foreign,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_ours_from_foreign() {
        let script = pre_commit_script("/usr/local/bin/ccmulti");
        assert!(script.contains("\n/usr/local/bin/ccmulti hook pre-commit || exit $?\n"));
        assert!(script.contains("exec \"$previous\" \"$@\""), "{script}");
        assert_eq!(classify(None, "/usr/local/bin/ccmulti"), Existing::Absent);
        assert_eq!(
            classify(Some(&script), "/usr/local/bin/ccmulti"),
            Existing::Current
        );
        assert_eq!(
            classify(Some(&script), "/other/ccmulti"),
            Existing::Outdated
        );
        assert_eq!(
            classify(Some("#!/bin/sh\nnpx lint-staged\n"), "/x"),
            Existing::Foreign
        );
    }
}
