//! `ccmulti hook pre-tool`: before Claude Code's Edit or Write, refuse a file
//! another agent holds, claim a free one, and bring in a hand-over the
//! agent's worktree lacks.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use ccmulti::client::{ClientError, Coordinator};
use ccmulti::git::{self, Merge};
use ccmulti::hook::decide::{self, BringIn, BringInPolicy, ClaimAnswer, Edit, Verdict};
use ccmulti::hook::output;
use ccmulti_model::tools::claim::MAX_LEASE_SECONDS;
use ccmulti_model::tools::{Claim, ClaimArgs, HandOver, Tool};
use ccmulti_model::{Activity, Operation};
use clap::Args;

use super::own_worktree::{as_lock_path, has_version, in_worktree, settled, worktree_of};
use super::{
    BringInArg, EditLease, Guarded, Switch, lock_path_of, locks, print, project_roots, read_input,
    release_each, status, whoami, workspace_of,
};
use crate::cli::Common;

#[derive(Debug, Args)]
pub struct PreToolArgs {
    #[command(flatten)]
    pub(super) guarded: Guarded,
    /// Claim a write lock on a free file for this agent before it is edited.
    #[arg(
        long,
        env = "CCMULTI_HOOK_AUTO_CLAIM",
        value_enum,
        default_value = "on"
    )]
    auto_claim: Switch,
    #[command(flatten)]
    lease: EditLease,
    /// When another agent holds the file: how long to wait for it before
    /// refusing the edit (0: refuse at once). A file freed meanwhile is
    /// claimed and the edit goes through, without the model's turn that a
    /// refusal costs: Claude Code applies the edit to the file as it is
    /// then, or refuses it ("File content has changed") when its text is
    /// gone. Under Claude Code's 10 s limit for the hook.
    #[arg(
        long,
        env = "CCMULTI_HOOK_WAIT_SECONDS",
        default_value_t = DEFAULT_WAIT_SECONDS,
        value_parser = clap::value_parser!(i64).range(0..=MAX_WAIT_SECONDS)
    )]
    wait_seconds: i64,
    /// How long that lock holds the file off another agent that wants it
    /// after this agent's last edit of it (0: for the whole lease): a file
    /// the agent has left while it reads, runs or thinks about something
    /// else gives way to the agent asking for it.
    #[arg(
        long,
        env = "CCMULTI_HOOK_IDLE_YIELD_SECONDS",
        default_value_t = DEFAULT_IDLE_YIELD_SECONDS,
        value_parser = clap::value_parser!(i64).range(0..=MAX_LEASE_SECONDS)
    )]
    idle_yield_seconds: i64,
    /// An edited file whose latest version another agent committed in its own
    /// worktree, which this one lacks: bring the commit in, or only say how.
    #[arg(
        long,
        env = "CCMULTI_HOOK_BRING_IN",
        value_enum,
        default_value = "merge"
    )]
    bring_in: BringInArg,
    /// When an edit takes a new lock, or is refused one another agent holds,
    /// let go of the locks the hook took at earlier edits of other files (the
    /// agent has moved on) instead of keeping them until their lease lapses.
    /// In a worktree, a file with uncommitted changes is kept (its release
    /// must be committed first).
    #[arg(
        long,
        env = "CCMULTI_HOOK_RELEASE_ON_MOVE",
        value_enum,
        default_value = "on"
    )]
    release_on_move: Switch,
}

/// Shorter than one of a model's turns, which a refusal costs; long enough
/// for a holder that is about to move on, or whose lock gives way soon.
const DEFAULT_WAIT_SECONDS: i64 = 5;
/// The hook's 10 s limit in the settings, less the calls around the wait.
const MAX_WAIT_SECONDS: i64 = 7;
/// By when, from the hook's start, a wait must have been answered: a hook
/// that runs out of time refuses nothing, so the hook answers well within
/// Claude Code's limit, a merge it may bring in after a grant included.
const WAITED_BY: Duration = Duration::from_secs(7);
/// What the coordinator may take beyond a claim's wait to answer it.
const ANSWER_MARGIN: Duration = Duration::from_secs(2);

