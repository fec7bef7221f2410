//! The legacy sessions (`initialize`, then `Mcp-Session-Id`) whose
//! `tools/list` and `tools/call` the fast path answers. rmcp's session
//! service routes each such request through the session's worker task and
//! answers it as an event stream: several task hand-offs and channels per
//! call, three times the CPU of the stateless fast path
//! (BENCHMARKS.md, "HTTP under wrk").
//!
//! rmcp stays the owner of every session: it opens it, answers everything
//! else on it, and closes it (on `DELETE`, or when its worker has seen no
//! request for its keep-alive, 5 minutes by default). What this keeps, for
//! every session opened through the intake, is the handshake's `clientInfo`
//! name (an identity signal the intake decides who is calling by, as rmcp's
//! handler would from the session's peer), whether the fast path may serve
//! it, and when rmcp last saw the session. A request that finds rmcp's last
//! sighting older than a fifth of the keep-alive goes to rmcp, so a session
//! that the fast path keeps busy never looks idle to rmcp and is not closed
//! under its client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::{ClientRequest, JsonRpcRequest, ProtocolVersion};

use crate::mcp::server::SUPPORTED_VERSIONS;

/// rmcp closes a session its worker has not heard from for its keep-alive; a
/// busy session is shown to it this many times as often.
const SHOWN_PER_KEEP_ALIVE: u32 = 5;

#[derive(Debug)]
struct Known {
    client_info_name: Arc<str>,
    /// The fast path may answer its calls.
    servable: bool,
    rmcp_last_saw: Instant,
}

#[derive(Debug)]
pub(crate) struct KnownSessions {
    sessions: Mutex<HashMap<String, Known>>,
    /// rmcp's keep-alive for legacy sessions.
    keep_alive: Duration,
}

/// What an `initialize` asks for, kept until rmcp has answered it with a
/// session id.
#[derive(Debug)]
pub(crate) struct Handshake {
    client_info_name: Arc<str>,
    servable: bool,
}

impl Handshake {
    /// The handshake of an `initialize`. The fast path can serve its session
    /// when it asks for a version rmcp supports and that predates
    /// 2026-07-28, so rmcp negotiates that version and shapes the session's
    /// results for the legacy era, as the fast path does.
    pub(crate) fn of(request: &JsonRpcRequest<ClientRequest>) -> Option<Self> {
        let ClientRequest::InitializeRequest(init) = &request.request else {
            return None;
        };
        let version = &init.params.protocol_version;
        Some(Self {
            client_info_name: init.params.client_info.name.as_str().into(),
            servable: SUPPORTED_VERSIONS.contains(version)
                && version.as_str() < ProtocolVersion::V_2026_07_28.as_str(),
        })
    }
}

/// A session this coordinator opened, as a request on it finds it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct KnownSession {
    /// The handshake's `clientInfo` name.
    pub(crate) client_info_name: String,
    /// The fast path may answer this request; else rmcp does (the session's
    /// era is not the fast path's, or rmcp is due to see it).
    pub(crate) fast: bool,
}

impl KnownSessions {
    pub(crate) fn new(keep_alive: Duration) -> Self {
        Self {
            sessions: Mutex::default(),
            keep_alive,
        }
    }

    /// rmcp answered `handshake` with session `id`.
    pub(crate) fn opened(&self, id: &str, handshake: Handshake, now: Instant) {
        let Ok(mut map) = self.sessions.lock() else {
            return;
        };
        // Whatever rmcp has not seen for its whole keep-alive is closed.
        map.retain(|_, known| now.duration_since(known.rmcp_last_saw) < self.keep_alive);
        map.insert(
            id.to_owned(),
            Known {
                client_info_name: handshake.client_info_name,
                servable: handshake.servable,
                rmcp_last_saw: now,
            },
        );
    }

    /// Session `id` as the next request on it finds it, or `None` if this
    /// coordinator did not open it (or rmcp has surely closed it).
    pub(crate) fn lookup(&self, id: &str, now: Instant) -> Option<KnownSession> {
        let map = self.sessions.lock().ok()?;
        let known = map.get(id)?;
        let since = now.duration_since(known.rmcp_last_saw);
        (since < self.keep_alive).then(|| KnownSession {
            client_info_name: known.client_info_name.to_string(),
            fast: known.servable && since < self.keep_alive / SHOWN_PER_KEEP_ALIVE,
        })
    }

