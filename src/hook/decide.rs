//! What the hooks decide, from what the coordinator answered: plain functions
//! over plain types, so every verdict and every message is unit-tested.

use ccmulti_model::Operation;
use ccmulti_model::tools::{ClaimResult, HandOver, StatusResult};

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
    /// When the lock gives way to another agent's claim unless its holder
    /// edits the file again (a lock taken for edits), in seconds.
    pub gives_way_in: Option<i64>,
    /// It edits in another checkout than the asking agent's (a worktree of
    /// its own).
    pub elsewhere: bool,
}

impl Holder {
    /// `write` and `delete` are exclusive: nobody else may change the file.
    /// A `read` lock is shared and does not stop an edit.
    pub fn excludes_edits(&self) -> bool {
        !self.operation.is_shared()
    }

    fn describe(&self) -> String {
        let yields = match self.gives_way_in {
            Some(s) => format!(
                "; gives way in {} unless {} edits it again",
                human_duration(s),
                self.agent_id
            ),
            None => String::new(),
        };
        format!(
            "{} ({}, {} left{yields})",
            self.agent_id,
            self.operation.as_str(),
            human_duration(self.seconds_left)
        )
    }
}

/// `claim_file_lock`'s answer for one path.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimAnswer {
    Granted {
        renewed: bool,
        seconds_left: i64,
        /// Other worktrees' versions of the file, which this one lacks:
        /// those in a commit first (they can be brought in), then changes in
        /// no commit.
        handovers: Vec<HandOver>,
    },
    Conflicted(Vec<Holder>),
    /// A wait for the file that would never end: the coordinator's message
    /// names the cycle and what to release.
    Cycle(String),
}

impl ClaimAnswer {
    /// Another agent holds the file for write or delete: the edit would be refused.
    pub fn held_by_another(&self) -> bool {
        matches!(self, Self::Conflicted(holders) if holders.iter().any(Holder::excludes_edits))
    }
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
            handovers: {
                let mut of_file: Vec<HandOver> = result
                    .handovers
                    .iter()
                    .filter(|h| h.path == lock.path)
                    .cloned()
                    .collect();
                // Stable: the coordinator's order within each kind.
                of_file.sort_by_key(|h| h.commit.is_none());
                of_file
            },
        });
    }
    if let Some(cycle) = result.wait_cycle {
        let release = cycle.release.join(", ");
        return Ok(ClaimAnswer::Cycle(result.message.unwrap_or_else(|| {
            format!("release {release} (release_file_lock), then claim it again later.")
        })));
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
                gives_way_in: c.gives_way_in_seconds,
                elsewhere: false,
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
            gives_way_in: l.gives_way_in_seconds,
            elsewhere: l.elsewhere,
        })
        .collect()
}

/// The hand-overs `check_agent_status` reports pending on the caller's locks.
pub fn status_handovers(status: &StatusResult) -> Vec<HandOver> {
    status.handovers.clone()
}

/// The news lines `check_agent_status` tells, then each hand-over still
/// pending (said until it is brought in: it is a thing to do), then each
/// newer version of a file just read that the worktree lacks.
pub fn status_news(status: StatusResult) -> Vec<String> {
    let news = status
        .news
        .unwrap_or_default()
        .into_iter()
        .map(|n| n.message);
    news.chain(status.handovers.into_iter().map(|h| h.message))
        .chain(status.newer_elsewhere.into_iter().map(|h| h.message))
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
        ClaimAnswer::Cycle(message) => Verdict::Deny {
            reason: format!(
                "ccmulti: {} is locked, and waiting for it would never end: {message}",
                edit.path
            ),
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

/// How `hook pre-tool` deals with a hand-over the edited file lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BringInPolicy {
    /// Merge the commit into the worktree where git can do it cleanly, then
    /// have the model read the file again.
    #[default]
    Merge,
    /// Deny the edit with the command that brings the commit in.
    Tell,
}

/// What the hook did about a hand-over the worktree lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BringIn {
    /// Not tried (policy `tell`, or the commit is in another clone).
    Told,
    /// Merged; the files the merge changed (lock paths).
    Merged { changed: Vec<String> },
    /// The merge conflicted in `files` and was aborted.
    Conflicted { files: Vec<String> },
    /// Git did not merge, and changed nothing: what it said.
    Refused { why: String },
}

