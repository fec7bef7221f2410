//! Wall-clock steps and leases. A lease is a wall-clock deadline (other
//! processes reading the database judge it by their own wall clock), so a
//! step of the clock moves every lease's remaining time with it. The safe
//! choice, made here:
//!
//! - **Back** (the clock is set back by `d`): every live lease would last
//!   `d` longer than granted. Its deadline is pulled back by `d`, so it keeps
//!   the time it had left. Whatever the coordinator did not see happen (a
//!   step while it was stopped), no lease keeps more time than the longest
//!   lease ever granted ([`MAX_LEASE_MS`]).
//! - **Forward** (set forward by `d`): leases whose deadline is now past have
//!   run out, as every process reading the database sees them; they expire,
//!   each recorded as an `expired` event like any expiry. Stretching them
//!   instead would be wrong: between the step and the stretch, another agent
//!   could already have been granted the path.
//!
//! A step is told apart from the clock's ordinary running by comparing how
//! far the wall clock moved with how far the monotonic clock did.

use crate::clock::Millis;

/// The longest lease a claim can be granted, in milliseconds.
pub const MAX_LEASE_MS: Millis = ccmulti_model::tools::claim::MAX_DURATION_MINUTES * 60_000;

/// Wall and monotonic clocks may disagree by this much between two looks
/// (scheduling, NTP slewing) without it being a step.
pub const STEP_TOLERANCE_MS: Millis = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockStep {
    Steady,
    /// The wall clock was set back by this many milliseconds.
    Back(Millis),
    /// The wall clock was set forward by this many milliseconds.
    Forward(Millis),
}

/// How the wall clock stepped between two looks: it moved from `wall_before`
/// to `wall_now` while the monotonic clock moved `monotonic_ms`.
pub fn detect(wall_before: Millis, wall_now: Millis, monotonic_ms: Millis) -> ClockStep {
    let drift = wall_now
        .saturating_sub(wall_before)
        .saturating_sub(monotonic_ms);
    if drift < -STEP_TOLERANCE_MS {
        ClockStep::Back(drift.saturating_neg())
    } else if drift > STEP_TOLERANCE_MS {
        ClockStep::Forward(drift)
    } else {
        ClockStep::Steady
    }
}

/// How far to pull every live lease back after `step`: as far as the clock
/// stepped back, on a database only this machine's clock judges. On one
/// shared with coordinators on other machines (`shared_across_machines`)
/// nothing: their clocks did not step, and pulling their leases back by
/// this machine's step would cut them short (a mass expiry for them); there
/// only the longest-grant cap ([`pulled_back`] with 0) applies.
pub fn pull_back_by(step: ClockStep, shared_across_machines: bool) -> Millis {
    match step {
        ClockStep::Back(by) if !shared_across_machines => by,
        _ => 0,
    }
}

/// The deadline after which a lease may change in a pull-back by `back_by`
/// at `now`: every live lease after a step back, else only those beyond the
/// longest grant (normally none).
pub fn may_change_after(now: Millis, back_by: Millis) -> Millis {
    if back_by > 0 {
        now
    } else {
        now.saturating_add(MAX_LEASE_MS)
    }
}

/// A live lease's new deadline after the clock stepped back by `back_by`
/// (0 when no step was seen), or `None` if it stays: pulled back by the step,
/// and never more than [`MAX_LEASE_MS`] from `now`. Never later than it was,
/// and never before `now` (a lease that runs out by it expires now, with its
/// event, at the next sweep).
pub fn pulled_back(expires_at: Millis, now: Millis, back_by: Millis) -> Option<Millis> {
    let wanted = expires_at
        .saturating_sub(back_by.max(0))
        .min(now.saturating_add(MAX_LEASE_MS))
        .max(now);
    (wanted < expires_at).then_some(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Millis = 3_600_000;

    #[test]
    fn a_step_is_told_from_the_clock_running() {
        assert_eq!(detect(1_000, 2_000, 1_000), ClockStep::Steady);
        assert_eq!(detect(1_000, 2_500, 1_000), ClockStep::Steady, "jitter");
        assert_eq!(detect(HOUR, 1_000, 1_000), ClockStep::Back(HOUR));
        assert_eq!(
            detect(0, HOUR + 1_000, 1_000),
            ClockStep::Forward(HOUR),
            "an hour ahead"
        );
    }

    #[test]
    fn a_step_back_keeps_the_time_a_lease_had_left() {
        // Granted 15 minutes at 10:00; at 10:05 the clock is set back to 09:05.
        let granted_until = 10 * HOUR + 15 * 60_000;
        let now = 9 * HOUR + 5 * 60_000;
        assert_eq!(
            pulled_back(granted_until, now, HOUR),
            Some(granted_until - HOUR)
        );
        assert_eq!(granted_until - HOUR - now, 10 * 60_000, "10 minutes left");
    }

    #[test]
    fn no_lease_keeps_more_than_the_longest_grant() {
        // A step back of two hours nobody saw: capped at the longest lease.
        let now = 8 * HOUR;
        assert_eq!(
            pulled_back(now + 2 * HOUR, now, 0),
            Some(now + MAX_LEASE_MS)
        );
        // An ordinary lease is left alone.
        assert_eq!(pulled_back(now + 60_000, now, 0), None);
        assert_eq!(pulled_back(now + MAX_LEASE_MS, now, 0), None);
    }

    #[test]
    fn a_shared_database_is_only_capped() {
        assert_eq!(pull_back_by(ClockStep::Back(HOUR), false), HOUR);
        assert_eq!(pull_back_by(ClockStep::Back(HOUR), true), 0);
        assert_eq!(pull_back_by(ClockStep::Forward(HOUR), false), 0);
        assert_eq!(pull_back_by(ClockStep::Steady, false), 0);
        assert_eq!(may_change_after(HOUR, 1), HOUR);
        assert_eq!(may_change_after(HOUR, 0), HOUR + MAX_LEASE_MS);
        // Nothing at or below the bound can change.
        assert_eq!(pulled_back(HOUR + MAX_LEASE_MS, HOUR, 0), None);
    }

    #[test]
    fn a_pulled_back_lease_never_ends_before_now_nor_grows() {
        let now = 5 * HOUR;
        assert_eq!(pulled_back(now + 1_000, now, HOUR), Some(now));
        assert_eq!(pulled_back(now, now, HOUR), None, "already at now");
        for back in [0, 1, 1_000, HOUR, 10 * HOUR] {
            for left in [1, 1_000, 30 * 60_000, 3 * HOUR] {
                if let Some(end) = pulled_back(now + left, now, back) {
                    assert!(end < now + left && end >= now);
                }
            }
        }
    }
}
