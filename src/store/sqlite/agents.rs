//! Sessions and agents come into being on their first request and are touched on every one.

use rusqlite::{OptionalExtension, params};

use rusqlite::Connection;

use crate::store::{AgentWorkspace, PlacedBy};

use super::{Result, SqliteStore, StoreError, time};
use crate::rules::limits::{Limit, Limits, admit_one_more};
use ccmulti_model::{SessionAgent, VirtualUser};

/// Registers the session, owned by `user_id`, if new (within the user's
/// session limit); refuses another user's.
fn own_session(
    tx: &Connection,
    session_id: &str,
    user_id: &str,
    now: &str,
    limits: &Limits,
) -> Result<()> {
    let owner: Option<String> = tx
        .prepare_cached("SELECT user_id FROM claude_code_sessions WHERE id = ?1")?
        .query_row([session_id], |r| r.get(0))
        .optional()?;
    match owner {
        Some(owner) if owner != user_id => Err(StoreError::SessionOwnedByOther {
            session: session_id.to_owned(),
        }),
        Some(_) => Ok(()),
        None => {
            let sessions: u64 = tx
                .prepare_cached("SELECT COUNT(*) FROM claude_code_sessions WHERE user_id = ?1")?
                .query_row([user_id], |r| r.get(0))?;
            admit_one_more(Limit::SessionsPerUser, limits, sessions)?;
            tx.prepare_cached(
                "INSERT INTO claude_code_sessions (id, name, user_id, created_at)
                 VALUES (?1, ?1, ?2, ?3)",
            )?
            .execute(params![session_id, user_id, now])?;
            Ok(())
        }
    }
}

/// Refuses a new agent in a session that already has as many as allowed;
/// a known agent is always let in.
fn admit_agent(tx: &Connection, sa: &SessionAgent, limits: &Limits) -> Result<()> {
    let known: bool = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM claude_code_agents WHERE session_id = ?1 AND id = ?2)",
        )?
        .query_row(params![sa.session_id, sa.agent_id], |r| r.get(0))?;
    if known {
        return Ok(());
    }
    let agents: u64 = tx
        .prepare_cached("SELECT COUNT(*) FROM claude_code_agents WHERE session_id = ?1")?
        .query_row([&sa.session_id], |r| r.get(0))?;
    admit_one_more(Limit::AgentsPerSession, limits, agents)?;
    Ok(())
}

impl SqliteStore {
    /// The limits registration enforces (set by [`SqliteStore::set_limits`]).
    fn limits(&self) -> Limits {
        self.inner.limits.read().map(|l| *l).unwrap_or_default()
    }

    /// Sets the registration limits: agents per session, sessions per user.
    pub fn set_limits(&self, limits: Limits) {
        if let Ok(mut l) = self.inner.limits.write() {
            *l = limits;
        }
    }

    /// Registers the session (owned by this user) and the agent if new, and
    /// touches the agent's `last_activity`; its status is `connected`, or
    /// stays `ready` ([`crate::rules::lifetimes`]). Refuses another user's
    /// session, and a new session or agent beyond the limits.
    pub fn touch_agent(&self, user: &VirtualUser, connection_url: &str) -> Result<()> {
        self.write_agent(user, |tx, sa, now| {
            tx.prepare_cached(
                "INSERT INTO claude_code_agents
                   (id, session_id, name, connection_url, status, last_activity, created_at)
                 VALUES (?1, ?2, ?1, ?3, 'connected', ?4, ?4)
                 ON CONFLICT (session_id, id) DO UPDATE
                   SET last_activity = excluded.last_activity,
                       connection_url = excluded.connection_url,
                       status = CASE status WHEN 'ready' THEN 'ready' ELSE 'connected' END",
            )?
            .execute(params![sa.agent_id, sa.session_id, connection_url, now])?;
            Ok(())
        })
    }

    /// Records where an agent works (its worktree and branch), registering
    /// the session and the agent as [`SqliteStore::touch_agent`] does; for whoever
    /// starts agents (`ccmulti team`), as it (re)starts the agent: its status is
    /// `starting` until it calls. A known agent's activity is left alone: this
    /// is not the agent speaking. Refuses another user's session; a user
    /// without a session has no agent to place.
    pub fn set_agent_workspace(
        &self,
        user: &VirtualUser,
        workspace: &AgentWorkspace,
        by: PlacedBy,
    ) -> Result<()> {
        self.write_agent(user, |tx, sa, now| {
            tx.prepare_cached(
                "INSERT INTO claude_code_agents
                   (id, session_id, name, status, last_activity, created_at, worktree, branch, host)
                 VALUES (?1, ?2, ?1, CASE WHEN ?7 THEN 'starting' ELSE 'connected' END, ?3, ?3, ?4, ?5, ?6)
                 ON CONFLICT (session_id, id) DO UPDATE
                   SET worktree = excluded.worktree, branch = excluded.branch, host = excluded.host,
                       status = CASE WHEN ?7 THEN 'starting' ELSE claude_code_agents.status END",
            )?
            .execute(params![
                sa.agent_id,
                sa.session_id,
                now,
                workspace.worktree,
                workspace.branch,
                workspace.host,
                by == PlacedBy::Launcher
            ])?;
            Ok(())
        })
    }

