//! `{user}__session__{session}__{agent}` or a plain `{user}`: who is calling,
//! from the URL. Written by [`fmt::Display`] and read by [`FromStr`], nowhere
//! else; [`agent_url`] is the one place an agent's URL is put together.

use std::fmt;
use std::str::FromStr;

const SESSION_MARKER: &str = "__session__";
pub const MAX_PART_LEN: usize = 128;

/// The form every error message shows, so a user can fix the URL at once.
const VIRTUAL_USER_FORM: &str = "expected {user}__session__{session}__{agent} or a plain {user}; \
each part 1 to 128 characters of A-Z a-z 0-9 . _ - (no double underscore)";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualUser {
    pub user_id: String,
    pub session: Option<SessionAgent>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionAgent {
    pub session_id: String,
    pub agent_id: String,
}

impl SessionAgent {
    pub fn is_planner(&self) -> bool {
        self.agent_id == PLANNER
    }
}

/// The agent id of a session's planner.
pub const PLANNER: &str = "planner";

impl VirtualUser {
    /// `agent` of `session`, as `user`.
    pub fn agent(user: &str, session: &str, agent: &str) -> Self {
        Self {
            user_id: user.to_owned(),
            session: Some(SessionAgent {
                session_id: session.to_owned(),
                agent_id: agent.to_owned(),
            }),
        }
    }
}

/// Where a Claude Code agent reaches the coordinator at `base`: `id` is a
/// [`VirtualUser`], or a placeholder the client expands (`${CCMULTI_AGENT}`).
pub fn agent_url(base: &str, id: impl fmt::Display) -> String {
    format!("{}/mcp/v2/claude/{id}", base.trim_end_matches('/'))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid virtual user id {given:?}: {problem}; {VIRTUAL_USER_FORM}")]
pub struct VirtualUserError {
    pub given: String,
    pub problem: String,
}

impl fmt::Display for VirtualUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.session {
            None => f.write_str(&self.user_id),
            Some(s) => write!(
                f,
                "{}{SESSION_MARKER}{}__{}",
                self.user_id, s.session_id, s.agent_id
            ),
        }
    }
}

impl FromStr for VirtualUser {
    type Err = VirtualUserError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        parse(raw)
    }
}

fn parse(raw: &str) -> Result<VirtualUser, VirtualUserError> {
    let fail = |problem: String| VirtualUserError {
        given: raw.chars().take(160).collect(),
        problem,
    };
    let Some((user, rest)) = raw.split_once(SESSION_MARKER) else {
        check_part("user", raw).map_err(fail)?;
        return Ok(VirtualUser {
            user_id: raw.to_owned(),
            session: None,
        });
    };
    let Some((session, agent)) = rest.split_once("__") else {
        return Err(fail(format!(
            "{rest:?} after {SESSION_MARKER} has no __ between session and agent"
        )));
    };
    check_part("user", user).map_err(fail)?;
    check_part("session", session).map_err(fail)?;
    check_part("agent", agent).map_err(fail)?;
    Ok(VirtualUser {
        user_id: user.to_owned(),
        session: Some(SessionAgent {
            session_id: session.to_owned(),
            agent_id: agent.to_owned(),
        }),
    })
}

/// Validates one part; also used for ids given on the command line.
pub fn check_part(name: &str, part: &str) -> Result<(), String> {
    if part.is_empty() || part.len() > MAX_PART_LEN {
        return Err(format!("the {name} part is {} characters long", part.len()));
    }
    if let Some(bad) = part
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!("the {name} part {part:?} contains {bad:?}"));
    }
    if part.contains("__") {
        return Err(format!(
            "the {name} part {part:?} contains a double underscore, which separates parts"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_urls_are_built_from_the_id() {
        let user = VirtualUser::agent("u1", "s1", "impl_a");
        assert_eq!(
            agent_url("http://127.0.0.1:7477/", &user),
            "http://127.0.0.1:7477/mcp/v2/claude/u1__session__s1__impl_a"
        );
        assert_eq!(
            agent_url("http://h:1", "${CCMULTI_AGENT}"),
            "http://h:1/mcp/v2/claude/${CCMULTI_AGENT}"
        );
        assert_eq!(user.to_string().parse::<VirtualUser>().unwrap(), user);
    }

    #[test]
    fn parses_session_urls_and_plain_users() {
        let v = parse("u1__session__s1__impl_a").unwrap();
        assert_eq!(v.user_id, "u1");
        let s = v.session.as_ref().unwrap();
        assert_eq!(
            (s.session_id.as_str(), s.agent_id.as_str()),
            ("s1", "impl_a")
        );
        assert!(!s.is_planner());
        assert_eq!(v.to_string(), "u1__session__s1__impl_a");

        let plain = parse("test_user").unwrap();
        assert_eq!(plain.user_id, "test_user");
        assert!(plain.session.is_none());
    }

    #[test]
    fn refuses_malformed_ids_with_the_expected_form() {
        for bad in [
            "",
            "u1__session__",
            "u1__session__s1",
            "u1__session__s1__",
            "__session__s1__planner",
            "u 1",
            "u1__session__s/1__planner",
            "u1__session__s1__planner__x",
            "a__b",
            &"x".repeat(129),
            "ü",
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(err.to_string().contains("{user}__session__"), "{err}");
        }
    }
}