fn short(commit: &str) -> &str {
    commit
        .get(..crate::rules::handover::SHORT_ID)
        .unwrap_or(commit)
}

/// The verdict on an edit of a file whose latest version (`handover`) the
/// worktree lacks, after `done`. Every case denies this edit: it was made
/// against the file as it was, and nothing else is safe to apply.
pub fn handover_verdict(edit: Edit<'_>, handover: &HandOver, done: &BringIn) -> Verdict {
    let commit = handover.commit.as_deref().unwrap_or_default();
    let command = handover.command.as_deref().unwrap_or_default();
    let brought = format!(
        "ccmulti: {} changed {} in commit {}{}, which your worktree lacked",
        handover.from,
        edit.path,
        short(commit),
        handover
            .branch
            .as_deref()
            .map(|b| format!(" (branch {b})"))
            .unwrap_or_default()
    );
    let reason = match done {
        BringIn::Told => format!("ccmulti: {} This edit was not made.", handover.message),
        BringIn::Merged { changed } => {
            let others: Vec<&str> = changed
                .iter()
                .map(String::as_str)
                .filter(|f| *f != edit.path)
                .collect();
            let also = if others.is_empty() {
                String::new()
            } else {
                format!(" (it also changed {})", others.join(", "))
            };
            format!(
                "{brought}; ccmulti brought it in ({command}){also}. This edit was not made: {} has changed, \
                 so Read it again, then make your edit on its new content.",
                edit.path
            )
        }
        BringIn::Conflicted { files } => format!(
            "{brought}. Merging it conflicts in {}, so ccmulti aborted the merge (git merge --abort) and your \
             worktree is as it was. This edit was not made. Bring the commit in yourself: run `{command}`, \
             resolve the conflicts in those files and commit; then edit {}.",
            files.join(", "),
            edit.path
        ),
        BringIn::Refused { why } => format!(
            "{brought}, and git did not merge it, changing nothing: {}. This edit was not made. Commit or \
             stash your own changes first, then run `{command}`, then edit {}.",
            why.lines().next().unwrap_or_default().trim_end_matches(':'),
            edit.path
        ),
    };
    Verdict::Deny { reason }
}

/// A hand-over whose change is in no commit: nothing to bring in yet. While
/// the agent that made it is active (its news asks it to commit), the edit
/// waits for that commit, as it would for one to bring in, so it is not made
/// on a copy that lacks the change; once that agent has gone quiet, nobody
/// may commit it, so the edit goes ahead and the model is told.
pub fn uncommitted_elsewhere(edit: Edit<'_>, handover: &HandOver, from_active: bool) -> Verdict {
    if from_active {
        return Verdict::Deny {
            reason: format!(
                "ccmulti: {} This edit was not made: wait until {} has committed its change, then Read {} \
                 again, and you are told the commit to bring in. Meanwhile work on something else.",
                handover.message, handover.from, edit.path
            ),
        };
    }
    Verdict::Allow {
        context: Some(format!(
            "ccmulti: {} {} has not been active for two minutes, so your edit goes ahead on your copy; \
             the two changes meet when the branches land.",
            handover.message, handover.from
        )),
    }
}

/// A staged file whose latest version (`handover`) this commit would not
/// contain: the commit is refused until it is brought in.
pub fn handover_refusal(session: &str, missing: &[&HandOver]) -> String {
    let mut text = format!(
        "ccmulti git guard: commit refused; in session {session}, another agent's worktree holds the latest \
         version of staged files, which this commit would not contain:\n"
    );
    for h in missing {
        text.push_str(&format!(
            "  {}  changed by {} in commit {}\n",
            h.path,
            h.from,
            short(h.commit.as_deref().unwrap_or_default())
        ));
    }
    let commands: Vec<&str> = missing
        .iter()
        .filter_map(|h| h.command.as_deref())
        .collect();
    text.push_str(&format!(
        "Bring it in first, keeping your changes: `git stash && {} && git stash pop`, then commit again; \
         CCMULTI_GIT_GUARD=off bypasses this check.",
        commands.join(" && ")
    ));
    text
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
        // A holder in another worktree edits its own copy: committing ours
        // takes nothing of its, and is what lets our change be handed over.
        .filter(|l| l.agent_id != agent && l.excludes_edits() && !l.elsewhere)
        .filter(|l| {
            let held = LockTarget::parse(&l.path);
            staged.iter().any(|f| held.overlaps(f))
        })
        .collect()
}