    /// One transaction that registers the user's session if new (refusing
    /// another user's, and one beyond the limits) and then writes the agent's
    /// row with `f`, given the current time as stored. A user without a
    /// session has no agent: nothing.
    fn write_agent(
        &self,
        user: &VirtualUser,
        f: impl FnOnce(&Connection, &SessionAgent, &str) -> Result<()>,
    ) -> Result<()> {
        let Some(sa) = &user.session else {
            return Ok(());
        };
        let now = time::to_text(self.now_ms());
        let limits = self.limits();
        self.write(|tx| {
            own_session(tx, &sa.session_id, &user.user_id, &now, &limits)?;
            admit_agent(tx, sa, &limits)?;
            f(tx, sa, &now)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::AgentWorkspace;
    use crate::store::PlacedBy;
    use crate::store::StoreError;
    use crate::store::sqlite::test_support::open_temp;
    use ccmulti_model::VirtualUser;
    use std::str::FromStr;

    #[test]
    fn a_session_belongs_to_its_first_user() {
        let (_dir, store, clock) = open_temp();
        store
            .touch_agent(
                &VirtualUser::from_str("alice__session__s1__planner").unwrap(),
                "u",
            )
            .unwrap();
        clock.advance_ms(5_000);
        store
            .touch_agent(
                &VirtualUser::from_str("alice__session__s1__impl_a").unwrap(),
                "u",
            )
            .unwrap();
        let err = store
            .touch_agent(
                &VirtualUser::from_str("mallory__session__s1__impl_b").unwrap(),
                "u",
            )
            .unwrap_err();
        assert!(matches!(err, StoreError::SessionOwnedByOther { .. }));
        let view = store.session_view("s1").unwrap();
        let names: Vec<_> = view.agents.iter().map(|a| a.agent_id.as_str()).collect();
        assert_eq!(names, ["impl_a", "planner"]);
        assert_eq!(
            view.agents[0].last_activity_ms,
            crate::store::sqlite::test_support::T0 + 5_000
        );
    }

    #[test]
    fn an_agents_workspace_is_recorded_before_and_after_it_calls() {
        let (_dir, store, clock) = open_temp();
        let impl_a = VirtualUser::from_str("alice__session__s1__impl_a").unwrap();
        let at = |worktree: &str, branch: Option<&str>| AgentWorkspace {
            worktree: worktree.into(),
            branch: branch.map(Into::into),
            host: Some("box".into()),
        };
        // Placed by `ccmulti team` before it ever called: session and agent registered.
        store
            .set_agent_workspace(
                &impl_a,
                &at("/repo/.wt/impl_a", Some("impl-a")),
                PlacedBy::Launcher,
            )
            .unwrap();
        clock.advance_ms(5_000);
        store.touch_agent(&impl_a, "u").unwrap();
        let view = store.session_view("s1").unwrap();
        assert_eq!(view.agents.len(), 1);
        assert_eq!(
            view.agents[0].workspace,
            Some(at("/repo/.wt/impl_a", Some("impl-a")))
        );
        assert_eq!(
            view.agents[0].last_activity_ms,
            crate::store::sqlite::test_support::T0 + 5_000
        );
        // Moved to another worktree, detached: replaced, and its activity kept.
        clock.advance_ms(5_000);
        store
            .set_agent_workspace(&impl_a, &at("/repo/.wt/other", None), PlacedBy::Launcher)
            .unwrap();
        let agent = store.session_view("s1").unwrap().agents.remove(0);
        assert_eq!(agent.workspace, Some(at("/repo/.wt/other", None)));
        assert_eq!(
            agent.last_activity_ms,
            crate::store::sqlite::test_support::T0 + 5_000
        );
        // An agent that only connected has none; another user's session is refused.
        store
            .touch_agent(
                &VirtualUser::from_str("alice__session__s1__planner").unwrap(),
                "u",
            )
            .unwrap();
        let view = store.session_view("s1").unwrap();
        assert_eq!(view.agents[1].agent_id, "planner");
        assert_eq!(view.agents[1].workspace, None);
        let err = store
            .set_agent_workspace(
                &VirtualUser::from_str("mallory__session__s1__impl_b").unwrap(),
                &at("/x", None),
                PlacedBy::Launcher,
            )
            .unwrap_err();
        assert!(matches!(err, StoreError::SessionOwnedByOther { .. }));
    }
}
