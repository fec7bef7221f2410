//! What the hooks decide, from what the coordinator answered: plain functions
//! over plain types, so every verdict and every message is unit-tested.

use ccmulti_model::Operation;
use ccmulti_model::tools::{ClaimResult, StatusResult};

use super::human_duration;
use crate::rules::targets::LockTarget;

/// What `hook pre-tool` and `hook pre-commit` do when they get no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OfflinePolicy {
    /// Let the edit or commit through, with a warning.
    #[default]
    Allow,
    /// Refuse it until the coordinator answers.
    Deny,
}

/// A lock another agent holds, as a conflict or `check_agent_status` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub path: String,
    pub agent_id: String,
    pub operation: Operation,
    pub seconds_left: i64,
}

impl Holder {
    /// `write` and `delete` are exclusive: nobody else may change the file.
    /// A `read` lock is shared and does not stop an edit.
    pub fn excludes_edits(&self) -> bool {
        !self.operation.is_shared()
    }

    fn describe(&self) -> String {
        format!(
            "{} ({}, {} left)",
            self.agent_id,
            self.operation.as_str(),
            human_duration(self.seconds_left)
        )
    }
}

/// `claim_file_lock`'s answer for one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimAnswer {
    Granted { renewed: bool, seconds_left: i64 },
    Conflicted(Vec<Holder>),
}

/// Reads `claim_file_lock`'s result for the one path claimed.
pub fn claim_answer(result: ClaimResult) -> Result<ClaimAnswer, String> {
    if result.success {
        let lock = result
            .locks
            .first()
            .ok_or("a granted claim lists no lock")?;
        return Ok(ClaimAnswer::Granted {
            renewed: lock.renewed,
            seconds_left: lock.expires_in_seconds,
        });
    }
    if result.conflicts.is_empty() {
        return Err("a refused claim lists no conflicts".into());
    }
    Ok(ClaimAnswer::Conflicted(
        result
            .conflicts
            .into_iter()
            .map(|c| Holder {
                path: c.path,
                agent_id: c.holder,
                operation: c.operation,
                seconds_left: c.seconds_left,
            })
            .collect(),
    ))
}

/// The live locks `check_agent_status` lists.
pub fn status_locks(status: StatusResult) -> Vec<Holder> {
    status
        .locks
        .into_iter()
        .map(|l| Holder {
            path: l.path,
            agent_id: l.agent_id,
            operation: l.operation,
            seconds_left: l.expires_in_seconds,
        })
        .collect()
}

/// The news lines `check_agent_status` tells.
pub fn status_news(status: StatusResult) -> Vec<String> {
    status
        .news
        .unwrap_or_default()
        .into_iter()
        .map(|n| n.message)
        .collect()
}

/// What `hook pre-tool` tells Claude Code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No objection: Claude Code's own permission rules decide as usual.
    /// `context`, if any, is told to the model.
    Allow { context: Option<String> },
    /// No objection, but the user is warned and the model told why.
    Warn { user: String, context: String },
    /// The edit is refused; the reason is shown to the model.
    Deny { reason: String },
}

/// The edit being decided.
#[derive(Debug, Clone, Copy)]
pub struct Edit<'a> {
    /// Normalised, relative to the project root.
    pub path: &'a str,
    pub agent: &'a str,
    pub session: &'a str,
}

fn deny_held(edit: Edit<'_>, holders: &[&Holder]) -> Verdict {
    let who: Vec<String> = holders.iter().map(|h| h.describe()).collect();
    Verdict::Deny {
        reason: format!(
            "ccmulti: {} is locked by {} in session {}; do not edit it now. Meanwhile work on something else, \
             call check_agent_status to see who holds what, or call claim_file_lock with wait_seconds to wait until it is free, then edit.",
            edit.path,
            who.join(", "),
            edit.session
        ),
    }
}

/// Shared readers do not stop an edit, but the model should know they are there.
fn readers_note(edit: Edit<'_>, readers: &[&Holder]) -> Option<String> {
    (!readers.is_empty()).then(|| {
        let who: Vec<&str> = readers.iter().map(|h| h.agent_id.as_str()).collect();
        format!(
            "ccmulti: {} is read-locked by {}, so no write lock was taken for you; the edit goes ahead.",
            edit.path,
            who.join(", ")
        )
    })
}

/// With auto-claim: the answer to claiming a write lock on the file for this agent.
pub fn after_claim(edit: Edit<'_>, answer: &ClaimAnswer) -> Verdict {
    match answer {
        ClaimAnswer::Granted { renewed: true, .. } => Verdict::Allow { context: None },
        ClaimAnswer::Granted { seconds_left, .. } => Verdict::Allow {
            context: Some(format!(
                "ccmulti: claimed a write lock on {} for you before this edit; each edit of the file renews it, and it lapses {} after your last one, so nobody waits for it once you move on.",
                edit.path,
                human_duration(*seconds_left)
            )),
        },
        ClaimAnswer::Conflicted(holders) => {
            let (exclusive, readers): (Vec<&Holder>, Vec<&Holder>) =
                holders.iter().partition(|h| h.excludes_edits());
            if exclusive.is_empty() {
                Verdict::Allow {
                    context: readers_note(edit, &readers),
                }
            } else {
                deny_held(edit, &exclusive)
            }
        }
    }
}