    /// A request on session `id` went to rmcp.
    pub(crate) fn shown_to_rmcp(&self, id: &str, now: Instant) {
        if let Ok(mut map) = self.sessions.lock()
            && let Some(known) = map.get_mut(id)
        {
            known.rmcp_last_saw = now;
        }
    }

    /// The session is closed (a `DELETE`, or rmcp no longer has it).
    pub(crate) fn closed(&self, id: &str) {
        if let Ok(mut map) = self.sessions.lock() {
            map.remove(id);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.sessions.lock().map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use rmcp::model::{ClientJsonRpcMessage, ClientRequest, JsonRpcRequest};
    use serde_json::json;

    use super::{Handshake, KnownSession, KnownSessions};

    const KEEP_ALIVE: Duration = Duration::from_secs(300);

    fn initialize(version: &str) -> JsonRpcRequest<ClientRequest> {
        let body = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": version, "capabilities": {},
            "clientInfo": { "name": "claude-code", "version": "2.0" } } });
        match serde_json::from_value::<ClientJsonRpcMessage>(body) {
            Ok(ClientJsonRpcMessage::Request(request)) => request,
            other => panic!("a request: {other:?}"),
        }
    }

    fn session(fast: bool) -> Option<KnownSession> {
        Some(KnownSession {
            client_info_name: "claude-code".into(),
            fast,
        })
    }

    #[test]
    fn only_legacy_versions_rmcp_supports_are_served() {
        for version in ["2025-03-26", "2025-06-18", "2025-11-25"] {
            let handshake = Handshake::of(&initialize(version));
            assert!(handshake.is_some_and(|h| h.servable), "{version}");
        }
        // 2024-11-05 rmcp negotiates up; 2026-07-28 shapes results otherwise.
        // Their sessions are known (the caller's name), but rmcp serves them.
        let known = KnownSessions::new(KEEP_ALIVE);
        let t0 = Instant::now();
        for version in ["2024-11-05", "2026-07-28", "2099-01-01"] {
            let handshake = Handshake::of(&initialize(version)).expect("an initialize");
            assert!(!handshake.servable, "{version}");
            known.opened(version, handshake, t0);
            assert_eq!(known.lookup(version, t0), session(false), "{version}");
        }
        let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });
        let Ok(ClientJsonRpcMessage::Request(list)) = serde_json::from_value(list) else {
            panic!("a request");
        };
        assert!(Handshake::of(&list).is_none());
    }

    #[test]
    fn rmcp_sees_a_busy_session_often_enough_to_keep_it() {
        let known = KnownSessions::new(KEEP_ALIVE);
        let t0 = Instant::now();
        assert_eq!(known.lookup("s1", t0), None, "unknown");
        let handshake = Handshake::of(&initialize("2025-11-25")).expect("servable");
        known.opened("s1", handshake, t0);
        let later = t0 + Duration::from_secs(1);
        assert_eq!(known.lookup("s1", later), session(true));
        let due = t0 + KEEP_ALIVE / 5;
        assert_eq!(known.lookup("s1", due), session(false), "rmcp is due");
        known.shown_to_rmcp("s1", due);
        let after = due + Duration::from_secs(1);
        assert_eq!(known.lookup("s1", after), session(true));
        known.closed("s1");
        assert_eq!(known.lookup("s1", due), None, "closed");
    }

    #[test]
    fn sessions_rmcp_has_surely_closed_are_forgotten() {
        let known = KnownSessions::new(KEEP_ALIVE);
        let t0 = Instant::now();
        let open = |id: &str, at| {
            let handshake = Handshake::of(&initialize("2025-06-18")).expect("servable");
            known.opened(id, handshake, at);
        };
        open("old", t0);
        open("busy", t0);
        let later = t0 + Duration::from_secs(200);
        known.shown_to_rmcp("busy", later);
        open("new", t0 + Duration::from_secs(301));
        assert_eq!(known.len(), 2);
        assert_eq!(known.lookup("old", later), None);
    }
}