/// A little over two of a model's calls: a read of another file in the middle
/// of a run of edits keeps the run whole; an agent that has moved on to other
/// work does not keep the file from one that waits for it.
const DEFAULT_IDLE_YIELD_SECONDS: i64 = 12;

impl From<BringInArg> for BringInPolicy {
    fn from(b: BringInArg) -> Self {
        match b {
            BringInArg::Merge => Self::Merge,
            BringInArg::Tell => Self::Tell,
        }
    }
}

/// Whether `agent` of this session called the coordinator in the last two
/// minutes (`check_agent_status` lists only such agents, and recent ones).
fn is_active(coordinator: &Coordinator, agent: &str) -> Result<bool, ClientError> {
    let status = status(coordinator, false, Vec::new())?;
    Ok(status
        .agents
        .iter()
        .any(|a| a.agent_id == agent && a.activity == Activity::Active))
}

/// Claims a write lock on `path` for this edit, for the hook's lease,
/// waiting up to `wait_seconds` for it.
fn claim(
    coordinator: &Coordinator,
    path: &str,
    args: &PreToolArgs,
    wait_seconds: i64,
) -> Result<decide::ClaimAnswer, ClientError> {
    let claim = ClaimArgs {
        lease_seconds: Some(args.lease.lease_seconds),
        idle_yield_seconds: (args.idle_yield_seconds > 0).then_some(args.idle_yield_seconds),
        wait_seconds,
        ..ClaimArgs::new(vec![path.to_owned()], Operation::Write)
    };
    let within = Duration::from_secs(wait_seconds.unsigned_abs()) + ANSWER_MARGIN;
    let result = coordinator.call_within::<Claim>(&claim, within)?;
    decide::claim_answer(result).map_err(|why| ClientError::BadReply {
        tool: Claim::NAME.to_owned(),
        why,
    })
}

/// The verdict on editing `edit.path` when the claim reported a hand-over;
/// `None` when the worktree has that version already.
fn bring_in(
    root: &Path,
    edit: Edit<'_>,
    handover: &HandOver,
    policy: BringInPolicy,
    active: bool,
) -> Option<Verdict> {
    let Some(commit) = handover.commit.as_deref() else {
        return Some(decide::uncommitted_elsewhere(edit, handover, active));
    };
    let Some((top, within)) = worktree_of(root) else {
        return Some(decide::handover_verdict(edit, handover, &BringIn::Told));
    };
    let file = in_worktree(&within, edit.path);
    let content = git::worktree_blob(&top, &file).ok().flatten();
    if has_version(&top, &file, handover, content) {
        return None;
    }
    let here = git::has_commit(&top, commit).unwrap_or(false);
    let done = if policy == BringInPolicy::Tell || !here {
        BringIn::Told
    } else {
        match git::merge(&top, commit) {
            Ok(Merge::Done { changed }) => BringIn::Merged {
                changed: changed.iter().map(|f| as_lock_path(&within, f)).collect(),
            },
            Ok(Merge::Conflicted { files }) => BringIn::Conflicted {
                files: files.iter().map(|f| as_lock_path(&within, f)).collect(),
            },
            Ok(Merge::Refused { why }) => BringIn::Refused { why },
            Err(e) => BringIn::Refused { why: e.to_string() },
        }
    };
    Some(decide::handover_verdict(edit, handover, &done))
}

/// Lets go of the locks the hook took at this agent's earlier edits of other
/// files ([`release_each`]).
fn release_moved_from(coordinator: &Coordinator, agent: &str, edited: &str, lease_seconds: i64) {
    let Ok((holders, _)) = locks(coordinator) else {
        return;
    };
    release_each(
        coordinator,
        decide::moved_from(&holders, agent, edited, lease_seconds),
    );
}

