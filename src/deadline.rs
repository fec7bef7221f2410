//! One time limit per request, not per store call: the HTTP intake starts a
//! request's clock once its body has arrived, and every store call made on
//! its behalf (registering the agent, then the tool's reads and writes, each
//! of which may wait for a pooled connection, connect and run statements)
//! gets only what is left of it. A store that can hang (PostgreSQL: a frozen
//! server, a partitioned network) reads [`remaining`] to bound each call, so
//! a request that makes several calls still answers within
//! [`ANSWER_WITHIN`] of its arrival, plus the time a waiting claim was asked
//! to wait ([`extended_by`]).
//!
//! The limit travels as a task-local: the fast path answers inside the
//! intake's task; a request rmcp answers crosses into rmcp's task, so the
//! intake hands the same instant on in the request's extensions
//! ([`RequestDeadline`]) and the rmcp handler sets it again there.

use std::future::Future;
use std::time::{Duration, Instant};

/// How long a request may take, from its arrival to its answer, when the
/// database does not answer: the README's "within 5 s".
pub const ANSWER_WITHIN: Duration = Duration::from_secs(5);

tokio::task_local! {
    static DEADLINE: Instant;
}

/// The instant a request must be answered by, carried from the intake to the
/// rmcp handler in the request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestDeadline(pub Instant);

impl RequestDeadline {
    /// For a request that arrived now.
    pub fn from_now() -> Self {
        Self(Instant::now() + ANSWER_WITHIN)
    }
}

/// Runs `work` with `deadline` as its request's limit.
pub async fn within<F: Future>(deadline: RequestDeadline, work: F) -> F::Output {
    DEADLINE.scope(deadline.0, work).await
}

/// Runs `work` with the current limit moved later by `extra` (a claim that
/// was asked to wait that long); without a current limit, as it is.
pub async fn extended_by<F: Future>(extra: Duration, work: F) -> F::Output {
    match DEADLINE.try_with(|deadline| *deadline) {
        Ok(deadline) => DEADLINE.scope(deadline + extra, work).await,
        Err(_) => work.await,
    }
}

/// What is left of the current request's time, if this runs for a request
/// (the sweeper, the CLI and the dashboard run without one).
pub fn remaining() -> Option<Duration> {
    DEADLINE
        .try_with(|deadline| deadline.saturating_duration_since(Instant::now()))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_limit_is_shared_by_everything_a_request_does() {
        assert_eq!(remaining(), None, "no request, no limit");
        let deadline = RequestDeadline(Instant::now() + Duration::from_secs(2));
        within(deadline, async {
            let first = remaining().expect("inside a request");
            assert!(first <= Duration::from_secs(2) && first > Duration::from_millis(1500));
            tokio::time::sleep(Duration::from_millis(300)).await;
            let second = remaining().expect("inside a request");
            assert!(second <= first - Duration::from_millis(300), "{second:?}");
            extended_by(Duration::from_secs(10), async {
                let waited = remaining().expect("inside a request");
                assert!(waited > Duration::from_secs(11), "{waited:?}");
            })
            .await;
        })
        .await;
        extended_by(Duration::from_secs(1), async {
            assert_eq!(remaining(), None, "nothing to extend");
        })
        .await;
    }
}
