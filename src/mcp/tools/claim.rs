//! `claim_file_lock(file_paths, operation="write", duration_minutes=15, wait_seconds=0)`.

use std::time::Duration;

use ccmulti_model::tools::{Claim, ClaimArgs, ClaimResult, Conflict, GrantedLock, Tool};

use super::{Hints, Served, ToolContext, iso, normalize_all};
use crate::error::CoordError;
use crate::rules::handover::HandOver;
use crate::rules::locks::steps::{ClaimOutcome, ClaimRequest, Grant};
use crate::rules::locks::{Blocker, seconds_until};
use crate::rules::wait_cycle;

impl Served for Claim {
    const DESCRIPTION: &'static str = "Claim expiring locks on files before editing them, so other agents in this session do not edit them at the same time. \
         A path ending in / locks everything under that directory; a glob (src/api/**/*.rs, *, ?, [abc], {a,b}) locks what it matches. \
         All paths are granted or none is. write and delete are exclusive; read is shared with other readers. \
         Claiming a path (or the same pattern) you already hold renews it. On conflict the result names the holder and the seconds left, and when a lock its holder has left idle gives way to your claim. \
         With wait_seconds, a blocked claim waits up to that long for the paths to be released or expire, in arrival order, \
         and then answers with the grant or with the same conflict; \
         a wait that would never end (the holder waits, in turn, for a lock you hold) is answered at once with wait_cycle and what to release.";
    const HINTS: Hints = Hints {
        title: "Claim file locks",
        read_only: false,
        destructive: false,
        idempotent: true,
    };

    async fn run(cx: &ToolContext<'_>, args: ClaimArgs) -> Result<ClaimResult, CoordError> {
        run(cx, args).await
    }
}

const NAME: &str = Claim::NAME;

async fn run(cx: &ToolContext<'_>, args: ClaimArgs) -> Result<ClaimResult, CoordError> {
    let ClaimArgs {
        file_paths: raw,
        operation,
        duration_minutes: duration,
        lease_seconds,
        idle_yield_seconds,
        wait_seconds,
    } = args;
    let raw: Vec<&str> = raw.iter().map(String::as_str).collect();
    let paths = normalize_all(cx.roots, NAME, "file_paths", &raw)?;
    let sa = cx.caller.session()?.clone();
    let request = ClaimRequest {
        session: sa.session_id.clone(),
        agent: sa.agent_id.clone(),
        operation,
        paths,
        lease_ms: lease_seconds.map_or(duration * 60_000, |s| s * 1000),
        idle_yield_ms: idle_yield_seconds.map(|s| s * 1000),
    };
    let wait = Duration::from_secs(wait_seconds.unsigned_abs());
    // The wait moves the request's answer bound for all that follows it too:
    // a grant's hand-over read after a long wait must not answer "unavailable"
    // for a lock that was granted.
    crate::deadline::extended_by(wait, answer(cx, &sa, request, wait)).await
}

async fn answer(
    cx: &ToolContext<'_>,
    sa: &ccmulti_model::SessionAgent,
    request: ClaimRequest,
    wait: Duration,
) -> Result<ClaimResult, CoordError> {
    let operation = request.operation;
    let (outcome, waited, wait_cycle, changes_wanted) = if wait.is_zero() {
        let outcome = cx.coord.claim_now(&request).await?;
        (outcome, None, None, Vec::new())
    } else {
        let waited = cx.coord.claim_waiting(request, wait).await?;
        (
            waited.outcome,
            Some(waited.waited),
            waited.cycle,
            waited.called_away,
        )
    };
    let now = cx.coord.now_ms();
    let waited_seconds =
        // Milliseconds are enough, and keep the number readable.
        waited.map(|w| (w.as_secs_f64() * 1000.0).round() / 1000.0);
    let result = match outcome {
        ClaimOutcome::Granted(locks) => {
            let handovers = cx
                .coord
                .handovers_of_grant(
                    &cx.roots.current_fresh(),
                    &sa.session_id,
                    &sa.agent_id,
                    &locks,
                )
                .await?;
            ClaimResult {
                success: true,
                message: handover_message(&handovers),
                operation: Some(operation),
                locks: locks.into_iter().map(|g| granted_lock(g, now)).collect(),
                conflicts: Vec::new(),
                waited_seconds,
                wait_cycle: None,
                handovers: handovers.iter().map(HandOver::report).collect(),
                changes_wanted: Vec::new(),
            }
        }
        ClaimOutcome::Conflicted(blockers) => {
            cx.metrics.count_conflict();
            let first = &blockers[0];
            let what = if first.held_path == first.path {
                first.path.clone()
            } else {
                format!("{} overlaps {}, which", first.path, first.held_path)
            };
            let waited = match waited {
                Some(w) => format!(" after waiting {:.1}s", w.as_secs_f64()),
                None => String::new(),
            };
            let message = match &wait_cycle {
                Some(cycle) => wait_cycle::describe(cycle),
                None if !changes_wanted.is_empty() => crate::rules::handover::called_away_message(
                    &first.path,
                    &changes_wanted,
                    &waited,
                ),
                None => format!(
                    "{what} is held by {} for {} ({}s left); nothing was claimed{waited}. Work on something else, check_agent_status, and claim again later (wait_seconds waits for it).",
                    first.holder,
                    first.operation.as_str(),
                    first.seconds_left
                ),
            };
            ClaimResult {
                success: false,
                message: Some(message),
                operation: None,
                locks: Vec::new(),
                conflicts: blockers.into_iter().map(|b| conflict(b, now)).collect(),
                waited_seconds,
                wait_cycle,
                handovers: Vec::new(),
                changes_wanted,
            }
        }
    };
    Ok(result)
}

/// A grant as the tool reports it: its deadline in RFC 3339 and in seconds from `now`.
/// A grant's sentence for the model: what to bring in before editing.
fn handover_message(handovers: &[HandOver]) -> Option<String> {
    (!handovers.is_empty()).then(|| {
        handovers
            .iter()
            .map(HandOver::message)
            .collect::<Vec<_>>()
            .join(" ")
    })
}

fn granted_lock(grant: Grant, now: i64) -> GrantedLock {
    GrantedLock {
        expires_at: iso(grant.expires_at_ms),
        expires_in_seconds: seconds_until(now, grant.expires_at_ms),
        path: grant.path,
        lock_id: grant.lock_id,
        fencing_token: grant.fencing_token,
        renewed: grant.renewed,
    }
}

/// A blocker as the tool reports it at `now`.
fn conflict(blocker: Blocker, now: i64) -> Conflict {
    Conflict {
        gives_way_in_seconds: blocker.gives_way_at_ms().map(|at| seconds_until(now, at)),
        path: blocker.path,
        held_path: blocker.held_path,
        holder: blocker.holder,
        operation: blocker.operation,
        seconds_left: blocker.seconds_left,
    }
}