/// After a first answer that refuses the edit (another agent holds the
/// file): the answer once the hook has waited for the file, within what is
/// left of its time, and whether it let go first of the locks the agent
/// moved on from (nobody should wait for those while it waits). A wait that
/// gets no answer keeps the first refusal: never let through as if the
/// coordinator were away.
fn wait_if_held(
    coordinator: &Coordinator,
    path: &str,
    agent: &str,
    args: &PreToolArgs,
    started: Instant,
    first: ClaimAnswer,
) -> (ClaimAnswer, bool) {
    if args.wait_seconds == 0 || !first.held_by_another() {
        return (first, false);
    }
    let left = WAITED_BY
        .saturating_sub(started.elapsed())
        .saturating_sub(ANSWER_MARGIN);
    let wait = args
        .wait_seconds
        .min(i64::try_from(left.as_secs()).unwrap_or(0));
    if wait == 0 {
        return (first, false);
    }
    let let_go = args.release_on_move == Switch::On;
    if let_go {
        release_moved_from(coordinator, agent, path, args.lease.lease_seconds);
    }
    (
        claim(coordinator, path, args, wait).unwrap_or(first),
        let_go,
    )
}

pub fn pre_tool(common: &Common, args: &PreToolArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let Some((me, coordinator)) = whoami(&args.guarded.identity, common)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let input = read_input()?;
    let Some(raw) = input.edited_path()? else {
        return Ok(ExitCode::SUCCESS);
    };
    let roots = project_roots(common, &input)?;
    let coordinator =
        coordinator.with_workspace(roots.first().and_then(|r| workspace_of(r)).as_ref());
    // A file outside the project is nobody's to lock.
    let Some(path) = lock_path_of(&roots, raw) else {
        return Ok(ExitCode::SUCCESS);
    };
    let edit = Edit {
        path: &path,
        agent: &me.agent_id,
        session: &me.session_id,
    };
    // A new lock (not a renewal), or a refusal it will wait out: the agent
    // has moved on from the files it edited before.
    let mut moved_on = false;
    let mut let_go = false;
    let answer = match args.auto_claim {
        Switch::On => claim(&coordinator, &path, args, 0)
            .map(|first| {
                let (answer, released) =
                    wait_if_held(&coordinator, &path, &me.agent_id, args, started, first);
                let_go = released;
                answer
            })
            .map(|answer| {
                moved_on = matches!(
                    answer,
                    ClaimAnswer::Granted { renewed: false, .. }
                        | ClaimAnswer::Conflicted(_)
                        | ClaimAnswer::Cycle(_)
                );
                let verdict = decide::after_claim(edit, &answer);
                match (&answer, &verdict) {
                    (ClaimAnswer::Granted { handovers, .. }, Verdict::Allow { .. }) => {
                        // The first hand-over the worktree lacks decides; one it has is passed over.
                        let lacking = handovers.iter().find_map(|handover| {
                            // A change in no commit that its maker has committed since is brought in as such.
                            let settled = settled(handover, roots.first());
                            let handover = settled.as_ref().unwrap_or(handover);
                            // Only a change still in no commit asks whether its maker is at work.
                            let active = handover.commit.is_none()
                                && is_active(&coordinator, &handover.from).unwrap_or(false);
                            roots.first().and_then(|root| {
                                bring_in(root, edit, handover, args.bring_in.into(), active)
                            })
                        });
                        lacking.unwrap_or(verdict)
                    }
                    _ => verdict,
                }
            }),
        Switch::Off => locks(&coordinator).map(|(l, _)| decide::from_locks(edit, &l)),
    };
    if moved_on && !let_go && args.release_on_move == Switch::On {
        release_moved_from(&coordinator, &me.agent_id, &path, args.lease.lease_seconds);
    }
    let verdict = answer.unwrap_or_else(|e| match e {
        ClientError::Refused { .. } => decide::refused(edit, &e.to_string()),
        _ => decide::unanswered(edit, args.guarded.offline.into(), &e.to_string()),
    });
    print(output::pre_tool(&verdict))?;
    Ok(ExitCode::SUCCESS)
}