/// Without auto-claim: the session's live locks decide.
pub fn from_locks(edit: Edit<'_>, locks: &[Holder]) -> Verdict {
    let file = LockTarget::File(edit.path.to_owned());
    let others: Vec<&Holder> = locks
        .iter()
        .filter(|l| l.agent_id != edit.agent && LockTarget::parse(&l.path).overlaps(&file))
        .collect();
    let (exclusive, _readers): (Vec<&Holder>, Vec<&Holder>) =
        others.into_iter().partition(|h| h.excludes_edits());
    if exclusive.is_empty() {
        Verdict::Allow { context: None }
    } else {
        deny_held(edit, &exclusive)
    }
}

/// The coordinator answered but refused the check (say, a session owned by
/// another user): it is up, so the offline policy does not apply; say why.
pub fn refused(edit: Edit<'_>, why: &str) -> Verdict {
    Verdict::Warn {
        user: format!(
            "ccmulti: {why}; {} is edited without a lock check. Check this terminal's CCMULTI_AGENT.",
            edit.path
        ),
        context: format!(
            "ccmulti could not check the lock on {} ({why}); other agents may be editing it.",
            edit.path
        ),
    }
}

/// No answer from the coordinator (`why` says what happened).
pub fn unanswered(edit: Edit<'_>, policy: OfflinePolicy, why: &str) -> Verdict {
    match policy {
        OfflinePolicy::Allow => Verdict::Warn {
            user: format!(
                "ccmulti: {why}; {} is edited without a lock check. Start ccmulti, or set CCMULTI_HOOK_OFFLINE=deny to refuse edits meanwhile.",
                edit.path
            ),
            context: format!(
                "ccmulti could not check the lock on {} ({why}); other agents may be editing it.",
                edit.path
            ),
        },
        OfflinePolicy::Deny => Verdict::Deny {
            reason: format!(
                "ccmulti: {why}, and this hook refuses edits it cannot check (CCMULTI_HOOK_OFFLINE=deny). \
                 Ask the user to start ccmulti; meanwhile work on something that needs no edit."
            ),
        },
    }
}

/// Staged files (normalised) that another agent holds for write or delete.
pub fn staged_conflicts<'a>(
    staged: &[String],
    agent: &str,
    locks: &'a [Holder],
) -> Vec<&'a Holder> {
    let staged: Vec<LockTarget> = staged.iter().cloned().map(LockTarget::File).collect();
    locks
        .iter()
        .filter(|l| l.agent_id != agent && l.excludes_edits())
        .filter(|l| {
            let held = LockTarget::parse(&l.path);
            staged.iter().any(|f| held.overlaps(f))
        })
        .collect()
}

