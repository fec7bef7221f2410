//! Sessions and agents come into being on their first request and are touched on every one.

use rusqlite::{OptionalExtension, params};

use super::{Result, Store, StoreError, time};
use crate::rules::virtual_user::VirtualUser;

impl Store {
    /// Registers the session (owned by this user) and the agent if new, and
    /// touches the agent's `last_activity`. Refuses another user's session.
    pub fn touch_agent(&self, user: &VirtualUser, connection_url: &str) -> Result<()> {
        let Some(sa) = &user.session else {
            return Ok(());
        };
        let now = time::to_text(self.now_ms());
        self.write(|tx| {
            let owner: Option<String> = tx
                .prepare_cached("SELECT user_id FROM claude_code_sessions WHERE id = ?1")?
                .query_row([&sa.session_id], |r| r.get(0))
                .optional()?;
            match owner {
                Some(owner) if owner != user.user_id => {
                    return Err(StoreError::SessionOwnedByOther {
                        session: sa.session_id.clone(),
                    });
                }
                Some(_) => {}
                None => {
                    tx.prepare_cached(
                        "INSERT INTO claude_code_sessions (id, name, user_id, created_at)
                         VALUES (?1, ?1, ?2, ?3)",
                    )?
                    .execute(params![sa.session_id, user.user_id, now])?;
                }
            }
            tx.prepare_cached(
                "INSERT INTO claude_code_agents
                   (id, session_id, name, connection_url, status, last_activity, created_at)
                 VALUES (?1, ?2, ?1, ?3, 'connected', ?4, ?4)
                 ON CONFLICT (session_id, id) DO UPDATE
                   SET last_activity = excluded.last_activity,
                       connection_url = excluded.connection_url,
                       status = 'connected'",
            )?
            .execute(params![sa.agent_id, sa.session_id, connection_url, now])?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::virtual_user::parse;
    use crate::store::StoreError;
    use crate::store::test_support::open_temp;

    #[test]
    fn a_session_belongs_to_its_first_user() {
        let (_dir, store, clock) = open_temp();
        store
            .touch_agent(&parse("alice__session__s1__planner").unwrap(), "u")
            .unwrap();
        clock.advance_ms(5_000);
        store
            .touch_agent(&parse("alice__session__s1__impl_a").unwrap(), "u")
            .unwrap();
        let err = store
            .touch_agent(&parse("mallory__session__s1__impl_b").unwrap(), "u")
            .unwrap_err();
        assert!(matches!(err, StoreError::SessionOwnedByOther { .. }));
        let view = store.session_view("s1").unwrap();
        let names: Vec<_> = view.agents.iter().map(|a| a.agent_id.as_str()).collect();
        assert_eq!(names, ["impl_a", "planner"]);
        assert_eq!(
            view.agents[0].last_activity_ms,
            crate::store::test_support::T0 + 5_000
        );
    }
}