/// The agent's write locks taken for its edits, other than on `keep`: those
/// that give way once left idle (the hook's, or a claim that asked to) and,
/// with giving way off, those no longer than the hook's own lease (the
/// hook's, or any about to lapse anyway). An explicit claim keeps its
/// duration: it neither gives way nor has so little left.
fn taken_for_edits(
    holders: &[Holder],
    agent: &str,
    keep: Option<&str>,
    lease_seconds: i64,
) -> Vec<String> {
    holders
        .iter()
        .filter(|h| h.agent_id == agent && Some(h.path.as_str()) != keep && h.excludes_edits())
        .filter(|h| h.gives_way_in.is_some() || h.seconds_left <= lease_seconds)
        .map(|h| h.path.clone())
        .collect()
}

/// The agent has moved on to `edited` (its edit of that file took a new
/// lock, or was refused one another agent holds, which it is about to wait
/// for): its other locks taken for edits, which it can let go now rather
/// than when they lapse. Holding them while it waits is how a file is held
/// hostage.
///
/// No lock is kept for having been renewed a moment ago. Claude Code runs
/// one agent's edits one after another; should two run at once (subagents
/// share their agent's name), the one whose lock goes has been written or is
/// being written that moment, and Claude Code's read-before-write check
/// makes whoever edits the file next read it again.
pub fn moved_from(
    holders: &[Holder],
    agent: &str,
    edited: &str,
    lease_seconds: i64,
) -> Vec<String> {
    taken_for_edits(holders, agent, Some(edited), lease_seconds)
}

/// The agent's turn has ended: all its locks taken for edits, which nobody
/// should wait for while it waits for its user (it claims a file again at
/// its next edit). Its explicit claims are kept.
pub fn at_turn_end(holders: &[Holder], agent: &str, lease_seconds: i64) -> Vec<String> {
    taken_for_edits(holders, agent, None, lease_seconds)
}

