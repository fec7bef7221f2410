//! What one misbehaving local client can make the coordinator hold: the
//! limits, their defaults, and the decision whether one more is allowed.
//! The defaults are far beyond any honest team (a team is a planner and a
//! handful of implementers), so only a runaway client meets them; each is
//! settable by a `ccmulti serve` flag and an environment variable, which the
//! error names so that whoever meets it knows how to raise it.

use std::fmt;
use std::time::Duration;

/// The bounds the coordinator enforces. `Default` is what `ccmulti serve`
/// uses without flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub agents_per_session: u64,
    pub sessions_per_user: u64,
    /// Open sessions of clients that `initialize` and carry `Mcp-Session-Id`.
    pub legacy_sessions: u64,
    /// Open server-to-client event streams (GET with `Mcp-Session-Id`).
    pub event_streams: u64,
    /// Claims waiting for their paths in this coordinator, all callers together.
    pub waiting_claims: u64,
    /// A connection holding no request (sending nothing, or a request's headers too slowly, from its opening or its last answer) is closed after this long.
    pub header_read_timeout: Duration,
    /// A request's body must have arrived within this long of its headers.
    pub body_read_timeout: Duration,
}

pub const DEFAULT_AGENTS_PER_SESSION: u64 = 256;
pub const DEFAULT_SESSIONS_PER_USER: u64 = 1_024;
pub const DEFAULT_LEGACY_SESSIONS: u64 = 1_024;
pub const DEFAULT_EVENT_STREAMS: u64 = 1_024;
pub const DEFAULT_WAITING_CLAIMS: u64 = 4_096;
pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 10;
pub const DEFAULT_BODY_READ_TIMEOUT_SECS: u64 = 30;

impl Default for Limits {
    fn default() -> Self {
        Self {
            agents_per_session: DEFAULT_AGENTS_PER_SESSION,
            sessions_per_user: DEFAULT_SESSIONS_PER_USER,
            legacy_sessions: DEFAULT_LEGACY_SESSIONS,
            event_streams: DEFAULT_EVENT_STREAMS,
            waiting_claims: DEFAULT_WAITING_CLAIMS,
            header_read_timeout: Duration::from_secs(DEFAULT_HEADER_READ_TIMEOUT_SECS),
            body_read_timeout: Duration::from_secs(DEFAULT_BODY_READ_TIMEOUT_SECS),
        }
    }
}

/// A counted limit: what it bounds, and the flag and variable that set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    AgentsPerSession,
    SessionsPerUser,
    LegacySessions,
    EventStreams,
    WaitingClaims,
}

impl Limit {
    /// The `ccmulti serve` flag that sets it.
    pub fn flag(self) -> &'static str {
        match self {
            Self::AgentsPerSession => "--max-agents-per-session",
            Self::SessionsPerUser => "--max-sessions-per-user",
            Self::LegacySessions => "--max-legacy-sessions",
            Self::EventStreams => "--max-event-streams",
            Self::WaitingClaims => "--max-waiting-claims",
        }
    }

    /// The environment variable that sets it.
    pub fn env(self) -> &'static str {
        match self {
            Self::AgentsPerSession => "CCMULTI_MAX_AGENTS_PER_SESSION",
            Self::SessionsPerUser => "CCMULTI_MAX_SESSIONS_PER_USER",
            Self::LegacySessions => "CCMULTI_MAX_LEGACY_SESSIONS",
            Self::EventStreams => "CCMULTI_MAX_EVENT_STREAMS",
            Self::WaitingClaims => "CCMULTI_MAX_WAITING_CLAIMS",
        }
    }

    /// A label for `/metrics` (a closed set).
    pub fn label(self) -> &'static str {
        match self {
            Self::AgentsPerSession => "agents_per_session",
            Self::SessionsPerUser => "sessions_per_user",
            Self::LegacySessions => "legacy_sessions",
            Self::EventStreams => "event_streams",
            Self::WaitingClaims => "waiting_claims",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Self::AgentsPerSession => "agents in one session",
            Self::SessionsPerUser => "sessions of one user",
            Self::LegacySessions => "open Mcp-Session-Id sessions",
            Self::EventStreams => "open event streams",
            Self::WaitingClaims => "claims waiting for their paths",
        }
    }

    /// What the caller can do besides raising the limit.
    fn instead(self) -> &'static str {
        match self {
            Self::AgentsPerSession => "use another session for more agents",
            Self::SessionsPerUser => "reuse a session id",
            Self::LegacySessions => {
                "end sessions with DELETE, or use the stateless protocol (2026-07-28)"
            }
            Self::EventStreams => "close streams the client no longer reads",
            Self::WaitingClaims => "retry later, or claim with wait_seconds 0",
        }
    }

    pub fn of(self, limits: &Limits) -> u64 {
        match self {
            Self::AgentsPerSession => limits.agents_per_session,
            Self::SessionsPerUser => limits.sessions_per_user,
            Self::LegacySessions => limits.legacy_sessions,
            Self::EventStreams => limits.event_streams,
            Self::WaitingClaims => limits.waiting_claims,
        }
    }
}

/// One more was refused: `limit` already reached `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub struct LimitReached {
    pub limit: Limit,
    pub max: u64,
}

impl fmt::Display for LimitReached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "limit reached: this coordinator allows at most {} {}; nothing was changed. {}, or have its owner raise the limit with `ccmulti serve {} N` (or {}=N)",
            self.max,
            self.limit.what(),
            capitalised(self.limit.instead()),
            self.limit.flag(),
            self.limit.env(),
        )
    }
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Whether one more may join `current` existing ones under `limit`.
pub fn admit_one_more(limit: Limit, limits: &Limits, current: u64) -> Result<(), LimitReached> {
    let max = limit.of(limits);
    if current < max {
        Ok(())
    } else {
        Err(LimitReached { limit, max })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_more_is_admitted_below_the_limit_and_refused_at_it() {
        let limits = Limits {
            waiting_claims: 2,
            ..Limits::default()
        };
        assert!(admit_one_more(Limit::WaitingClaims, &limits, 0).is_ok());
        assert!(admit_one_more(Limit::WaitingClaims, &limits, 1).is_ok());
        let err = admit_one_more(Limit::WaitingClaims, &limits, 2).unwrap_err();
        assert_eq!(
            err,
            LimitReached {
                limit: Limit::WaitingClaims,
                max: 2
            }
        );
        assert!(admit_one_more(Limit::WaitingClaims, &limits, 3).is_err());
    }

    #[test]
    fn the_error_says_what_the_limit_is_and_how_to_raise_it() {
        let all = [
            Limit::AgentsPerSession,
            Limit::SessionsPerUser,
            Limit::LegacySessions,
            Limit::EventStreams,
            Limit::WaitingClaims,
        ];
        for limit in all {
            let msg = LimitReached { limit, max: 7 }.to_string();
            assert!(msg.contains("at most 7 "), "{msg}");
            assert!(msg.contains(limit.flag()), "{msg}");
            assert!(msg.contains(limit.env()), "{msg}");
            assert!(msg.contains("nothing was changed"), "{msg}");
        }
    }

    #[test]
    fn defaults_are_beyond_an_honest_team() {
        let d = Limits::default();
        assert!(d.agents_per_session >= 100 && d.sessions_per_user >= 100);
        assert!(d.legacy_sessions >= 100 && d.event_streams >= 100);
        assert!(d.waiting_claims >= 1_000);
        assert!(d.header_read_timeout >= Duration::from_secs(5));
    }
}
