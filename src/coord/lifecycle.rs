//! An agent's readiness, and forgetting a session that is over.

use ccmulti_model::snapshot::LockRow;

use super::Coordinator;
use crate::rules::lifetimes::{ForgetOutcome, Forgotten};
use crate::rules::locks::steps::ForceSelector;
use crate::store::Result;
use ccmulti_model::VirtualUser;

/// How often a forced forgetting releases and tries again while the
/// session's agents keep taking new locks.
const FORCED_ROUNDS: usize = 3;

/// What forgetting a session did.
#[derive(Debug, Clone, PartialEq)]
pub enum Forgetting {
    /// Gone, after `released` live locks were force-released (with `force`).
    Done {
        forgotten: Forgotten,
        released: usize,
    },
    /// Nothing was removed: these live locks are held in it (without `force`,
    /// or still after it: its agents keep claiming).
    Held(Vec<LockRow>),
    /// There is no such session.
    Unknown,
}

impl Coordinator {
    /// The agent's client has listed its tools, so its next turn can call
    /// them; a launcher that waits for it gives the first prompt then.
    pub async fn tools_listed(&self, user: &VirtualUser) -> Result<()> {
        self.store.note_tools_listed(user).await
    }

    /// Forgets the session: its agents, locks, tasks, events, analyses and
    /// waiting claims. Live locks stop it, unless `force`: then they are
    /// force-released first (by `by`, as `ccmulti release` records it) and the
    /// forgetting tried again. The forgetting is logged.
    pub async fn forget_session(&self, session: &str, force: bool, by: &str) -> Result<Forgetting> {
        let mut released = 0;
        let mut rounds = 0;
        loop {
            let held = match self.store.forget_session(session).await? {
                ForgetOutcome::Forgotten(forgotten) => {
                    tracing::info!(
                        session,
                        by,
                        agents = forgotten.agents,
                        tasks = forgotten.tasks,
                        events = forgotten.events,
                        released,
                        "session forgotten"
                    );
                    return Ok(Forgetting::Done {
                        forgotten,
                        released,
                    });
                }
                ForgetOutcome::Unknown => return Ok(Forgetting::Unknown),
                ForgetOutcome::HeldLocks(held) => held,
            };
            if !force || rounds == FORCED_ROUNDS {
                return Ok(Forgetting::Held(held));
            }
            rounds += 1;
            let mut holders: Vec<&str> = held.iter().map(|l| l.agent_id.as_str()).collect();
            holders.sort_unstable();
            holders.dedup();
            for agent in holders {
                let selector = ForceSelector::Agent {
                    session_id: Some(session.to_owned()),
                    agent_id: agent.to_owned(),
                };
                released += self.store.force_release(&selector, by).await?.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::behaviour::{Fixture, claim, on_both_backends, register};
    use ccmulti_model::Operation;

    on_both_backends!(forcing_releases_the_live_locks_then_forgets);

    async fn forcing_releases_the_live_locks_then_forgets(fx: Fixture) {
        let coord = Coordinator::new(fx.store.clone());
        register(fx.store.as_ref(), &["a", "b"]).await;
        claim(fx.store.as_ref(), "a", Operation::Write, &["x.rs"], 15).await;
        claim(
            fx.store.as_ref(),
            "b",
            Operation::Write,
            &["y.rs", "z.rs"],
            15,
        )
        .await;
        let Forgetting::Held(held) = coord.forget_session("s", false, "cli").await.unwrap() else {
            panic!("forgotten with live locks, unforced");
        };
        assert_eq!(held.len(), 3);
        let Forgetting::Done {
            forgotten,
            released,
        } = coord.forget_session("s", true, "cli").await.unwrap()
        else {
            panic!("not forgotten, forced");
        };
        assert_eq!((forgotten.agents, released), (2, 3));
        assert_eq!(
            coord.forget_session("s", true, "cli").await.unwrap(),
            Forgetting::Unknown
        );
        assert!(coord.snapshot(100).await.unwrap().sessions.is_empty());
    }
}