/// Whether `agent`'s client has listed the ccmulti tools, as the status says.
pub fn tools_listed(status: &StatusResult, agent: &str) -> bool {
    status
        .agents
        .iter()
        .any(|a| a.agent_id == agent && a.tools_listed)
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
            gives_way_in: None,
            elsewhere: false,
        }
    }

    #[test]
    fn moving_on_lets_go_of_the_hooks_short_locks_only() {
        let locks = vec![
            Holder {
                path: "a.rs".into(),
                seconds_left: 29,
                ..holder("impl_a", "write")
            },
            Holder {
                path: "edited.rs".into(),
                seconds_left: 30,
                ..holder("impl_a", "write")
            },
            // Taken this moment, by the edit before this one.
            Holder {
                path: "just.rs".into(),
                seconds_left: 30,
                ..holder("impl_a", "write")
            },
            Holder {
                path: "claimed.rs".into(),
                seconds_left: 840,
                ..holder("impl_a", "write")
            },
            Holder {
                path: "read.rs".into(),
                seconds_left: 10,
                ..holder("impl_a", "read")
            },
            Holder {
                path: "theirs.rs".into(),
                seconds_left: 10,
                ..holder("impl_b", "write")
            },
        ];
        assert_eq!(
            moved_from(&locks, "impl_a", "edited.rs", 30),
            ["a.rs", "just.rs"]
        );
        assert_eq!(
            at_turn_end(&locks, "impl_a", 30),
            ["a.rs", "edited.rs", "just.rs"]
        );
    }

    #[test]
    fn a_lock_that_gives_way_was_taken_for_edits_however_long_its_lease() {
        let locks = vec![
            // A waiting claim that asked to give way when left idle.
            Holder {
                path: "waited.rs".into(),
                seconds_left: 300,
                gives_way_in: Some(0),
                ..holder("impl_a", "write")
            },
            Holder {
                path: "claimed.rs".into(),
                seconds_left: 840,
                ..holder("impl_a", "write")
            },
        ];
        assert_eq!(at_turn_end(&locks, "impl_a", 30), ["waited.rs"]);
        assert_eq!(
            moved_from(&locks, "impl_a", "waited.rs", 30),
            [] as [&str; 0]
        );
    }

    #[test]
    fn the_git_guard_lets_a_worktree_commit_what_another_worktree_holds() {
        let locks = vec![
            Holder {
                elsewhere: true,
                ..holder("impl_b", "write")
            },
            Holder {
                path: "README.md".into(),
                ..holder("impl_c", "write")
            },
        ];
        let staged = vec!["src/cart.rs".to_string(), "README.md".into()];
        let blocked: Vec<&str> = staged_conflicts(&staged, "impl_a", &locks)
            .iter()
            .map(|h| h.agent_id.as_str())
            .collect();
        assert_eq!(blocked, ["impl_c"], "impl_b edits its own worktree's copy");
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
    fn a_denial_says_when_an_idle_lock_gives_way() {
        let answer = claim_answer(claim_result(json!({
            "success": false,
            "conflicts": [{ "path": "src/cart.rs", "held_path": "src/cart.rs", "holder": "impl_b", "operation": "write", "seconds_left": 25, "gives_way_in_seconds": 7 }]
        })))
        .unwrap();
        let Verdict::Deny { reason } = after_claim(EDIT, &answer) else {
            panic!("expected a denial");
        };
        assert!(
            reason.contains(
                "locked by impl_b (write, 25s left; gives way in 7s unless impl_b edits it again)"
            ),
            "{reason}"
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
            handovers: Vec::new(),
        };
        assert_eq!(
            after_claim(EDIT, &renewed),
            Verdict::Allow { context: None }
        );
    }

    #[test]
    fn a_wait_that_would_never_end_is_refused_with_the_cycle() {
        let answer = claim_answer(claim_result(json!({
            "success": false,
            "message": "impl_b waits for your src/cart.rs. Release src/cart.rs (release_file_lock) so that impl_b can go on.",
            "conflicts": [{ "path": "src/cart.rs", "held_path": "src/cart.rs", "holder": "impl_b", "operation": "write", "seconds_left": 25 }],
            "wait_cycle": { "waits": [], "release": ["src/cart.rs"] }
        })))
        .unwrap();
        assert!(!answer.held_by_another());
        let Verdict::Deny { reason } = after_claim(EDIT, &answer) else {
            panic!("a cycle let the edit through");
        };
        assert!(
            reason.contains(
                "would never end: impl_b waits for your src/cart.rs. Release src/cart.rs"
            ),
            "{reason}"
        );
        assert!(ClaimAnswer::Conflicted(vec![holder("impl_b", "write")]).held_by_another());
        assert!(!ClaimAnswer::Conflicted(vec![holder("impl_b", "read")]).held_by_another());
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

    fn handover() -> HandOver {
        HandOver {
            path: "src/cart.rs".into(),
            from: "impl_b".into(),
            commit: Some("0123456789abcdef0123".into()),
            branch: Some("ccmulti/s1/impl_b".into()),
            blob: Some("b1".into()),
            command: Some("git merge --no-edit 0123456789abcdef0123".into()),
            fetch: false,
            worktree: Some("/w/b".into()),
            message: "impl_b changed src/cart.rs in commit 0123456789 (branch ccmulti/s1/impl_b), which your worktree lacks: bring it in before editing the file: `git merge --no-edit 0123456789abcdef0123`.".into(),
        }
    }

    #[test]
    fn a_grant_carries_the_hand_over_of_the_edited_file() {
        let answer = claim_answer(claim_result(json!({
            "success": true, "operation": "write",
            "locks": [{ "path": "src/cart.rs", "lock_id": "l1", "fencing_token": 7, "expires_at": "2026-11-29T12:15:00Z", "renewed": true, "expires_in_seconds": 900 }],
            "handovers": [serde_json::to_value(handover()).unwrap()]
        })))
        .unwrap();
        assert_eq!(
            answer,
            ClaimAnswer::Granted {
                renewed: true,
                seconds_left: 900,
                handovers: vec![handover()]
            }
        );
    }

    #[test]
    fn an_edit_waits_for_a_change_in_no_commit_while_its_maker_is_at_work() {
        let uncommitted = HandOver {
            commit: None,
            blob: None,
            command: None,
            message:
                "impl_b has changes to src/cart.rs in its worktree /w/b that are in no commit yet."
                    .into(),
            ..handover()
        };
        match uncommitted_elsewhere(EDIT, &uncommitted, true) {
            Verdict::Deny { reason } => assert!(
                reason.contains("This edit was not made: wait until impl_b has committed its change, then Read src/cart.rs again"),
                "{reason}"
            ),
            other => panic!("expected a denial, got {other:?}"),
        }
        match uncommitted_elsewhere(EDIT, &uncommitted, false) {
            Verdict::Allow { context: Some(c) } => {
                assert!(
                    c.contains("impl_b has not been active for two minutes"),
                    "{c}"
                );
            }
            other => panic!("expected the edit to go ahead, got {other:?}"),
        }
    }

    #[test]
    fn a_grant_lists_the_files_commits_to_bring_in_before_changes_in_no_commit() {
        let uncommitted = HandOver {
            from: "impl_c".into(),
            commit: None,
            blob: None,
            command: None,
            ..handover()
        };
        let other_file = HandOver {
            path: "src/tax.rs".into(),
            ..handover()
        };
        let answer = claim_answer(claim_result(json!({
            "success": true, "operation": "write",
            "locks": [{ "path": "src/cart.rs", "lock_id": "l1", "fencing_token": 7, "expires_at": "2026-11-29T12:15:00Z", "renewed": true, "expires_in_seconds": 900 }],
            "handovers": [uncommitted, handover(), other_file]
        })))
        .unwrap();
        let ClaimAnswer::Granted { handovers, .. } = answer else {
            panic!("granted");
        };
        let froms: Vec<(&str, bool)> = handovers
            .iter()
            .map(|h| (h.from.as_str(), h.commit.is_some()))
            .collect();
        assert_eq!(froms, [("impl_b", true), ("impl_c", false)]);
    }

    #[test]
    fn an_edit_lacking_a_hand_over_is_denied_whatever_the_hook_did() {
        let reason = |done: BringIn| match handover_verdict(EDIT, &handover(), &done) {
            Verdict::Deny { reason } => reason,
            other => panic!("expected a denial, got {other:?}"),
        };
        let told = reason(BringIn::Told);
        assert!(
            told.contains("`git merge --no-edit 0123456789abcdef0123`")
                && told.ends_with("This edit was not made."),
            "{told}"
        );
        let merged = reason(BringIn::Merged {
            changed: vec!["src/cart.rs".into(), "src/tax.rs".into()],
        });
        assert_eq!(
            merged,
            "ccmulti: impl_b changed src/cart.rs in commit 0123456789 (branch ccmulti/s1/impl_b), which your \
             worktree lacked; ccmulti brought it in (git merge --no-edit 0123456789abcdef0123) (it also \
             changed src/tax.rs). This edit was not made: src/cart.rs has changed, so Read it again, then make \
             your edit on its new content."
        );
        let conflicted = reason(BringIn::Conflicted {
            files: vec!["src/cart.rs".into()],
        });
        assert!(
            conflicted
                .contains("Merging it conflicts in src/cart.rs, so ccmulti aborted the merge")
                && conflicted.contains(
                    "run `git merge --no-edit 0123456789abcdef0123`, resolve the conflicts"
                ),
            "{conflicted}"
        );
        let refused = reason(BringIn::Refused {
            why: "error: Your local changes to the following files would be overwritten by merge:\n\tsrc/cart.rs".into(),
        });
        assert!(
            refused.contains(
                "Your local changes to the following files would be overwritten by merge. This edit"
            ),
            "{refused}"
        );
    }

    #[test]
    fn the_git_guard_names_the_version_a_commit_would_leave_out() {
        let h = handover();
        let text = handover_refusal("s1", &[&h]);
        assert!(
            text.contains("src/cart.rs  changed by impl_b in commit 0123456789"),
            "{text}"
        );
        assert!(
            text.contains(
                "`git stash && git merge --no-edit 0123456789abcdef0123 && git stash pop`"
            ),
            "{text}"
        );
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