/// The git guard's refusal, naming each file, its holder and the time left.
pub fn commit_refusal(session: &str, blocked: &[&Holder]) -> String {
    let mut text = format!(
        "ccmulti git guard: commit refused; other agents of session {session} hold staged files:\n"
    );
    for h in blocked {
        text.push_str(&format!("  {}  held by {}\n", h.path, h.describe()));
    }
    text.push_str(
        "Unstage them (git restore --staged FILE) or wait until they are released; CCMULTI_GIT_GUARD=off bypasses this check.",
    );
    text
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// A result as the coordinator sends it.
    fn claim_result(content: Value) -> ClaimResult {
        serde_json::from_value(content).expect("a claim_file_lock result")
    }

    const EDIT: Edit<'static> = Edit {
        path: "src/cart.rs",
        agent: "impl_a",
        session: "s1",
    };

    fn holder(agent: &str, operation: &str) -> Holder {
        Holder {
            path: "src/cart.rs".into(),
            agent_id: agent.into(),
            operation: Operation::parse(operation).expect("an operation"),
            seconds_left: 432,
        }
    }

    #[test]
    fn a_file_held_for_write_is_denied_with_what_to_do() {
        let answer = claim_answer(claim_result(json!({
            "success": false,
            "conflicts": [{ "path": "src/cart.rs", "held_path": "src/cart.rs", "holder": "impl_b", "operation": "write", "seconds_left": 432 }]
        })))
        .unwrap();
        let Verdict::Deny { reason } = after_claim(EDIT, &answer) else {
            panic!("expected a denial");
        };
        assert_eq!(
            reason,
            "ccmulti: src/cart.rs is locked by impl_b (write, 7m 12s left) in session s1; do not edit it now. \
             Meanwhile work on something else, call check_agent_status to see who holds what, \
             or call claim_file_lock with wait_seconds to wait until it is free, then edit."
        );
    }

    #[test]
    fn a_fresh_claim_is_told_and_a_renewal_is_silent() {
        let granted = claim_answer(claim_result(json!({
            "success": true, "operation": "write",
            "locks": [{ "path": "src/cart.rs", "lock_id": "l1", "fencing_token": 7, "expires_at": "2026-11-29T12:00:30Z", "renewed": false, "expires_in_seconds": 30 }]
        })))
        .unwrap();
        assert_eq!(
            after_claim(EDIT, &granted),
            Verdict::Allow {
                context: Some("ccmulti: claimed a write lock on src/cart.rs for you before this edit; each edit of the file renews it, and it lapses 30s after your last one, so nobody waits for it once you move on.".into())
            }
        );
        let renewed = ClaimAnswer::Granted {
            renewed: true,
            seconds_left: 900,
        };
        assert_eq!(
            after_claim(EDIT, &renewed),
            Verdict::Allow { context: None }
        );
    }

    #[test]
    fn readers_do_not_stop_an_edit() {
        let answer = ClaimAnswer::Conflicted(vec![holder("impl_c", "read")]);
        let Verdict::Allow {
            context: Some(note),
        } = after_claim(EDIT, &answer)
        else {
            panic!("expected an allow with a note");
        };
        assert!(note.contains("read-locked by impl_c"), "{note}");
        assert_eq!(
            from_locks(EDIT, &[holder("impl_c", "read"), holder("impl_a", "write")]),
            Verdict::Allow { context: None }
        );
        assert!(matches!(
            from_locks(EDIT, &[holder("impl_b", "delete")]),
            Verdict::Deny { .. }
        ));
    }

    #[test]
    fn no_answer_warns_or_denies_as_configured() {
        let why = "the coordinator is not reachable at http://127.0.0.1:9/mcp/v2/claude/x: refused";
        assert!(matches!(
            unanswered(EDIT, OfflinePolicy::Allow, why),
            Verdict::Warn { .. }
        ));
        let Verdict::Deny { reason } = unanswered(EDIT, OfflinePolicy::Deny, why) else {
            panic!("expected a denial");
        };
        assert!(reason.contains("CCMULTI_HOOK_OFFLINE=deny"), "{reason}");
    }

    #[test]
    fn the_git_guard_names_file_holder_and_time_left() {
        let locks = vec![
            holder("impl_b", "write"),
            Holder {
                path: "src/mine.rs".into(),
                ..holder("impl_a", "write")
            },
            Holder {
                path: "README.md".into(),
                ..holder("impl_c", "read")
            },
        ];
        let staged = vec![
            "src/cart.rs".to_string(),
            "src/mine.rs".into(),
            "README.md".into(),
        ];
        let blocked = staged_conflicts(&staged, "impl_a", &locks);
        assert_eq!(blocked.len(), 1);
        let text = commit_refusal("s1", &blocked);
        assert!(
            text.contains("src/cart.rs  held by impl_b (write, 7m 12s left)"),
            "{text}"
        );
        assert!(text.contains("CCMULTI_GIT_GUARD=off"), "{text}");
    }

    #[test]
    fn a_refusal_is_told_as_such_even_under_the_deny_policy() {
        let edit = Edit {
            path: "src/a.rs",
            agent: "impl_a",
            session: "s1",
        };
        let Verdict::Warn { user, .. } = refused(
            edit,
            "the coordinator refused claim_file_lock: session \"s1\" belongs to another user",
        ) else {
            panic!("a refusal warns");
        };
        assert!(
            user.contains("belongs to another user") && !user.contains("Start ccmulti"),
            "{user}"
        );
    }

    #[test]
    fn directory_and_glob_locks_cover_the_files_under_them() {
        let locks = vec![
            Holder {
                path: "src/api/".into(),
                ..holder("impl_b", "write")
            },
            Holder {
                path: "docs/**/*.md".into(),
                ..holder("impl_c", "delete")
            },
        ];
        let staged = vec![
            "src/api/v1/users.rs".to_string(),
            "docs/guide/intro.md".into(),
            "src/apiary.rs".into(),
        ];
        let blocked: Vec<&str> = staged_conflicts(&staged, "impl_a", &locks)
            .iter()
            .map(|h| h.agent_id.as_str())
            .collect();
        assert_eq!(blocked, ["impl_b", "impl_c"]);
        let edit = |path| Edit {
            path,
            agent: "impl_a",
            session: "s1",
        };
        assert!(matches!(
            from_locks(edit("src/api/v1/users.rs"), &locks),
            Verdict::Deny { .. }
        ));
        assert!(matches!(
            from_locks(edit("src/apiary.rs"), &locks),
            Verdict::Allow { .. }
        ));
    }
}
